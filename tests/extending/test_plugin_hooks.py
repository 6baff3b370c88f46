"""Every plugin hook: a built-in implements it, a plugin object registered for the test extends it, and
hook coverage fails when a hookspec has no built-in, no `test_hook_<name>` test or no mention in the docs."""

from __future__ import annotations

import ast
import inspect
from fractions import Fraction
from pathlib import Path

import pytest

from cogvlm_media import hooks, hookspecs
from cogvlm_media.analysis.analyser import UnknownAnalyser, get_analyser
from cogvlm_media.analysis.embedded import EmbeddedAnalyser
from cogvlm_media.analysis.stage import Stage, stages
from cogvlm_media.config import AnalysisSettings, ConfigError, Settings, load_settings
from cogvlm_media.export.formats import Format, render
from cogvlm_media.export.timeline import Mark, Placement, Plan
from cogvlm_media.hookspecs import hookimpl
from cogvlm_media.ingest.stages import analyse_file
from cogvlm_media.plugin_manager import DEFAULT_PLUGINS, get_plugin_manager
from cogvlm_media.search.backend import LocalBackend, open_backend

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
               if hasattr(fn, f"{hookspecs.PROJECT}_spec"))


def test_hook_coverage_every_hookspec_has_a_builtin_a_test_and_docs():
    assert HOOKS == ["asset_changed", "open_search_backend", "register_analysers", "register_export_formats",
                     "register_stages"]
    manager = get_plugin_manager()
    tests = {node.name for path in (ROOT / "tests").rglob("test_*.py")
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.FunctionDef)}
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for name in HOOKS:
        builtins = [impl.plugin_name for impl in getattr(manager.hook, name).get_hookimpls()
                    if impl.plugin_name in DEFAULT_PLUGINS]
        assert builtins, f"no built-in plugin implements {name}"
        assert f"test_hook_{name}" in tests, f"no test_hook_{name} test"
        assert f"`{name}(" in docs, f"docs/plugins.md does not describe {name}"


class Recording(EmbeddedAnalyser):
    name = "recording"
    seen: list[dict] = []

    def analyse(self, item, progress=None):
        Recording.seen.append(dict(item.stage_results))
        return super().analyse(item, progress)


def count_frames(item, progress):
    progress(1, 1)
    return len(item.frame_times)


class Counter:
    """A stage counting the frames, switched off by ``[plugins.counter] enabled = false``."""

    @hookimpl
    def register_stages(self):
        return [Stage("frame_count", count_frames, enabled=lambda s: s.plugins.get("counter", {}).get("enabled", True))]

    @hookimpl
    def register_analysers(self):
        return {"recording": Recording}


def test_hook_register_analysers(register_plugin, tmp_path):
    settings = Settings(home=tmp_path, analysis=AnalysisSettings(analyser="recording"))
    with pytest.raises(UnknownAnalyser, match=r"unknown analyser 'recording' \(known: embedded, vision\)"):
        get_analyser(settings)
    register_plugin(Counter())
    assert isinstance(get_analyser(settings), Recording)
    with pytest.raises(UnknownAnalyser, match=r"\(known: embedded, recording, vision\)"):
        get_analyser(Settings(analysis=AnalysisSettings(analyser="nope")))


def test_hook_register_stages(register_plugin, silent_clip, tmp_path):
    assert [s.name for s in stages(Settings())] == ["shots", "speech", "speakers", "text", "faces"]
    register_plugin(Counter())
    assert [s.name for s in stages(Settings())] == ["shots", "speech", "speakers", "text", "faces", "frame_count"]
    assert [s.name for s in stages(Settings(plugins={"counter": {"enabled": False}}))] == ["shots", "speech", "speakers", "text", "faces"]

    Recording.seen.clear()
    reports: list[tuple] = []
    settings = Settings(home=tmp_path, analysis=AnalysisSettings(analyser="recording"))
    result = analyse_file(str(silent_clip.path), settings, on_stage=lambda *a: reports.append(a))
    # the plugin stage ran on the file, reported under its name, and its result reached the analyser
    assert ("frame_count", 1, 1) in reports
    assert result.stage_results["frame_count"] == silent_clip.frame_count == 50
    (seen,) = Recording.seen
    assert list(seen) == ["shots", "speech", "speakers", "text", "faces", "frame_count"]
    assert seen["frame_count"] == 50 and seen["shots"] == result.shots and seen["speech"] is None
    assert seen["speakers"] is None  # no audio stream
    assert seen["faces"].faces == () and seen["faces"].sample_times[0] == 0.0  # a clip without faces: empty


def test_two_stages_of_one_name_are_refused(register_plugin):
    class Twin:
        @hookimpl
        def register_stages(self):
            return [Stage("speech", lambda item, progress: None)]

    register_plugin(Twin())
    with pytest.raises(ValueError, match="two ingest stages are named 'speech'"):
        stages(Settings())


def plan() -> Plan:
    marks = [Mark((4,), 25, 0, "Door opens", "", "moment", "YELLOW"), Mark((5,), 0, 50, "Hall", "", "scene", "BLUE")]
    clip = Placement(1, "/m/a.mp4", "a.mp4", Fraction(25), 50, 0, False, 0, marks)
    return Plan("t", Fraction(25), 0, False, [clip], ("moment", "scene"))


class Lines:
    @hookimpl
    def register_export_formats(self):
        write = lambda p: "".join(f"{m.frame} {m.name}\n" for c in p.clips for m in c.marks)  # noqa: E731
        csv = lambda p: "replaced\n"  # noqa: E731
        return [Format(name="lines", suffix=".lines.txt", description="one line per marker", write=write),
                Format(name="csv", suffix=".csv", description="a plugin's csv", write=csv)]


def test_hook_register_export_formats(register_plugin):
    from cogvlm_media.export import formats

    builtin = formats.format_names()
    assert "lines" not in builtin and builtin[-1] == "csv"
    register_plugin(Lines())
    assert formats.format_names() == [*builtin, "lines"]  # a plugin's format of a built-in's name replaces it in place
    assert render(formats.get_format("lines"), plan()) == [(None, "25 Door opens\n0 Hall\n", [])]
    assert render(formats.get_format("csv"), plan())[0][1] == "replaced\n"


def test_hook_open_search_backend(register_plugin, tmp_path):
    class Elsewhere:
        name = "elsewhere"

    class PostgresLike:
        @hookimpl
        def open_search_backend(self, settings, engine):
            return Elsewhere() if engine == "postgresql-engine" else None

    settings = Settings(home=tmp_path)
    register_plugin(PostgresLike())
    assert isinstance(open_backend(settings, "postgresql-engine"), Elsewhere)
    assert isinstance(open_backend(settings, None), LocalBackend)  # None from the plugin: the local one answers


def test_hook_asset_changed(register_plugin):
    calls: list = []

    class Listener:
        @hookimpl
        def asset_changed(self, engine, asset_id):
            calls.append((engine, asset_id))

    register_plugin(Listener())
    hooks.emit("asset_changed", "engine", None, asset_id=3)
    with hooks.background(drain_seconds=10):
        hooks.emit("asset_changed", "engine", None)
    assert calls == [("engine", 3), ("engine", None)]


def test_plugin_settings_are_tables_of_their_own(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[plugins.counter]\nenabled = false\n')
    settings = load_settings(path)
    assert settings.plugins == {"counter": {"enabled": False}} and settings.as_dict()["plugins"] == settings.plugins
    assert "plugins" not in Settings().as_dict()  # `config` prints no empty [plugins]
    path.write_text("[plugins]\ncounter = 1\n")
    with pytest.raises(ConfigError, match=r"\[plugins\] holds one table per plugin"):
        load_settings(path)
