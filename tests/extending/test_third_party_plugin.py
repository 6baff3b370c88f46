"""A third-party plugin installed the way pip leaves one (a package beside its .dist-info with an entry point
in the `cogvlm_media` group), found by the real CLI: its stage and analyser run in `ingest`, its format
is written by `export`. A plugin that fails to load stops the command with one line."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import cogvlm_media

PLUGIN = '''
"""theirs_plugin: a third-party cogvlm-media plugin (written by the test)."""
from cogvlm_media.analysis.embedded import EmbeddedAnalyser
from cogvlm_media.records import KeyMoment
from cogvlm_media.analysis.stage import Stage
from cogvlm_media.export.formats import Format
from cogvlm_media.hookspecs import hookimpl


def count_frames(item, progress):
    progress(1, 1)
    return len(item.frame_times)


class TheirAnalyser(EmbeddedAnalyser):
    name, version = "theirs", "7"

    def analyse(self, item, progress=None):
        result = super().analyse(item, progress)
        frames = item.stage_results["frame_count"]
        label = self.settings.plugins["theirs"]["label"]  # their [plugins.theirs] table
        result.moments.append(KeyMoment(time=1.0, name=f"{label} {frames} frames", note="from their stage"))
        return result


def write_lines(plan):
    return "".join(f"{m.frame} {m.kind} {m.name}\\n" for clip in plan.clips for m in clip.marks)


@hookimpl
def register_analysers():
    return {"theirs": TheirAnalyser}


@hookimpl
def register_stages():
    return [Stage("frame_count", count_frames)]


@hookimpl
def register_export_formats():
    return [Format(name="theirs", suffix=".theirs.txt", description="one line per marker", write=write_lines)]
'''


def install(site: Path, dist: str, entry_points: str, modules: dict[str, str]) -> None:
    """What pip leaves in site-packages: the modules, and DIST-0.1.dist-info with METADATA and entry_points.txt."""
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist.replace('_', '-')}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points).lstrip())
    for name, text in modules.items():
        (site / name).write_text(text)


def cli(tmp_path: Path, site: Path, *args: str) -> subprocess.CompletedProcess:
    checkout = Path(cogvlm_media.__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(checkout)]),
           "COGVLM_MEDIA_HOME": str(tmp_path / "home"), "COGVLM_MEDIA_CONFIG": str(tmp_path / "config.toml"),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    env.pop("COGVLM_MEDIA_DB", None)
    return subprocess.run([sys.executable, "-m", "cogvlm_media", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_an_installed_plugin_brings_its_stage_analyser_and_format_to_the_cli(tmp_path, silent_clip):
    site = tmp_path / "site"
    (site / "theirs_plugin").mkdir(parents=True)
    (site / "theirs_plugin" / "__init__.py").write_text(PLUGIN)
    (tmp_path / "config.toml").write_text('[analysis]\nanalyser = "theirs"\n\n[plugins.theirs]\nlabel = "they saw"\n')
    # the package alone is importable, but nothing announces it: no such format
    before = cli(tmp_path, site, "export", "1", "--format", "theirs")
    assert before.returncode == 1 and "unknown format 'theirs'" in before.stderr, before.stderr

    install(site, "theirs_plugin", "[cogvlm_media]\ntheirs = theirs_plugin\n", {})
    ingest = cli(tmp_path, site, "ingest", "-q", str(silent_clip.path))
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    with sqlite3.connect(tmp_path / "home" / "cogvlm-media.db") as db:
        assert db.execute("SELECT analyser, analyser_version FROM assets").fetchall() == [("theirs", "7")]

    out = cli(tmp_path, site, "export", "1", "--format", "theirs")
    assert out.returncode == 0, out.stderr[-3000:]
    # their analyser's moment at 1.0 s (frame 25 at 25 fps), labelled from their config table, names what
    # their stage counted: the clip's 50 frames
    assert "25 moment they saw 50 frames" in out.stdout.splitlines(), out.stdout
    assert {line.split()[1] for line in out.stdout.splitlines()} == {"scene", "moment"}


def test_a_plugin_that_fails_to_load_stops_the_command_with_one_line(tmp_path):
    site = tmp_path / "site"
    install(site, "broken_plugin", "[cogvlm_media]\nbroken = broken_plugin\n",
            {"broken_plugin.py": "raise ImportError('needs libfoo 2')\n"})
    done = cli(tmp_path, site, "export", "1", "--format", "json")
    assert done.returncode == 1
    assert done.stderr.strip() == ("error: plugin 'broken' (broken_plugin, from broken-plugin 0.1) failed to load: "
                                   "ImportError: needs libfoo 2"), done.stderr
