"""Helpers for the server tests: direct database reads and a subprocess server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from sqlalchemy import select

from cogvlm_media.store import models as m
from cogvlm_media.store.engine import read_session


def marker_rows(engine) -> list[tuple]:
    """Every marker row, for 'nothing stored' checks."""
    with read_session(engine) as session:
        return [(r.id, r.time, r.duration, r.name, r.note, r.colour, r.verified, r.superseded, r.replaces_id)
                for r in session.scalars(select(m.Marker).order_by(m.Marker.id))]


def marker(engine, marker_id: int) -> m.Marker:
    with read_session(engine) as session:
        return session.get(m.Marker, marker_id)


def model_marker(client, asset_id: int, kind: str = "speech", index: int = 0) -> dict:
    """A live marker the model wrote (unverified), for a test to edit."""
    markers = client.get(f"/api/v1/assets/{asset_id}/markers").json()["markers"]
    found = [mk for mk in markers if mk["kind"] == kind and not mk["verified"]]
    assert len(found) > index, markers
    return found[index]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`cogvlm-media serve` as a subprocess on 127.0.0.1; always stopped by :meth:`stop`."""

    def __init__(self, env: dict[str, str], log_path, extra_args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "cogvlm_media", "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port), *extra_args],
                                     env={**os.environ, **env}, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the server did not answer within {timeout} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


def raw_get(port: int, target: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send a request line byte for byte (no client-side normalisation of "..") and read the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data
