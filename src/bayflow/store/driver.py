"""Statements of the hot paths, compiled once and run on the database driver's own cursor.

A consented data request runs about fifteen statements. Through ``Session.execute`` each cost
about 17 µs of SQLAlchemy's execution machinery (compiled-cache look-up, parameter
processing, events, result metadata) around about 1 µs of SQLite's own work, measured on the
development machine; together they were a fifth of the hub's CPU time per request.
:class:`DriverStatement` compiles a SQLAlchemy Core statement once per dialect (and, for an
INSERT or UPDATE, per set of parameter names, as SQLAlchemy does) and runs it on the cursor of
the session's connection, converting values with the column types' own bind and result
processors, so that what is stored and read back is exactly what SQLAlchemy would store and
read.

The session's transaction is used as it is: ``Session.connection()`` begins it (on SQLite with
``BEGIN IMMEDIATE``, through the engine's event) if no statement has yet. Statements with an
expanding ``IN`` are not supported; they stay with ``Session.execute``.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, bindparam, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

__all__ = ["DriverListStatement", "DriverStatement"]

_Processor = Callable[[Any], Any] | None

# The session's dialect and driver connection, kept in Session.info for its transaction:
# Session.connection() cost more than the statement it served, once per statement.
_DRIVER = "bayflow.driver_connection"


def _driver_of(session: Session) -> tuple[Dialect, Any]:
    found: tuple[Dialect, Any] | None = session.info.get(_DRIVER)
    if found is None:
        connection = session.connection()  # begins the transaction if none has begun
        found = (connection.dialect, connection.connection.driver_connection)
        session.info[_DRIVER] = found
    return found


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, _transaction: SessionTransaction) -> None:
    # The next transaction may run on another pooled connection.
    session.info.pop(_DRIVER, None)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positions: tuple[str, ...] | None  # parameter order for positional drivers, else None
    binds: Mapping[str, _Processor]
    fixed: Mapping[str, Any]  # values bound in the statement itself
    results: tuple[_Processor, ...]
    row: type[tuple[Any, ...]] | None  # a named tuple of the result's column names


def _row_type(names: list[str]) -> type[tuple[Any, ...]]:
    # A named tuple, so that rows read as SQLAlchemy's do (row.column); names known at run time.
    made: type[tuple[Any, ...]] = namedtuple("Row", names, rename=True)  # type: ignore[misc]  # noqa: PYI024
    return made


class DriverStatement:
    """A Core statement run on the driver's cursor within a session's transaction."""

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._per_key_set = isinstance(statement, UpdateBase)
        self._compiled: dict[tuple[str, frozenset[str] | None], _Compiled] = {}

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[Any]:
        """Every row, each a named tuple (``row.column``), values as SQLAlchemy reads them."""
        compiled, cursor = self._run(session, params)
        fetched = cursor.fetchall()
        cursor.close()
        return [self._row(compiled, raw) for raw in fetched]

    def one_or_none(self, session: Session, params: Mapping[str, Any]) -> Any | None:
        """The one row, or None; more than one row is a programming error."""
        rows = self.rows(session, params)
        if len(rows) > 1:
            raise LookupError(f"{len(rows)} rows where at most one was expected")
        return rows[0] if rows else None

    def scalar(self, session: Session, params: Mapping[str, Any]) -> Any:
        """The first column of the one row (a row is required)."""
        row = self.one_or_none(session, params)
        if row is None:
            raise LookupError("no row where one was expected")
        return row[0]

    def run(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; the number of rows it changed."""
        _, cursor = self._run(session, params)
        count: int = cursor.rowcount
        cursor.close()
        return count

    def _run(self, session: Session, params: Mapping[str, Any]) -> tuple[_Compiled, Any]:
        dialect, driver = _driver_of(session)
        compiled = self._compile(dialect, params)
        values = dict(compiled.fixed)
        for name, value in params.items():
            process = compiled.binds.get(name)
            values[name] = process(value) if process is not None and value is not None else value
        arguments: Any = values
        if compiled.positions is not None:
            arguments = tuple(values[name] for name in compiled.positions)
        cursor = driver.cursor()
        cursor.execute(compiled.sql, arguments)
        return compiled, cursor

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        keys = frozenset(params) if self._per_key_set else None
        found = self._compiled.get((dialect.name, keys))
        if found is not None:
            return found
        compiler = self._statement.compile(
            dialect=dialect, column_keys=sorted(keys) if keys is not None else None
        )
        assert isinstance(compiler, SQLCompiler)
        if any(bind.expanding for bind in compiler.binds.values()):
            raise TypeError("DriverStatement does not run statements with an expanding IN")
        binds: dict[str, _Processor] = {}
        fixed: dict[str, Any] = {}
        for name, bind in compiler.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds[name] = process
            if not bind.required and name not in params:
                value = bind.effective_value
                fixed[name] = process(value) if process is not None and value is not None else value
        columns = list(getattr(self._statement, "exported_columns", ()))
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        )
        row: type[tuple[Any, ...]] | None = None
        if columns:
            names = [
                str(getattr(column, "key", None) or f"c{i}") for i, column in enumerate(columns)
            ]
            row = _row_type(names)
        compiled = _Compiled(
            sql=compiler.string,
            positions=tuple(compiler.positiontup) if compiler.positional else None,  # type: ignore[arg-type]
            binds=binds,
            fixed=fixed,
            results=results,
            row=row,
        )
        self._compiled[(dialect.name, keys)] = compiled
        return compiled

    @staticmethod
    def _row(compiled: _Compiled, raw: tuple[Any, ...]) -> Any:
        values = [
            process(value) if process is not None else value
            for process, value in zip(compiled.results, raw, strict=False)
        ]
        return compiled.row._make(values) if compiled.row is not None else tuple(values)  # type: ignore[attr-defined]


class DriverListStatement:
    """A statement over a short list of values (``col IN (...)``) on the driver's cursor.

    ``build`` makes the statement from what goes inside ``IN``: a list of one bound parameter
    per value, compiled once per list length up to ``longest``, or, for longer lists (not on a
    hot path), one expanding parameter run through ``Session.execute``.
    """

    def __init__(
        self,
        build: Callable[[Sequence[BindParameter[Any]] | BindParameter[Any]], ClauseElement],
        *,
        longest: int = 8,
    ) -> None:
        self._build = build
        self._longest = longest
        self._by_length: dict[int, DriverStatement] = {}

    def rows(
        self, session: Session, values: Sequence[Any], params: Mapping[str, Any] | None = None
    ) -> list[Any]:
        if not values:
            return []
        names = [f"item_{i}" for i in range(len(values))]
        if len(values) > self._longest:
            expanding = self._build(bindparam("items", expanding=True))
            arguments = {**(params or {}), "items": list(values)}
            return list(session.execute(expanding, arguments))  # type: ignore[call-overload]
        statement = self._by_length.get(len(values))
        if statement is None:
            statement = DriverStatement(self._build([bindparam(name) for name in names]))
            self._by_length[len(values)] = statement
        return statement.rows(session, {**(params or {}), **dict(zip(names, values, strict=True))})
