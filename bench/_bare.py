"""A bare FastAPI endpoint returning 1 KiB: the yardstick for the interchange benchmark."""

from fastapi import FastAPI, Response

app = FastAPI()
_BODY = b"x" * 1024


@app.get("/bare")
async def bare() -> Response:
    return Response(_BODY, media_type="application/octet-stream")
