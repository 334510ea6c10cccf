"""Structured logging.

structlog renders every line: JSON lines (``--log-format json``) for machines, aligned text for
people. The standard library's loggers (uvicorn, alembic) are routed through the same
renderer, so one process never mixes two formats. Context such as the request id is bound with
``structlog.contextvars`` and appears on every line logged while handling that request.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from bayflow.config import LogFormat

__all__ = ["configure_logging", "get_logger"]

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class _CurrentStderr:
    """Whatever ``sys.stderr`` is at the moment of writing.

    Binding the stream object at configuration time would keep writing to a stream that was
    since replaced and closed (a test's capture, a daemon's redirected stderr).
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = _CurrentStderr()


def _wants_json(log_format: LogFormat) -> bool:
    if log_format == "auto":
        return not sys.stderr.isatty()
    return log_format == "json"


def configure_logging(log_format: LogFormat = "auto", level: str = "info") -> None:
    """Configure structlog and the standard library for this process.

    Safe to call more than once: the last call wins (tests and ``serve`` workers rely on it).
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if _wants_json(log_format):
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    # Our own loggers render straight to stderr: going through the standard library's
    # LogRecord machinery costs about a third of a liveness request's time.
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=structlog.WriteLoggerFactory(file=_STDERR),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(_STDERR)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn installs its own handlers; hand its records to ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    # Alembic narrates every step at INFO; its warnings are what an operator needs.
    logging.getLogger("alembic").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)
    # httpx narrates every request the client makes; the CLI's output is its own answer.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # pyHanko logs a traceback at WARNING for every untrusted or expired certificate it meets;
    # the signature report already says why in words, so its tracebacks are for --debug only.
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.DEBUG if level == "debug" else logging.ERROR)
    # Request lines come from our middleware, with the request id; uvicorn's would duplicate them.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    # Initial values keep the proxy lazy: binding now would freeze today's configuration into
    # a module-level logger before configure_logging() runs.
    return structlog.get_logger(logger_name=name) if name else structlog.get_logger()
