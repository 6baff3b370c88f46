"""Helpers for the server tests: direct database reads and a subprocess server."""

from __future__ import annotations

import socket

from sqlalchemy import select

from cogvlm_media.store.models import Marker
from cogvlm_media.store.engine import read_session


def marker_rows(engine) -> list[tuple]:
    """Every marker row, for 'nothing stored' checks."""
    with read_session(engine) as session:
        return [(r.id, r.time, r.duration, r.name, r.note, r.colour, r.verified, r.superseded, r.replaces_id)
                for r in session.scalars(select(Marker).order_by(Marker.id))]


def marker(engine, marker_id: int) -> Marker:
    with read_session(engine) as session:
        return session.get(Marker, marker_id)


def model_marker(client, asset_id: int, kind: str = "speech", index: int = 0) -> dict:
    """A live marker the model wrote (unverified), for a test to edit."""
    markers = client.get(f"/api/v1/assets/{asset_id}/markers").json()["markers"]
    found = [mk for mk in markers if mk["kind"] == kind and not mk["verified"]]
    assert len(found) > index, markers
    return found[index]


def raw_get(port: int, target: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send a request line byte for byte (no client-side normalisation of "..") and read the reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data
