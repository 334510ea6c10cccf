"""Engines and sessions for the two supported databases."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bayflow.errors import StoreUnavailable

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per SQLite file there.
    fcntl = None  # type: ignore[assignment]

__all__ = ["Database", "Session"]

_READ_ONLY = "bayflow_read_only"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; take control of
        # it as SQLAlchemy's documentation recommends and emit BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers run beside the writer. synchronous=NORMAL in WAL mode survives a
        # process crash (kill -9); only a power cut can lose the last commits.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        # Inserts into a unique index of random 32-byte keys (the ledger's commitments) dirty
        # pages all over it; a 64 MiB page cache and a WAL checkpoint every ~40 MiB instead of
        # 4 MiB let repeated changes to a page coalesce. Measured at 500,000 rows in 1,000-row
        # transactions: 15,000 rows/s with the defaults, 30,000 with these.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Straight to the driver: SQLAlchemy's execution path cost more than the BEGIN itself.
        driver = conn.connection.driver_connection
        if conn.get_execution_options().get(_READ_ONLY):
            # A read-only unit of work reads one snapshot and never needs the write lock.
            driver.execute("BEGIN")
            return
        # IMMEDIATE takes the write lock up front. A deferred transaction that reads and then
        # writes must upgrade its lock, and in WAL mode that fails at once ("database is
        # locked", no busy wait) whenever another writer committed since its read. SQLite has
        # one writer at a time anyway; PostgreSQL is the database for concurrent writers.
        driver.execute("BEGIN IMMEDIATE")


class _SQLiteWriterLock:
    """One SQLite writer at a time: threads queue on a lock, worker processes on a file lock.

    Left to SQLite's busy handler, waiting writers sleep in growing steps (up to 100 ms) and a
    burst of requests turns into seconds of latency; a waiter on these locks is woken as soon
    as the writer is done. The file lock (``flock`` on ``<database>-writer.lock``) is what lets
    several ``bayflow serve`` workers share one SQLite file. It belongs to an open file, which
    every thread of a process shares, so a thread takes the thread lock before the file lock.
    """

    def __init__(self, database_path: str | None) -> None:
        self._threads = threading.Lock()
        self._path = (
            f"{database_path}-writer.lock"
            if database_path and database_path != ":memory:" and fcntl is not None
            else None
        )
        self._fd: int | None = None
        self._pid = 0

    def _file(self, path: str) -> int:
        # A process that forked with this object open must not share the parent's open file:
        # the file lock would then never exclude the two.
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self, *, blocking: bool = True) -> bool:
        if not self._threads.acquire(blocking=blocking):
            return False
        path = self._path
        if path is None or fcntl is None:
            return True
        try:
            flags = fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB
            fcntl.flock(self._file(path), flags)
        except BlockingIOError:
            self._threads.release()
            return False
        except BaseException:
            self._threads.release()
            raise
        return True

    def release(self) -> None:
        try:
            if self._fd is not None and fcntl is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def close(self) -> None:
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None


class _InlineUnits:
    """Units of work of one thread under the writer lock, on one SQLite connection.

    A unit of work through a new ``Session`` costs about 80 µs of SQLAlchemy's bookkeeping
    (session and transaction objects, pool checkout and checkin, events) around 6 µs of
    SQLite's own BEGIN and COMMIT, measured on the development machine; the hub's data
    requests run two each. Here one session stays bound to one connection, and SQLAlchemy's
    transaction on it stays open for the connection's life, while each unit of work is a
    transaction of the driver's own: ``BEGIN IMMEDIATE`` and ``COMMIT`` or ``ROLLBACK`` on the
    sqlite3 connection. Statements through the session (savepoints included) and through
    :mod:`bayflow.store.driver` all run on that connection, inside the unit's transaction.

    A database error closes the connection: the next unit starts on a fresh one.
    """

    def __init__(self, engine: Engine) -> None:
        self.closed = False
        self._connection = engine.connect()
        self._session = Session(bind=self._connection, expire_on_commit=False)
        # Opens SQLAlchemy's transaction, for good, and the first unit's (the engine's
        # "begin" event emits BEGIN IMMEDIATE).
        connection = self._session.connection()
        self._driver: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]

    @contextmanager
    def unit(self) -> Iterator[Session]:
        driver = self._driver
        if not driver.in_transaction:
            driver.execute("BEGIN IMMEDIATE")
        try:
            yield self._session
            driver.commit()
        except (SQLAlchemyError, sqlite3.Error):
            self.close()
            raise
        except BaseException:
            driver.rollback()
            raise
        finally:
            self._session.expunge_all()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._session.close()  # rolls back anything the driver still has open
        finally:
            self._connection.close()


class Database:
    """An engine and its session factory.

    ``url`` is a SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://…``). For SQLite the
    parent folder is created, so the embedded default works on a fresh checkout.
    """

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.url = make_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs |= {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
        self.engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writer_lock = _SQLiteWriterLock(self.url.database) if self.is_sqlite else None
        self._inline = threading.local()
        self._inline_all: list[_InlineUnits] = []
        self._inline_lock = threading.Lock()
        self._reading = sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def display_url(self) -> str:
        """The URL with any password hidden, for logs and messages."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits when the block ends, rolls back if it raises."""
        if self._writer_lock is None:
            with self._sessions() as session, session.begin():
                yield session
            return
        # SQLite admits one writer; see _SQLiteWriterLock for why writers queue before BEGIN.
        with self._writer_lock, self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def transaction_if_free(self) -> Iterator[Session | None]:
        """A unit of work on embedded SQLite if no other writer holds it now; else None.

        SQLite work is in-process CPU, shorter than handing it to a thread and back, so a caller
        on an event loop may run it where it is; it must then not wait for the writer lock,
        which a request's unit of work holds across its awaits. Yields ``None`` (and takes
        nothing) on PostgreSQL, whose statements wait on the network, or when the lock is taken.
        """
        if self._writer_lock is None or not self._writer_lock.acquire(blocking=False):
            yield None
            return
        try:
            inline = self._inline_unit()
            with inline.unit() as session:
                yield session
        finally:
            self._writer_lock.release()

    def _inline_unit(self) -> _InlineUnits:
        inline: _InlineUnits | None = getattr(self._inline, "units", None)
        if inline is None or inline.closed:
            inline = _InlineUnits(self.engine)
            self._inline.units = inline
            with self._inline_lock:
                self._inline_all.append(inline)
        return inline

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only unit of work: one consistent snapshot, and no write lock on SQLite.

        Writes inside it are a programming error; SQLite may refuse them as "database is
        locked" while another unit of work writes.
        """
        with self._reading() as session, session.begin():
            yield session

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StoreUnavailable(
                f"database {self.display_url} is unreachable",
                detail=str(exc.__cause__ or exc),
            ) from exc

    def dispose(self) -> None:
        with self._inline_lock:
            inline, self._inline_all = self._inline_all, []
        for units in inline:
            units.close()
        self.engine.dispose()
        if self._writer_lock is not None:
            self._writer_lock.close()
