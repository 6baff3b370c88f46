"""Build the plugin-test archive in a temporary folder, start the review server on it, print one JSON
line (``{"url", "home", "assets", "moved"}``) and keep serving until stdin closes (or 10 minutes pass).

The Node suite (plugins/premiere/test) launches this when it is run on its own (``npm test``); under
pytest (tests/plugins/test_premiere_node.py) the server is started by pytest and passed in the
environment instead.
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pluginkit import Server, build_archive, describe  # noqa: E402


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="cogvlm-plugin-fixture-") as tmp:
        archive = build_archive(Path(tmp) / "home")
        server = Server(archive["home"], Path(tmp) / "server.log").wait_ready()
        try:
            print(describe(archive, server.url), flush=True)
            done = threading.Event()
            threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
            done.wait(timeout=600)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
