"""The README is a door: at most 250 lines, opening with the two commands (set up + demo, set up + tests),
the second being what `.ci/run` runs, and every docs/ page it points to exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MAX_LINES = 250


def blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"```[a-z]*\n(.*?)```", text, re.S) if b.strip()]


def test_the_readme_is_at_most_250_lines():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines (at most {MAX_LINES}: move detail to docs/)"


def test_the_readme_opens_with_the_two_commands_and_says_ci_runs_the_second():
    text = README.read_text(encoding="utf-8")
    first, second = blocks(text)[:2]
    assert "\n" not in first and first.endswith(".venv/bin/cogvlm-media demo"), first
    assert "\n" not in second and second.endswith(".venv/bin/python -m pytest"), second
    assert "pip install -e ." in first and "pip install -e '.[test]'" in second
    # nothing but the two commands and their headings comes before them
    end = text.index("```", text.index(second)) + 3
    head = [line for line in re.sub(r"```[a-z]*\n.*?```", "", text[:end], flags=re.S).splitlines() if line.strip()]
    assert head == ["# cogvlm-media", "Set up and run the demo (renders a 24 s clip with cuts and speech, ingests it, "
                    "prints its markers):", "Set up and run the tests:"]
    after = text[end:].split("---")[0]
    assert "<!-- CI: .ci/run extracts and runs exactly the second command block above" in after


def test_ci_run_takes_the_readme_second_block():
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    extract = re.search(r"<<'PY'\n(.*?)\nPY\n", script, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", extract], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == blocks(README.read_text(encoding="utf-8"))[1]
    assert 'bash -c "$test_command"' in script


def test_every_docs_page_the_readme_links_exists():
    links = re.findall(r"\]\(((?:docs|plugins)/[^)#]+)\)", README.read_text(encoding="utf-8"))
    assert len(links) >= 10
    missing = [link for link in links if not (REPO / link).is_file()]
    assert not missing, f"README links to missing files: {missing}"
