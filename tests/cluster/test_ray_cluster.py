"""The Ray cluster tests run inside a network namespace that holds only loopback (``unshare -n``, then
``ip link set lo up``): Ray probes a public DNS address and may bind the machine's own address, so the
namespace is what keeps every packet of the cluster, PostgreSQL and the client on this machine.

This module re-executes ``cluster_suite.py`` (not collected on its own) under ``unshare -n`` in a
subprocess and requires every one of its tests to pass (CI runs as root; unshare needs it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUITE = HERE / "cluster_suite.py"
EXPECTED = 6  # the tests in cluster_suite.py


def test_cluster_suite_in_a_loopback_only_network_namespace():
    inner = f"ip link set lo up && exec {sys.executable} -m pytest -x -q -p no:cacheprovider {SUITE}"
    env = {**os.environ, "COGVLM_NETNS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.run(["unshare", "-n", "sh", "-c", inner], capture_output=True, text=True, timeout=1200,
                          env=env, cwd=HERE.parent.parent)
    tail = proc.stdout[-8000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, tail
    found = re.search(r"(\d+) passed", proc.stdout)
    assert found and int(found.group(1)) == EXPECTED, tail
