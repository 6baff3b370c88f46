"""File names that are not valid UTF-8 (issue 13, item 2): ``caf\\xe9.mp4`` in Latin-1.

Before, ``ingest`` crashed with a traceback and ingested nothing (the valid files included), ``watch``
exited at start-up, and a running daemon could not queue the batch that held one, so a valid file
dropped with it was never queued. Now such a name is stored losslessly as text (its undecodable byte
as ``\\xNN``, store/fspath.py), shown that way, and the file is ingested like any other."""

from __future__ import annotations

import json
import os
import random

import watch_support as ws
from cogvlm_media.store.fspath import from_text, shown, to_text

LATIN1 = os.fsdecode(b"caf\xe9.mp4")  # 'caf\udce9.mp4'
SHOWN = "caf\\xe9.mp4"


def test_the_stored_form_is_utf8_text_and_gives_back_the_exact_name():
    assert to_text(LATIN1) == SHOWN and shown(LATIN1) == SHOWN
    assert from_text(SHOWN) == LATIN1 and os.fsencode(from_text(SHOWN)) == b"caf\xe9.mp4"
    for plain in ("/v/a.mp4", "/v/back\\slash.mp4", "/v/été 😀.mov", "/v/x\\q.mp4"):
        assert to_text(plain) == plain  # valid UTF-8 names are stored as they are
    assert from_text(to_text("/v/a\\xe9.mp4")) == "/v/a\\xe9.mp4"  # a literal "\xe9" stays literal
    rng = random.Random(13)
    alphabet = ["\\", "x", "e", "9", "a", "/", "é", os.fsdecode(b"\xe9"), os.fsdecode(b"\xff")]
    for _ in range(20000):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
        text = to_text(name)
        text.encode("utf-8")
        assert from_text(text) == name, (name, text)


def drop_pair(folder, base_clip):
    os.makedirs(folder, exist_ok=True)
    ws.variant(base_clip, folder / "good.mp4", 1)
    ws.variant(base_clip, folder / "tmp-odd.mp4", 2)
    os.rename(folder / "tmp-odd.mp4", os.path.join(os.fsencode(folder), b"caf\xe9.mp4"))


def outcomes(root) -> dict[str, str]:
    return {os.path.basename(r["path"]): (r["outcome"] or r["status"]) for r in ws.runs(root)}


def test_ingest_stores_both_files_and_shows_the_name_escaped(tmp_path, base_clip):
    drop_pair(tmp_path / "in", base_clip)
    config = ws.write_config(tmp_path)
    out = ws.cli(config, "ingest", "-q", str(tmp_path / "in"), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and SHOWN in out.stdout
    assert outcomes(tmp_path) == {"good.mp4": "analysed", SHOWN: "analysed"}
    with ws.db(tmp_path) as conn:  # the stored text, read without the application
        assert {os.path.basename(p) for (p,) in conn.execute("SELECT path FROM asset_paths")} == {"good.mp4", SHOWN}
    status = json.loads(ws.cli(config, "status", "--json").stdout)
    assert {os.path.basename(r["path"]) for r in status["recent_done"]} == {"good.mp4", SHOWN}


def test_watch_starts_with_such_a_file_present_and_ingests_both(tmp_path, base_clip):
    drop_pair(tmp_path / "in", base_clip)
    config = ws.write_config(tmp_path)
    out = ws.cli(config, "watch", "--exit-when-idle", "--no-probe", str(tmp_path / "in"), timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert outcomes(tmp_path) == {"good.mp4": "analysed", SHOWN: "analysed"}
    assert "done #" in out.stderr and SHOWN in out.stderr and "\\udce9" not in out.stderr


def test_a_running_daemon_queues_a_valid_file_dropped_with_one(tmp_path, base_clip, daemons):
    watched = tmp_path / "in"
    watched.mkdir()
    config = ws.write_config(tmp_path)
    d = daemons(config, [str(watched)], tmp_path / "d.log")
    d.wait_for("ready", 120)
    drop_pair(tmp_path / "stage", base_clip)
    for name in (b"good.mp4", b"caf\xe9.mp4"):
        os.rename(os.path.join(os.fsencode(tmp_path / "stage"), name), os.path.join(os.fsencode(watched), name))
    ws.wait_until(lambda: outcomes(tmp_path) == {"good.mp4": "analysed", SHOWN: "analysed"}, 120,
                  what="both files analysed")
    assert d.terminate() == 0
