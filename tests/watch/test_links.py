"""Symlinks never lead the daemon out of the watched tree (issue 13, item 4): before, ``mv`` of a folder
holding a symlink into the watched folder queued files from outside, and a symlink to a parent folder
queued every file of the tree again. Events, the start-up scan and a folder moved in are each tested;
a symlink to a file inside the tree is still taken."""

from __future__ import annotations

import os
import shutil

import pytest

import watch_support as ws


def names(root) -> set[str]:
    return {os.path.relpath(r["path"], root / "in") for r in ws.runs(root)}


def layout(tmp_path, base_clip):
    """in/ (watched) with in/inside.mp4; out/outside.mp4 next to it."""
    watched, out = tmp_path / "in", tmp_path / "out"
    watched.mkdir()
    out.mkdir()
    ws.variant(base_clip, out / "outside.mp4", 1)
    ws.variant(base_clip, watched / "inside.mp4", 2)
    return watched, out


def test_the_start_up_scan_takes_no_link_out_of_the_tree(tmp_path, base_clip):
    watched, out = layout(tmp_path, base_clip)
    (watched / "sub").mkdir()
    os.symlink(out / "outside.mp4", watched / "sub" / "link-out.mp4")  # a file outside
    os.symlink(out, watched / "outdir")  # a folder outside
    os.symlink(tmp_path, watched / "parent")  # the watched folder's parent: the tree again
    os.symlink(watched / "inside.mp4", watched / "sub" / "link-in.mp4")  # a file inside: taken
    config = ws.write_config(tmp_path)
    out_ = ws.cli(config, "watch", "--exit-when-idle", "--scan-only", "--no-probe", str(watched), timeout=120)
    assert out_.returncode == 0, out_.stdout + out_.stderr
    assert names(tmp_path) == {"inside.mp4", os.path.join("sub", "link-in.mp4")}


@pytest.mark.parametrize("observer", [[], ["--poll"]], ids=["events", "polling"])
def test_events_and_a_folder_moved_in_take_no_link_out_of_the_tree(tmp_path, base_clip, daemons, observer):
    """The polling observer (network mounts, --poll) walks into symlinked folders: its events must be
    held to the same rule as inotify's."""
    watched, out = layout(tmp_path, base_clip)
    config = ws.write_config(tmp_path)
    d = daemons(config, [str(watched), "--scan-only", "--no-probe", *observer], tmp_path / "d.log")
    d.wait_for("ready", 120)
    ws.wait_until(lambda: names(tmp_path) == {"inside.mp4"}, 60, what="the start-up scan")
    # a folder holding links, moved in whole
    staged = tmp_path / "staged"
    staged.mkdir()
    os.symlink(out / "outside.mp4", staged / "link-out.mp4")
    os.symlink(tmp_path, staged / "parent")
    ws.variant(base_clip, staged / "real.mp4", 3)
    shutil.move(str(staged), str(watched / "moved"))
    # links created in the tree: events
    os.symlink(out / "outside.mp4", watched / "event-out.mp4")
    os.symlink(tmp_path, watched / "event-parent")
    os.symlink(watched / "inside.mp4", watched / "event-in.mp4")
    # the last arrival, moved in like the rest (no close hint to shorten its window): once it and the
    # files that belong are queued, every link above had its events handled
    ws.variant(base_clip, tmp_path / "marker.mp4", 4)
    shutil.move(str(tmp_path / "marker.mp4"), str(watched / "marker.mp4"))
    expected = {"inside.mp4", os.path.join("moved", "real.mp4"), "event-in.mp4", "marker.mp4"}
    ws.wait_until(lambda: expected <= names(tmp_path), 60, what="the files inside the tree queued")
    d.terminate()
    assert names(tmp_path) == expected


def test_the_polling_snapshot_walks_no_symlinked_folder_and_events_through_one_are_dropped(tmp_path):
    from watchdog.utils.dirsnapshot import DirectorySnapshot

    from cogvlm_media.watch.links import reachable, stat_without_folder_links

    watched = tmp_path / "in"
    (watched / "sub").mkdir(parents=True)
    (watched / "sub" / "a.mp4").write_bytes(b"a" * 10)
    os.symlink(tmp_path, watched / "parent")
    os.symlink(watched / "sub", watched / "sublink")
    os.symlink(watched / "sub" / "a.mp4", watched / "f.mp4")
    os.symlink(watched, tmp_path / "root-link")  # a watched root may itself be a link
    for root in (watched, tmp_path / "root-link"):
        snap = DirectorySnapshot(str(root), stat=stat_without_folder_links(str(root)))
        assert sorted(os.path.relpath(p, root) for p in snap.paths) == [
            ".", "f.mp4", "parent", "sub", os.path.join("sub", "a.mp4"), "sublink"]
        assert snap.stat_info(str(root / "f.mp4")).st_size == 10  # a file link: the file's size
    assert reachable(str(watched), str(watched / "sub" / "a.mp4")) and reachable(str(watched), str(watched / "f.mp4"))
    assert not reachable(str(watched), str(watched / "sublink" / "a.mp4"))
    assert not reachable(str(watched), str(watched / "parent" / "in" / "sub" / "a.mp4"))
