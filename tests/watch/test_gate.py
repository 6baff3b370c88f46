"""Completeness gate, junk names and network-mount detection (in process, fake clock)."""

from __future__ import annotations

import os

import pytest
from fakeclock import Clock

from cogvlm_media.config import VIDEO_EXTENSIONS
from cogvlm_media.watch.gate import Gate, is_junk, wanted
from cogvlm_media.watch.observers import fs_type, is_network, mount_table


@pytest.mark.parametrize("name", [".hidden.mp4", "a.mp4.part", "b.crdownload", "c.tmp", "~$d.mp4", "._e.mp4",
                                  ".syncthing.f.mp4.tmp", "Thumbs.db", "thumbs.db", ".DS_Store", ".g.mp4.Ab12Cd",
                                  "~syncthing~h.mp4.tmp", "X.MP4.PART"])
def test_junk_names(name):
    assert is_junk(name)
    assert not wanted(f"/w/{name}", VIDEO_EXTENSIONS)


@pytest.mark.parametrize("path,ok", [("/w/a.mp4", True), ("/w/B.MOV", True), ("/w/sub/c.mxf", True),
                                     ("/w/notes.txt", False), ("/w/.cache/a.mp4", False),
                                     ("/w/@eaDir/a.mp4", False), ("/w/a.mp4x", False)])
def test_wanted(path, ok):
    assert wanted(path, VIDEO_EXTENSIONS) is ok


def test_growing_file_is_not_ready_until_unchanged_for_the_window(tmp_path):
    clock = Clock()
    gate = Gate(5.0, clock=clock)
    f = tmp_path / "a.mp4"
    f.write_bytes(b"x" * 10)
    gate.offer(str(f))
    clock.now += 4.9
    assert gate.ready() == []
    with open(f, "ab") as fh:
        fh.write(b"y")  # still being written: the window restarts when the gate next looks
    clock.now += 0.2
    assert gate.ready() == []
    clock.now += 4.9
    assert gate.ready() == []
    clock.now += 0.2
    st = os.stat(f)
    assert gate.ready() == [(str(f), 11, st.st_mtime_ns)]
    assert len(gate) == 0


def test_close_event_only_shortens_the_window(tmp_path):
    clock = Clock()
    gate = Gate(5.0, close_hint_seconds=1.0, clock=clock)
    f = tmp_path / "a.mp4"
    f.write_bytes(b"x")
    gate.offer(str(f), closed=True)
    assert gate.ready() == []  # never at once: the hint does not decide alone
    clock.now += 1.1
    assert [p for p, _, _ in gate.ready()] == [str(f)]


def test_scanned_old_file_is_stable_at_once_but_fresh_one_waits(tmp_path):
    clock = Clock()
    gate = Gate(5.0, clock=clock)
    old, new = tmp_path / "old.mp4", tmp_path / "new.mp4"
    old.write_bytes(b"o")
    new.write_bytes(b"n")
    os.utime(old, (1, 1))
    gate.offer(str(old), scanned=True)
    gate.offer(str(new), scanned=True)
    assert [p for p, _, _ in gate.ready()] == [str(old)]
    clock.now += 5.1
    assert [p for p, _, _ in gate.ready()] == [str(new)]


def test_deleted_candidate_is_dropped_and_unreadable_one_gets_a_second_window(tmp_path):
    clock = Clock()
    probed = []

    def probe(path):
        probed.append(path)
        return "not a readable media file"

    gate = Gate(1.0, probe=probe, clock=clock)
    gone, bad = tmp_path / "gone.mp4", tmp_path / "bad.mp4"
    gone.write_bytes(b"g")
    bad.write_bytes(b"b")
    gate.offer(str(gone))
    gate.offer(str(bad))
    gone.unlink()
    clock.now += 1.1
    assert gate.ready() == [] and list(gate.pending) == [str(bad)]
    clock.now += 1.1
    assert [p for p, _, _ in gate.ready()] == [str(bad)]  # queued anyway: the pipeline records why
    assert probed == [str(bad)]


MOUNTINFO = r"""22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
30 22 0:40 / /mnt/nas rw,relatime - nfs4 nas:/export rw
31 30 0:41 / /mnt/nas/local\040disk rw - ext4 /dev/sdb1 rw
32 22 0:42 / /media/smb rw - cifs //srv/share rw
33 22 0:43 / /home/u/remote rw - fuse.sshfs u@h: rw
"""


def test_network_mounts_from_the_mount_table():
    table = mount_table(MOUNTINFO)
    assert ("/mnt/nas/local disk", "ext4") in table
    assert is_network("/mnt/nas/cards/a", table) and fs_type("/mnt/nas/cards/a", table) == "nfs4"
    assert not is_network("/mnt/nas/local disk/x", table)
    assert is_network("/media/smb", table) and is_network("/home/u/remote/x", table)
    assert not is_network("/home/u/footage", table) and not is_network("/mnt/nasty", table)
    assert mount_table()  # the real table parses


def test_the_cheap_stage_doubles_keep_the_real_signatures():
    """The subprocess tests swap shots/speech for cheap doubles; a signature drift must fail here."""
    import inspect

    import watch_plugins

    from cogvlm_media.analysis import shots, speech

    for real, double in ((shots.detect_shots, watch_plugins.detect_shots),
                         (speech.transcribe, watch_plugins.transcribe)):
        assert list(inspect.signature(real).parameters) == list(inspect.signature(double).parameters)


def test_a_close_hint_does_not_shorten_the_window_of_a_file_still_growing_across_hints(tmp_path):
    """Issue 13, item 9: a copy in chunks with a close after each one was taken 1 s after each close."""
    clock = Clock()
    gate = Gate(5.0, close_hint_seconds=1.0, clock=clock)
    f = tmp_path / "a.mp4"
    f.write_bytes(b"x" * 100)
    gate.offer(str(f), closed=True)  # the first chunk, closed
    for chunk in range(1, 6):
        clock.now += 0.8
        with open(f, "ab") as fh:
            fh.write(b"y" * 100)  # the writer opens again: it had not finished
        gate.offer(str(f), closed=True)
        clock.now += 1.1
        assert gate.ready() == [], chunk  # 1.1 s after a close: too early for a file that grew after one
    clock.now += 3.8
    assert gate.ready() == []
    clock.now += 0.2  # 5 s stable: the full window
    assert [(p, size) for p, size, _ in gate.ready()] == [(str(f), 600)]
