"""Strict loading from sharded safetensors + index, the one clear mismatch error, hub failure offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file, save_file

from cogvlm_media.model.engine import VideoChat, resolve_device, resolve_dtype
from cogvlm_media.model.loading import (
    INDEX_FILE,
    CheckpointMismatch,
    ModelLoadError,
    load_model,
    load_tokenizer,
    resolve_checkpoint,
)


def test_saved_as_shards_with_index(checkpoint):
    index = json.loads((checkpoint / INDEX_FILE).read_text())
    shards = set(index["weight_map"].values())
    assert len(shards) > 1
    assert all((checkpoint / s).exists() for s in shards)
    assert "model.vision.boi" in index["weight_map"]


def test_reload_is_strict_and_exact(checkpoint, tiny_model):
    loaded = load_model(checkpoint)
    want = tiny_model.state_dict()
    got = loaded.state_dict()
    assert set(got) == set(want)
    for name in want:
        assert torch.equal(got[name], want[name]), name
    torch.testing.assert_close(loaded.model.rotary_emb.inv_freq, tiny_model.model.rotary_emb.inv_freq)
    ids = torch.tensor([[1, 5, 6, 7]])
    mask = torch.ones_like(ids, dtype=torch.bool)
    from cogvlm_media.model.generation import prefill_mask

    with torch.no_grad():
        a = loaded(ids, torch.zeros_like(ids), torch.arange(4)[None], prefill_mask(mask))
        b = tiny_model(ids, torch.zeros_like(ids), torch.arange(4)[None], prefill_mask(mask))
    torch.testing.assert_close(a, b)


def test_reload_in_bf16(checkpoint):
    model = load_model(checkpoint, dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def _corrupt(src, dst):
    shutil.copytree(src, dst)
    index = json.loads((dst / INDEX_FILE).read_text())
    weight_map = index["weight_map"]
    wrong_shape = "model.layers.1.self_attn.language_expert_dense.weight"
    edits = {
        weight_map.pop("model.norm.weight"): lambda t: t.pop("model.norm.weight"),  # missing
        weight_map[wrong_shape]: lambda t: t.__setitem__(wrong_shape, torch.zeros(5, 7)),  # mis-shaped
    }
    for shard, edit in edits.items():
        tensors = load_file(str(dst / shard))
        edit(tensors)
        save_file(tensors, str(dst / shard))
    shard = weight_map[wrong_shape]
    tensors = load_file(str(dst / shard))
    tensors["model.vision.extra_scale"] = torch.ones(3)  # unexpected
    save_file(tensors, str(dst / shard))
    weight_map["model.vision.extra_scale"] = shard
    (dst / INDEX_FILE).write_text(json.dumps(index))
    return wrong_shape


def test_wrong_tensors_give_one_clear_error(checkpoint, tmp_path):
    bad = tmp_path / "bad"
    wrong_shape = _corrupt(checkpoint, bad)
    with pytest.raises(CheckpointMismatch) as err:
        load_model(bad)
    msg = str(err.value)
    assert "missing 1: model.norm.weight" in msg
    assert "unexpected 1: model.vision.extra_scale" in msg
    assert f"mis-shaped 1: {wrong_shape} (checkpoint [5, 7], model [64, 64])" in msg
    assert "\n" not in msg


def test_missing_shard_and_missing_files(checkpoint, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(checkpoint, folder)
    index = json.loads((folder / INDEX_FILE).read_text())
    (folder / sorted(set(index["weight_map"].values()))[0]).unlink()
    with pytest.raises(ModelLoadError, match="shard .* is missing"):
        load_model(folder)
    (folder / INDEX_FILE).unlink()
    with pytest.raises(ModelLoadError, match="only safetensors"):
        load_model(folder)
    with pytest.raises(ModelLoadError, match="no config.json"):
        load_model(tmp_path)
    with pytest.raises(ModelLoadError, match="no tokenizer.json"):
        load_tokenizer(tmp_path)


def test_local_folder_and_bad_paths(checkpoint, tmp_path):
    assert resolve_checkpoint(str(checkpoint)) == checkpoint
    with pytest.raises(ModelLoadError, match="no model configured"):
        resolve_checkpoint("")
    with pytest.raises(ModelLoadError, match="not a checkpoint folder"):
        resolve_checkpoint(str(tmp_path / "nowhere" / "deeper"))


def test_hub_id_offline_tells_how_to_use_a_local_folder(tmp_path):
    code = ("from cogvlm_media.model.loading import resolve_checkpoint, ModelLoadError\n"
            "try:\n    resolve_checkpoint('THUDM/cogvlm2-video-llama3-chat', 'main')\n"
            "except ModelLoadError as e:\n    print('ERR', e)\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("ERR cannot fetch 'THUDM/cogvlm2-video-llama3-chat@main'"), out.stdout + out.stderr
    assert "offline" in out.stdout
    assert '[model] path = "/path/to/folder"' in out.stdout


def test_dtype_and_device_choice():
    cpu = torch.device("cpu")
    assert resolve_dtype("auto", cpu) == torch.float32
    assert resolve_dtype("bf16", cpu) == torch.bfloat16
    assert resolve_dtype("fp16", cpu) == torch.float16
    with pytest.raises(ValueError):
        resolve_dtype("int3", cpu)
    assert resolve_device("cpu") == cpu
    if not torch.cuda.is_available():
        assert resolve_device("auto") == cpu


def test_quantization_needs_cuda(checkpoint):
    with pytest.raises(ModelLoadError, match="needs a CUDA device"):
        load_model(checkpoint, quantization="4bit")
    with pytest.raises(ModelLoadError, match="unknown quantization"):
        load_model(checkpoint, quantization="3bit")


def test_from_settings_loads_model_and_tokenizer(checkpoint):
    from cogvlm_media.config import ModelSettings

    chat = VideoChat.from_settings(ModelSettings(path=str(checkpoint), batch_size=3, max_new_tokens=5))
    assert chat.batch_size == 3 and chat.max_new_tokens == 5
    assert chat.model.dtype == torch.float32 and chat.eos_ids == [2]
    assert chat.tokenizer.convert_tokens_to_ids("Question") == 4
    assert chat.model.fused == ""  # fusion is for CUDA with Triton; on CPU the layers stay eager
