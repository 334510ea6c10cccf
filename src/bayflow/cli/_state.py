"""Options of the root group that every command and the exit path need."""

from __future__ import annotations

from dataclasses import dataclass

from bayflow.config import LogFormat


@dataclass
class _State:
    debug: bool = False
    log_format: LogFormat = "auto"


state = _State()
