"""The ``bayflow`` command.

The root group lives here; every other module in this package is a command group (or a single
command) that exposes ``register(app)``, and is imported automatically, so adding a group is
adding a file. Errors leave through one path, :func:`main`: a one-line message on stderr and a
non-zero exit code (the error's own), with the traceback only under ``--debug``.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback
from enum import StrEnum
from typing import Annotated

import typer

# Typer ships its own copy of click and raises that copy's exceptions; only its module path is
# private, the classes are click's documented ones.
from typer._click import exceptions as click_errors

from bayflow.cli._state import state
from bayflow.config import LogFormat
from bayflow.errors import BayflowError
from bayflow.logs import configure_logging

__all__ = ["app", "main"]

_INTERNAL_ERROR_EXIT = 70  # EX_SOFTWARE


class _LogFormatChoice(StrEnum):
    auto = "auto"
    json = "json"
    text = "text"


_LOG_FORMATS: dict[_LogFormatChoice, LogFormat] = {
    _LogFormatChoice.auto: "auto",
    _LogFormatChoice.json: "json",
    _LogFormatChoice.text: "text",
}

app = typer.Typer(
    name="bayflow",
    help="Trusted data flow across the Greater Bay Area: the data stays, the proof crosses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks and debug logs on errors.")
    ] = False,
    log_format: Annotated[
        _LogFormatChoice,
        typer.Option("--log-format", help="auto: text on a terminal, JSON lines otherwise."),
    ] = _LogFormatChoice.auto,
) -> None:
    state.debug = debug
    state.log_format = _LOG_FORMATS[log_format]
    configure_logging(state.log_format, "debug" if debug else "info")


def _register_groups() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_"):
            continue
        imported = importlib.import_module(f"{__name__}.{module.name}")
        imported.register(app)


_register_groups()


def _fail(message: str, code: int) -> None:
    print(f"bayflow: error: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; the single exit path for every error."""
    try:
        command = typer.main.get_command(app)
        # Not standalone: click then raises its usage errors to us instead of printing its
        # own framed message, so they leave through the same one-line path as ours.
        result = command.main(args=argv, prog_name="bayflow", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        # A bare group name asks what it can do: that is help, not an error.
        print(exc.ctx.get_help() if exc.ctx else "")
        sys.exit(0)
    except click_errors.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _fail(f"{exc.format_message()}{hint}", exc.exit_code)
    except click_errors.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except BayflowError as exc:
        if state.debug:
            traceback.print_exc()
            print(exc.diagnostics(), file=sys.stderr)
        _fail(exc.message, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as exc:  # noqa: BLE001 - the last resort: a line, not a traceback.
        if state.debug:
            traceback.print_exc()
        _fail(
            f"internal error ({type(exc).__name__}: {exc}); rerun with --debug for details",
            _INTERNAL_ERROR_EXIT,
        )
    sys.exit(result if isinstance(result, int) else 0)
