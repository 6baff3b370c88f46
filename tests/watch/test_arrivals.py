"""One daemon subprocess, many kinds of arrival: each test checks one property of the same run.

Timeline (stable window 1 s): a file present at start; a slow writer (1 MB every 0.3 s); an rsync-style
temp file renamed to its final name; junk names; a corrupt file; a file whose analysis raises; a byte
copy of ingested footage; a file deleted while it is analysed; an in-place modification; one more file
after all that. A reader runs `status --json` and queries in a loop the whole time.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time

import pytest
import watch_support as ws
from sqlalchemy import func, select

STABLE_SECONDS = 1.0  # the gate's window: a file unchanged this long is complete
POLL_SECONDS = 0.5  # the daemon's rescan period
JUNK = [".hidden.mp4", "a.mp4.part", "b.mp4.crdownload", "c.mp4.tmp", "~$d.mp4", "._e.mp4",
        ".syncthing.f.mp4.tmp", "Thumbs.db", ".DS_Store", "notes.txt", ".rsync.mp4.Q1w2E3"]


class Reader(threading.Thread):
    """`status --json` through the CLI and direct queries, in a loop, until stopped."""

    def __init__(self, config, home) -> None:
        super().__init__(daemon=True)
        self.config, self.home = config, home
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.cli_runs = self.queries = 0

    def run(self) -> None:
        from cogvlm_media.store.engine import make_engine, read_session
        from cogvlm_media.store.models import IngestRun

        engine = make_engine(f"sqlite:///{self.home / 'cogvlm-media.db'}")
        while not self.stop.is_set():
            try:
                for _ in range(10):
                    with read_session(engine) as s:
                        s.scalar(select(func.count()).select_from(IngestRun))
                    self.queries += 1
                for args in (("status", "--json"), ("list", "--json")):
                    done = ws.cli(self.config, *args)
                    self.cli_runs += 1
                    if done.returncode != 0 or "locked" in done.stderr:
                        self.errors.append(f"{args}: rc {done.returncode}: {done.stderr[-500:]}")
                self.stop.wait(0.3)  # leave the shared CPUs some room
            except Exception as exc:  # noqa: BLE001 - any failure is a finding
                self.errors.append(repr(exc))
        engine.dispose()


@pytest.fixture(scope="module")
def arrivals(tmp_path_factory, base_clip):
    root = tmp_path_factory.mktemp("arrivals")
    media = root / "media"
    media.mkdir()
    watched = root / "in"
    watched.mkdir()
    big = ws.render_big(media / "big.mp4")
    v = {n: ws.variant(base_clip, media / f"v{n}.mp4", n) for n in range(1, 7)}
    shutil.copy(v[1], watched / "pre.mp4")
    config = ws.write_config(root, max_attempts=2, stable_seconds=STABLE_SECONDS, poll_seconds=POLL_SECONDS)
    log = root / "analysed.log"
    daemon = ws.DaemonProcess(config, [str(watched)], root / "daemon.log", WATCHTEST_LOG=str(log),
                              WATCHTEST_SLOW="slowdel:4", WATCHTEST_CRASH="boom")
    facts: dict = {"root": root, "watched": watched, "log": log, "daemon": daemon, "config": config}
    reader = None
    try:
        daemon.wait_for("ready", 30)
        reader = Reader(config, root / "home")
        reader.start()
        # slow writer: 1 MB every 0.3 s
        data = big.read_bytes()
        written, gaps = None, []
        with open(watched / "slow.mp4", "wb") as fh:
            for start in range(0, len(data), 1 << 20):
                fh.write(data[start:start + (1 << 20)])
                fh.flush()
                now = time.monotonic()
                gaps += [now - written] if written is not None else []
                written = now
                time.sleep(0.3)
        facts["slow_finished"] = dt.datetime.now(dt.timezone.utc)
        # the scenario itself: a writer that never paused for a whole window (a stalled test process would not be)
        assert max(gaps) < STABLE_SECONDS, f"the slow writer stalled {max(gaps):.2f} s (window {STABLE_SECONDS} s)"
        facts["slow_chunks"] = -(-len(data) // (1 << 20))
        # rsync style: a hidden temp name written slowly, then renamed
        tmp = watched / ".rs.mp4.Xy12Ab"
        blob = v[2].read_bytes()
        with open(tmp, "wb") as fh:
            for start in range(0, len(blob), 16384):
                fh.write(blob[start:start + 16384])
                fh.flush()
                time.sleep(0.05)
        os.rename(tmp, watched / "rs.mp4")
        for name in JUNK:
            shutil.copy(v[3], watched / name)
        (watched / "corrupt.mp4").write_bytes(os.urandom(50_000))
        shutil.copy(v[4], watched / "boom.mp4")
        shutil.copy(v[1], watched / "dup.mp4")
        shutil.copy(v[5], watched / "slowdel.mp4")

        def slowdel_running():
            return log.exists() and f"sleeping {watched / 'slowdel.mp4'}" in log.read_text()
        ws.wait_until(slowdel_running, 60, what="slowdel.mp4 being analysed")
        os.remove(watched / "slowdel.mp4")
        # an in-place modification of ingested footage
        shutil.copy(v[6], watched / "pre.mp4")

        def quarantined(name):
            return any(r["path"].endswith(name) and r["status"] == "quarantined" for r in ws.runs(root))
        ws.wait_until(lambda: quarantined("boom.mp4"), 60, what="boom.mp4 quarantined")
        shutil.copy(base_clip, watched / "after.mp4")

        def settled():
            rows = ws.runs(root)
            done = {os.path.basename(r["path"]) for r in rows if r["status"] in ("done", "quarantined")}
            busy = any(r["status"] in ("queued", "running", "failed") for r in rows)
            want = {"slow.mp4", "rs.mp4", "corrupt.mp4", "boom.mp4", "dup.mp4", "slowdel.mp4", "after.mp4"}
            analysed_pre = sum(1 for r in rows if r["path"].endswith("/pre.mp4") and r["outcome"] == "analysed")
            return want <= done and not busy and analysed_pre == 2
        ws.wait_until(settled, 90, interval=0.3, what="all arrivals settled")
        # one more stability window and rescan, and two more reader rounds: anything extra would show now
        settled_at, rounds = time.monotonic(), reader.cli_runs
        ws.wait_until(lambda: time.monotonic() - settled_at >= STABLE_SECONDS + POLL_SECONDS
                      and reader.cli_runs >= rounds + 4, 120, what="a quiet window and two reader rounds")
        reader.stop.set()
        reader.join(timeout=60)
        started = time.monotonic()
        facts["exit_code"] = daemon.terminate(timeout=30)
        facts["exit_seconds"] = time.monotonic() - started
        facts["runs"] = ws.runs(root)
        facts["reader"] = reader
    except AssertionError as exc:
        rows = "\n".join(str(tuple(r)) for r in ws.runs(root)) if (root / "home").exists() else ""
        raise AssertionError(f"{exc}\nruns:\n{rows}\ndaemon log:\n{daemon.text()[-4000:]}") from None
    else:
        yield facts
    finally:
        if reader is not None:
            reader.stop.set()
        daemon.kill()


def by_name(rows, name):
    return [r for r in rows if os.path.basename(r["path"]) == name]


def test_file_present_at_start_and_modified_file_each_ingested_once(arrivals):
    pre = by_name(arrivals["runs"], "pre.mp4")
    analysed = [r for r in pre if r["outcome"] == "analysed"]
    assert len(analysed) == 2, pre  # the original version, then the modified one
    assert analysed[0]["mtime_ns"] != analysed[1]["mtime_ns"]
    assert analysed[0]["asset_id"] != analysed[1]["asset_id"]


def test_slow_writer_ingested_once_after_it_finished(arrivals):
    assert arrivals["slow_chunks"] >= 10
    slow = by_name(arrivals["runs"], "slow.mp4")
    assert len(slow) == 1, slow
    assert slow[0]["outcome"] == "analysed"
    queued_at = dt.datetime.fromisoformat(slow[0]["created_at"]).replace(tzinfo=dt.timezone.utc)
    assert queued_at >= arrivals["slow_finished"] - dt.timedelta(milliseconds=50)
    assert slow[0]["size"] == os.path.getsize(arrivals["watched"] / "slow.mp4")


def test_rsync_style_rename_ingested_once_under_final_name(arrivals):
    rows = arrivals["runs"]
    assert [r["outcome"] for r in by_name(rows, "rs.mp4")] == ["analysed"]
    assert not [r for r in rows if ".rs.mp4" in r["path"]]


def test_junk_names_are_ignored(arrivals):
    names = {os.path.basename(r["path"]) for r in arrivals["runs"]}
    assert not names & set(JUNK)


def test_corrupt_file_is_quarantined_with_reason(arrivals):
    (row,) = by_name(arrivals["runs"], "corrupt.mp4")
    assert row["status"] == "quarantined"
    assert "not a readable media file" in row["error"]


def test_exception_in_one_file_does_not_stop_the_daemon(arrivals):
    (boom,) = by_name(arrivals["runs"], "boom.mp4")
    assert boom["status"] == "quarantined" and boom["attempts"] == 2
    assert "RuntimeError: test analyser crashed" in boom["error"]
    (after,) = by_name(arrivals["runs"], "after.mp4")  # queued after boom was quarantined
    assert after["outcome"] == "analysed" and after["id"] > boom["id"]


def test_copy_of_ingested_footage_only_adds_a_path(arrivals):
    rows = arrivals["runs"]
    (dup,) = by_name(rows, "dup.mp4")
    first_pre = by_name(rows, "pre.mp4")[0]
    assert dup["outcome"] == "duplicate" and dup["asset_id"] == first_pre["asset_id"]
    analysed = arrivals["log"].read_text().splitlines()
    assert any(line.startswith("analysed ") for line in analysed)
    assert not [line for line in analysed if line.endswith("dup.mp4")]


def test_file_deleted_mid_job_fails_cleanly(arrivals):
    (row,) = by_name(arrivals["runs"], "slowdel.mp4")
    assert row["status"] == "quarantined" and row["outcome"] is None
    assert "file not found" in row["error"]
    with ws.db(arrivals["root"]) as conn:
        assert not conn.execute("SELECT 1 FROM asset_paths WHERE path LIKE '%slowdel.mp4'").fetchall()


def test_every_version_analysed_exactly_once(arrivals):
    rows = arrivals["runs"]
    seen = {}
    for r in rows:
        if r["outcome"] == "analysed":
            key = (r["path"], r["size"], r["mtime_ns"])
            assert key not in seen, r
            seen[key] = r
    with ws.db(arrivals["root"]) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assets = conn.execute("SELECT count(*) FROM assets").fetchone()[0]
    assert assets == len(seen) == 5  # pre twice, slow, rs, after


def test_readers_never_see_database_locked(arrivals):
    reader = arrivals["reader"]
    assert reader.errors == []
    assert reader.cli_runs >= 4 and reader.queries >= 20


def test_sigterm_exits_cleanly(arrivals):
    assert arrivals["exit_code"] == 0
    assert arrivals["exit_seconds"] < 10
