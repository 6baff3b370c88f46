"""Engine and sessions: SQLite in WAL mode with a busy timeout and foreign keys, migrated on first use.

Writers use :func:`write_session`, which opens its SQLite transaction with ``BEGIN IMMEDIATE`` so two
processes never deadlock upgrading a read lock; readers use :func:`read_session`.

A server database (PostgreSQL, psycopg2) gets connections checked before use (``pool_pre_ping``: a
connection the server dropped is replaced) and each new connection is retried with backoff
(``CONNECT_BACKOFF``) before the error reaches the caller, who words it with :func:`database_error_line`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 30_000
CONNECT_BACKOFF = (0.25, 0.5, 1.0, 2.0, 4.0)  # seconds between connection attempts (~8 s in all)

log = logging.getLogger(__name__)

_lock = threading.Lock()
_engines: dict[str, Engine] = {}
_immediate = threading.local()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (SQLAlchemy's documented recipe).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if getattr(_immediate, "on", False) else "BEGIN")


def _connect_with_backoff(dialect, _conn_rec, cargs, cparams):
    """A new server connection, retried on the driver's OperationalError (server restarting, network)."""
    for delay in (*CONNECT_BACKOFF, None):
        try:
            return dialect.loaded_dbapi.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as exc:
            if delay is None:
                raise
            log.info("database connection failed (%s); retrying in %.2f s", str(exc).strip().splitlines()[0], delay)
            time.sleep(delay)


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached (or the connection was lost)."""
    return isinstance(exc, sa_exc.DBAPIError) and (exc.connection_invalidated or isinstance(exc, sa_exc.OperationalError)
                                                   and "locked" not in str(exc.orig))


def database_error_line(exc: BaseException, url: str | None = None) -> str:
    """One line for an unreachable database: where and the driver's first line."""
    first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["unknown error"])[0]
    where = f" {make_url(url).render_as_string(hide_password=True)}" if url else ""
    waited = sum(CONNECT_BACKOFF)
    return f"database{where} unavailable after retrying for {waited:.0f} s: {first}"


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "do_connect", _connect_with_backoff)
    return engine


def get_engine(url: str, migrate: bool = True) -> Engine:
    """One engine per URL per process; the schema is brought up to date the first time."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            if migrate:
                from cogvlm_media.store.migrate import upgrade

                upgrade(engine)
            _engines[url] = engine
        return engine


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with sessionmaker(engine, expire_on_commit=False)() as session:
        yield session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back entirely on any exception."""
    previous = getattr(_immediate, "on", False)
    _immediate.on = True
    try:
        with sessionmaker(engine, expire_on_commit=False)() as session:
            with session.begin():
                yield session
    finally:
        _immediate.on = previous
