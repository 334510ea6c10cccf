"""The hub's HTTP client for its witnesses (c2sp.org/tlog-witness, the log's side).

One keep-alive connection pool for all witnesses, as the spec asks of clients; a one-second
timeout per request, after which the sequencer retries (issue 4, point 8).
"""

from __future__ import annotations

from typing import Final

import httpx

from bayflow.ledger.interfaces import WitnessAnswer

__all__ = ["HTTPWitnessTransport"]

TIMEOUT_S: Final = 1.0


class HTTPWitnessTransport:
    """Posts ``add-checkpoint`` bodies (a :class:`~bayflow.ledger.interfaces.WitnessTransport`)."""

    def __init__(
        self, *, timeout: float = TIMEOUT_S, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def add_checkpoint(self, url: str, body: bytes) -> WitnessAnswer:
        try:
            response = self._http.post(f"{url.rstrip('/')}/add-checkpoint", content=body)
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"no answer from {url} within the timeout") from exc
        except httpx.TransportError as exc:
            raise ConnectionError(f"cannot reach {url}: {exc}") from exc
        return WitnessAnswer(
            response.status_code, response.headers.get("content-type", ""), response.content
        )

    def close(self) -> None:
        self._http.close()
