"""Connecting to the Ray head, and the worker ids a node's tasks claim runs under."""

from __future__ import annotations

import os
import socket
import threading

NODE_TAG = "/ray-"  # worker ids of cluster tasks: "{host}/ray-{node id prefix}:{pid}:{thread}"
NODE_PREFIX = 12


class RayUnavailable(RuntimeError):
    """The Ray head cannot be reached (or Ray is not installed); the message is one line."""


def _split(address: str) -> tuple[str, int] | None:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return None
    return host.strip("[]") or "127.0.0.1", int(port)


def _reachable(address: str, timeout: float) -> str | None:
    """None when a TCP connection to the head's GCS port opens, else the reason."""
    target = _split(address)
    if target is None:
        return f"not a host:port address: {address!r}"
    try:
        with socket.create_connection(target, timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def connect(address: str, timeout: float = 5.0) -> None:
    """Join the cluster whose head is at ``address`` (host:port) as a driver; RayUnavailable when it
    cannot be reached. Already connected: nothing to do."""
    try:
        import ray
    except ImportError:
        raise RayUnavailable("Ray is not installed: pip install 'cogvlm-media[cluster]'") from None
    if ray.is_initialized():
        return
    if not address.startswith("ray://"):
        reason = _reachable(address, timeout)
        if reason:
            raise RayUnavailable(f"cannot reach the Ray head at {address} ({reason}); start it with "
                                 f"`ray start --head` or pass --ray-fallback local")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    except Exception as exc:  # ConnectionError, a version mismatch, a timeout: one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RayUnavailable(f"cannot join the Ray cluster at {address}: {first}"[:300]) from None


def node_worker_id(node_id: str) -> str:
    """The worker id a task on node ``node_id`` claims runs under (the node is in it, for status)."""
    return f"{socket.gethostname()}{NODE_TAG}{node_id[:NODE_PREFIX]}:{os.getpid()}:{threading.get_ident()}"


def node_of(worker: str | None) -> str | None:
    """The node id prefix in a cluster worker id, else None."""
    if not worker or NODE_TAG not in worker:
        return None
    return worker.split(NODE_TAG, 1)[1].split(":", 1)[0]


def alive_nodes() -> set[str]:
    """Node id prefixes of the cluster's live nodes (driver side)."""
    import ray

    return {n["NodeID"][:NODE_PREFIX] for n in ray.nodes() if n.get("Alive")}
