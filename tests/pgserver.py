"""A real PostgreSQL server for tests: Debian's binaries, a temporary data folder, a unix socket only.

``postgres_server()`` starts one server (no TCP listener: ``listen_addresses=''``) and yields a
:class:`PgServer`; ``pg_server_fixture()`` makes a module-scoped pytest fixture of it, so one module shares
one server. ``PgServer.new_database()`` gives each test (or parametrised fixture) its own empty database
on that server, ``PgServer.url(db)`` the SQLAlchemy URL (psycopg2, the project's driver).

Import it as ``import pgserver`` (tests/ is on sys.path, see conftest.py)::

    from pgserver import pg_server_fixture
    pg_server = pg_server_fixture()          # a module-scoped fixture named "pg_server"

    def test_x(pg_server):
        url = pg_server.new_database()
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

DRIVER = "psycopg2"


def pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    assert found, f"{name} not found: install the Debian package postgresql (see the README test command)"
    return found


@dataclass
class PgServer:
    root: str
    socket_dir: str
    data_dir: str
    as_user: list[str]
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def run(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, timeout=timeout)

    def url(self, database: str = "cogvlm") -> str:
        return f"postgresql+{DRIVER}://postgres@/{database}?host={self.socket_dir}"

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database on this server and return its URL."""
        name = f"{prefix}{next(self._counter)}"
        self.run(pg_bin("createdb"), "-h", self.socket_dir, "-U", "postgres", name)
        return self.url(name)

    def stop(self, mode: str = "immediate") -> None:
        self.run(pg_bin("pg_ctl"), "-D", self.data_dir, "-m", mode, "stop")

    def start(self) -> None:
        self.run(pg_bin("pg_ctl"), "-D", self.data_dir, "-w", "-o",
                 f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c max_connections=200",
                 "-l", os.path.join(self.root, "log"), "start")


@contextmanager
def postgres_server() -> Iterator[PgServer]:
    root = tempfile.mkdtemp(prefix="cogvlm-pg-")
    data, sock = os.path.join(root, "data"), os.path.join(root, "sock")
    os.makedirs(sock)
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    server = PgServer(root, sock, data, as_user)
    server.run(pg_bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    server.start()
    try:
        server.run(pg_bin("createdb"), "-h", sock, "-U", "postgres", "cogvlm")
        yield server
    finally:
        try:
            server.stop()
        except subprocess.CalledProcessError:
            pass  # already stopped by the test
        shutil.rmtree(root, ignore_errors=True)


def pg_server_fixture(name: str = "pg_server", scope: str = "module"):
    """A pytest fixture called ``name`` (module-scoped by default) yielding one running :class:`PgServer`."""

    @pytest.fixture(scope=scope, name=name)
    def _pg_server() -> Iterator[PgServer]:
        from cogvlm_media.store.engine import dispose_all

        with postgres_server() as server:
            yield server
            dispose_all()  # close pooled connections before the server goes away

    return _pg_server
