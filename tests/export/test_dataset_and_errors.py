"""export-dataset (ms-swift jsonl whose clips exist and play) and bad input: one line, non-zero exit,
nothing written."""

from __future__ import annotations

import json
import subprocess

import pytest
from exportkit import stored

from cogvlm_media.export import dataset


def test_dataset_from_verified_markers_and_scene_summaries(env, assets, tmp_path):
    asset = assets["25"]
    out = tmp_path / "m.json"
    env.cli("export", str(asset), "--format", "json", "-o", str(out))
    data = json.loads(out.read_text())
    flash = next(m for m in data["assets"][0]["markers"] if m["name"] == "Flash")
    flash["name"], flash["note"] = "Flash frame", "The whole frame turns white."
    out.write_text(json.dumps(data))
    env.cli("import-markers", str(out), "--asset", str(asset))
    folder = tmp_path / "ds"
    env.cli("export-dataset", "--format", "swift", "-o", str(folder), "--asset", str(asset))
    records = [json.loads(line) for line in (folder / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(set(r) == {"query", "response", "videos"} for r in records)
    from cogvlm_media.analysis import vision_analyser  # training prompts are the ones the analyser asks

    assert (dataset.CAPTION_PROMPT, dataset.KEY_MOMENT_PROMPT) == (vision_analyser.CAPTION_PROMPT,
                                                                   vision_analyser.MOMENT_PROMPT)
    captions = [r for r in records if r["query"] == dataset.CAPTION_PROMPT]
    moments = [r for r in records if r["query"] == dataset.KEY_MOMENT_PROMPT]
    doc = stored(env, asset)
    assert len(captions) == len(doc["windows"]) == 3
    assert captions[0]["response"] == "A test pattern fills the frame."
    assert moments == [{"query": dataset.KEY_MOMENT_PROMPT, "response": "3: Flash frame - The whole frame turns white.",
                        "videos": captions[0]["videos"]}]  # only the verified marker, at its window-local second
    for r in captions:
        (clip,) = r["videos"]
        probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                                "stream=nb_read_frames", "-of", "csv=p=0", clip], capture_output=True, text=True)
        assert probe.returncode == 0 and int(probe.stdout.strip()) == pytest.approx(12 * 25, abs=1)
        decode = subprocess.run(["ffmpeg", "-v", "error", "-i", clip, "-f", "null", "-"], capture_output=True, text=True)
        assert decode.returncode == 0 and not decode.stderr.strip()


@pytest.mark.parametrize("args,needle", [
    (["export", "999", "--format", "otio"], "no ingested asset"),
    (["export", "{a}", "--format", "premiere-csv"], "unknown format"),
    (["export", "{a}", "--format", "edl-resolve", "--start-tc", "01:00:00:30"], "not a timecode"),
    (["export", "{a}", "--format", "otio", "--start-tc", "1h"], "not a timecode"),
    (["export", "{a}", "--format", "otio", "--kind", "cats"], "unknown marker kind"),
    (["import-markers", "{missing}", "--asset", "{a}"], "cannot read"),
    (["import-markers", "{garbage}", "--asset", "{a}"], "not a marker file"),
    (["import-markers", "{badxml}", "--asset", "{a}"], "not a readable fcp7xml file"),
    (["import-markers", "{notours}", "--asset", "{a}"], "not a cogvlm-media marker list"),
    (["import-markers", "{garbage}", "--asset", "{a}", "--format", "aaf"], "unknown import format"),
    (["export-dataset", "-o", "{out}", "--format", "llava"], "unknown dataset format"),
])
def test_bad_input_one_line_nonzero_nothing_written(env, assets, tmp_path, args, needle):
    (tmp_path / "garbage.edl").write_bytes(b"\x00\x01 binary nonsense")
    (tmp_path / "badxml.xml").write_text("<xmeml version='4'><sequence>", encoding="utf-8")
    (tmp_path / "notours.json").write_text('{"hello": 1}', encoding="utf-8")
    values = {"a": str(assets["25"]), "missing": str(tmp_path / "nope.otio"), "garbage": str(tmp_path / "garbage.edl"),
              "badxml": str(tmp_path / "badxml.xml"), "notours": str(tmp_path / "notours.json"),
              "out": str(tmp_path / "out")}
    before = stored(env, assets["25"])
    target = tmp_path / "result.out"
    argv = [a.format(**values) for a in args]
    if argv[0] == "export":
        argv += ["-o", str(target)]
    res = env.cli(*argv, ok=False)
    assert res.exit_code != 0
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], res.output
    assert not target.exists() and not (tmp_path / "out").exists()
    assert stored(env, assets["25"]) == before
