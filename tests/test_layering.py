"""The package's layers, checked on its source: no import runs back up, nothing below cli/ draws a screen.

Layers, bottom to top: media -> analysis (+ model) -> store -> export, search, server; ingest orchestrates
one file, finetune sits beside it, watch is the daemon, cli parses, calls and prints. The package-level
modules (records, config, hookspecs, hooks) are shared vocabulary that every layer may use, so they import
no layer; plugin_manager names the built-in plugins of the data layers. Alembic's scripts (migrations/,
shipped as cogvlm_media.migrations) sit with the store.

Every import counts: at module level, inside functions, under TYPE_CHECKING, relative ones, and lazy ones
(``import_module("cogvlm_media...")`` or a ``"cogvlm_media.pkg.module:Class"`` string naming a target).
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 400

_DATA_ABOVE_MEDIA = {"analysis", "model", "store", "export", "search", "server"}
_ORCHESTRATION = {"ingest", "finetune", "watch", "cluster", "cli"}
_ALL_LAYERS = _DATA_ABOVE_MEDIA | _ORCHESTRATION | {"media", "migrations"}

# layer -> (layers it must not import, why)
RULES: dict[str, tuple[frozenset[str], str]] = {
    layer: (frozenset(forbidden), why) for layer, forbidden, why in [
        ("media", _ALL_LAYERS - {"media"}, "media is the bottom layer: files, frames and timecode only"),
        ("model", _ALL_LAYERS - {"model", "media"}, "model sits beside analysis: it may use media only"),
        ("analysis", _ALL_LAYERS - {"analysis", "media", "model"},
         "analysis sits on media and model; storage, edges and orchestration are above it"),
        ("store", _ALL_LAYERS - {"store", "media", "migrations"},
         "store keeps records (cogvlm_media.records); it never reaches into the pipeline or above"),
        ("migrations", _ALL_LAYERS - {"store", "media", "migrations"}, "migrations sit with the store"),
        ("export", {"search", "server"} | _ORCHESTRATION,
         "export reads the store; search, server and the orchestrators are beside or above it"),
        ("search", {"export", "server"} | _ORCHESTRATION,
         "search reads the store; export, server and the orchestrators are beside or above it"),
        ("server", _ORCHESTRATION, "server serves the store, search and export; it never runs ingest/watch/cli"),
        ("ingest", {"server", "finetune", "watch", "cluster", "cli"},
         "ingest orchestrates one file; the daemon, the edges and finetune (beside it) are not its business"),
        ("finetune", {"server", "ingest", "watch", "cluster", "cli"}, "finetune sits beside ingest, below watch and cli"),
        ("cluster", {"server", "finetune", "watch", "cli"},
         "cluster sends ingest's per-file work to Ray nodes; the cli chooses it, the daemon never imports it"),
        ("watch", {"server", "finetune", "cluster", "cli"}, "watch is the daemon: it calls ingest, the cli draws its screen"),
        # package-level shared vocabulary: usable by every layer, so it imports none
        ("records", _ALL_LAYERS, "records are shared vocabulary: they import no layer"),
        ("plain_text", _ALL_LAYERS, "plain_text (control characters in names) is shared: it imports no layer"),
        ("config", _ALL_LAYERS, "config is shared vocabulary: it imports no layer"),
        ("hookspecs", _ALL_LAYERS, "hookspecs are shared vocabulary: they import no layer"),
        ("hooks", _ALL_LAYERS, "hooks is shared vocabulary: it imports no layer (listeners come by plugin)"),
        ("__init__", _ALL_LAYERS, "the package root imports no layer"),
        ("plugin_manager", _ORCHESTRATION | {"server"},
         "plugin_manager registers the data layers' built-ins; it never loads an edge or orchestrator"),
    ]
}
SCREEN_LIBRARIES = {"rich", "typer"}
SCREEN_RULE = "nothing below cli/ imports rich or typer (the cli draws; the rest returns data or reports)"
SCREEN_ALLOWED = {"cli", "__main__"}

_LAZY_TARGET = re.compile(r"cogvlm_media(\.\w+)+(:\w+)?")


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    target: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.target} -- rule: {self.rule}"


def package_modules(repo: Path) -> dict[str, Path]:
    """Dotted module name -> file, for the package and the migrations it ships."""
    out: dict[str, Path] = {}
    roots = ((repo / "cogvlm_media", ("cogvlm_media",)), (repo / "migrations", ("cogvlm_media", "migrations")))
    for base, prefix in roots:
        for path in sorted(base.rglob("*.py")):
            parts = prefix + path.relative_to(base).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)] = path
    return out


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported module) for every import in the source, lazy ones included."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if node.module is None or name == "cogvlm_media":  # from pkg import submodule
                found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, name))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _LAZY_TARGET.fullmatch(node.value):
            found.append((node.lineno, node.value.partition(":")[0]))
    return found


def check_module(module: str, source: str, is_package: bool = False) -> list[Violation]:
    layer = layer_of(module)
    forbidden, why = RULES.get(layer, (frozenset(), ""))
    out = []
    for line, target in imports_of(module, source, is_package):
        top = target.split(".")[0]
        if top == "cogvlm_media" and target != module:
            if layer_of(target) in forbidden:
                out.append(Violation(module, line, target, f"{layer} must not import {layer_of(target)}: {why}"))
        elif top in SCREEN_LIBRARIES and layer not in SCREEN_ALLOWED:
            out.append(Violation(module, line, target, SCREEN_RULE))
    return out


def check_tree(repo: Path) -> list[Violation]:
    return [v for module, path in package_modules(repo).items()
            for v in check_module(module, path.read_text(encoding="utf-8"), path.name == "__init__.py")]


def letter_aliases(source: str) -> list[tuple[int, str]]:
    """(line, 'module as x') for each of the package's modules imported under a one-letter name."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            base = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
            relative = isinstance(node, ast.ImportFrom) and node.level > 0
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                if alias.asname and len(alias.asname) == 1 and (full.startswith("cogvlm_media") or relative):
                    out.append((node.lineno, f"{full} as {alias.asname}"))
    return out


def aliased(repo: Path) -> list[str]:
    """Every one-letter alias of a package module in the package, its tests and its benchmarks."""
    files = sorted(p for d in ("cogvlm_media", "migrations", "tests", "bench") for p in (repo / d).rglob("*.py"))
    return [f"{path.relative_to(repo)}:{line} imports {what}"
            for path in files for line, what in letter_aliases(path.read_text(encoding="utf-8"))]


def oversized(repo: Path, limit: int = MAX_LINES) -> list[tuple[str, int]]:
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in package_modules(repo).items()}
    return sorted(((m, n) for m, n in sizes.items() if n > limit), key=lambda mn: -mn[1])


# --- the package as it is ---------------------------------------------------------------------------------

def test_no_import_runs_back_up_the_layers():
    modules = package_modules(REPO)
    assert len(modules) > 100 and {layer_of(m) for m in modules} >= _ALL_LAYERS - {"finetune"}
    violations = check_tree(REPO)
    assert not violations, "forbidden imports:\n" + "\n".join(map(str, violations))


def test_every_module_is_at_most_400_lines():
    too_big = oversized(REPO)
    assert not too_big, "modules over %d lines: %s" % (MAX_LINES, ", ".join(f"{m} ({n})" for m, n in too_big))


def test_no_module_of_the_package_is_imported_under_one_letter():
    found = aliased(REPO)
    assert not found, "one-letter module aliases (name the module):\n" + "\n".join(found)


def test_every_layer_has_a_rule():
    layers = {layer_of(m) for m in package_modules(REPO)}
    unruled = layers - set(RULES) - {"cli", "__main__"}
    assert not unruled, f"layers with no rule: {sorted(unruled)}"


# --- the checker can fail -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    for name in ("cogvlm_media", "migrations"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "static"))
    return root


PLANTED = [
    ("cogvlm_media/store/planted.py", "def f():\n    from cogvlm_media.analysis import shots\n",
     "cogvlm_media.store.planted", 2, "cogvlm_media.analysis", "store must not import analysis"),
    ("cogvlm_media/media/planted.py", "from ..ingest import paths\n",
     "cogvlm_media.media.planted", 1, "cogvlm_media.ingest", "media must not import ingest"),
    ("cogvlm_media/model/planted.py", "import cogvlm_media.watch.daemon\n",
     "cogvlm_media.model.planted", 1, "cogvlm_media.watch.daemon", "model must not import watch"),
    ("cogvlm_media/watch/planted.py", "def draw():\n    import rich.console\n",
     "cogvlm_media.watch.planted", 2, "rich.console", SCREEN_RULE),
    ("cogvlm_media/store/planted.py",
     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from typer import Typer\n",
     "cogvlm_media.store.planted", 3, "typer", SCREEN_RULE),
    ("cogvlm_media/search/planted.py",
     "from importlib import import_module\nm = import_module('cogvlm_media.ingest.paths')\n",
     "cogvlm_media.search.planted", 2, "cogvlm_media.ingest.paths", "search must not import ingest"),
    ("cogvlm_media/server/planted.py", "from cogvlm_media import watch\n",
     "cogvlm_media.server.planted", 1, "cogvlm_media.watch", "server must not import watch"),
    ("cogvlm_media/export/planted.py", "def f():\n    from cogvlm_media.cli.app import app\n",
     "cogvlm_media.export.planted", 2, "cogvlm_media.cli.app", "export must not import cli"),
    ("cogvlm_media/analysis/planted.py", "ANALYSERS = {'x': 'cogvlm_media.server.app:create_app'}\n",
     "cogvlm_media.analysis.planted", 1, "cogvlm_media.server.app", "analysis must not import server"),
    ("cogvlm_media/analysis/planted.py", "from cogvlm_media.store.writer import write\n",
     "cogvlm_media.analysis.planted", 1, "cogvlm_media.store.writer", "analysis must not import store"),
    ("cogvlm_media/records.py", "\nfrom cogvlm_media.media.probe import probe\n",
     "cogvlm_media.records", None, "cogvlm_media.media.probe", "records must not import media"),
]


@pytest.mark.parametrize("relpath,source,module,line,target,rule", PLANTED, ids=[p[2] + ":" + p[4] for p in PLANTED])
def test_a_planted_forbidden_import_is_named_with_its_rule(tree_copy, relpath, source, module, line, target, rule):
    path = tree_copy / relpath
    before = path.read_text(encoding="utf-8") if path.exists() else None
    path.write_text((before or "") + source, encoding="utf-8")
    try:
        violations = check_tree(tree_copy)
    finally:
        path.unlink() if before is None else path.write_text(before, encoding="utf-8")
    assert len(violations) == 1, violations
    v = violations[0]
    assert (v.module, v.target) == (module, target)
    assert rule in v.rule and rule in str(v) and module in str(v) and target in str(v)
    if line is not None:
        assert v.line == line
    assert not check_tree(tree_copy)  # the copy is clean again


def test_allowed_imports_are_not_flagged():
    ok = ("from cogvlm_media.media.probe import probe\nfrom cogvlm_media import records, config\n"
          "from cogvlm_media.store.engine import read_session\nimport sqlalchemy\n")
    assert check_module("cogvlm_media.search.planted", ok) == []
    cli = "import rich\nimport typer\nfrom cogvlm_media.watch import daemon\n"
    assert check_module("cogvlm_media.cli.show", cli) == []
    assert check_module("cogvlm_media.watch.planted", "from cogvlm_media.ingest.paths import ingest_paths\n") == []


def test_a_planted_one_letter_alias_is_named(tree_copy):
    path = tree_copy / "cogvlm_media" / "store" / "planted.py"
    path.write_text("from cogvlm_media import records as r\nfrom . import models as m\nimport numpy as np\n"
                    "from cogvlm_media.store import jobs\n", encoding="utf-8")
    try:
        assert aliased(tree_copy) == ["cogvlm_media/store/planted.py:1 imports cogvlm_media.records as r",
                                      "cogvlm_media/store/planted.py:2 imports models as m"]
    finally:
        path.unlink()
    assert aliased(tree_copy) == []


def test_a_module_over_400_lines_is_named(tree_copy):
    path = tree_copy / "cogvlm_media" / "media" / "long.py"
    path.write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    try:
        assert oversized(tree_copy) == [("cogvlm_media.media.long", MAX_LINES + 1)]
    finally:
        path.unlink()
    assert oversized(tree_copy) == []
