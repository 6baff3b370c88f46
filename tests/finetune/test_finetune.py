"""LoRA fine-tuning end to end on CPU with the tiny model: data from verified markers, the split, training
that learns, save/load/merge exactness, resume, use at inference through configuration alone, bad input."""

from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors.torch import load_file

from finetunekit import MOMENT, SCENE_TEXT, record

from cogvlm_media.model.prompts import CAPTION_PROMPT, MOMENT_PROMPT as KEY_MOMENT_PROMPT
from cogvlm_media.finetune.data import build_dataset, split
from cogvlm_media.model.adapter import AdapterError, apply_adapter
from cogvlm_media.model.inputs import build_prompt, collate, preprocess_frames
from cogvlm_media.store.engine import read_session, write_session

FRAMES = 2  # of each window's frames: enough to learn the task, and quick on a CPU
TRAIN = ["finetune", "--target", "all", "--lr", "0.01", "--epochs", "12", "--rank", "8", "--alpha", "16",
         "--dropout", "0", "--frames", str(FRAMES), "--schedule", "cosine", "--validation", "0.34"]


def dataset(env, **kw):
    with read_session(env.engine) as session:
        return build_dataset(session, **kw)


def logits(model, tokenizer, example, frames: int = FRAMES) -> torch.Tensor:
    """All-position logits for one key-moment example (fp32)."""
    from cogvlm_media.media.frames import read_frames

    pixels = preprocess_frames(read_frames(example.video, list(example.frame_indices[:frames])))
    prompt = build_prompt(tokenizer, example.query, frames, template="chat", pad_token_id=model.config.pad_token_id)
    batch = collate([prompt], model.config.pad_token_id)
    with torch.no_grad():
        vision = model.encode_frames(pixels)
        return model(batch.input_ids, batch.token_type_ids, batch.position_ids, None, vision, last_only=False)


def load_base(env):
    from cogvlm_media.model.loading import load_model, load_tokenizer

    return load_model(env.checkpoint), load_tokenizer(env.checkpoint)


def test_examples_carry_the_windows_frames_and_window_relative_ordinals(env, archive):
    data = dataset(env, validation=0.0)
    assert len(data.train) == 2 * len(archive) and not data.validation
    moment = next(e for e in data.train if e.query == KEY_MOMENT_PROMPT and e.group == f"asset:{archive[0]}")
    caption = next(e for e in data.train if e.query == CAPTION_PROMPT and e.group == f"asset:{archive[0]}")
    assert moment.frame_indices == (0, 25, 50, 75, 100, 125)  # one frame per whole second at 25 fps
    assert moment.frame_times == (0.0, 1.0, 2.0, 3.0, 4.0, 5.0)
    assert moment.response == f"3: {MOMENT[1]}" and moment.target_times == (MOMENT[0],)
    assert caption.response == SCENE_TEXT and caption.frame_indices == moment.frame_indices


def test_ordinal_is_the_sampled_frame_nearest_the_marker(env, clips):
    from cogvlm_media.store import models as store_models

    asset = record(env.engine, clips[0])
    with write_session(env.engine) as session:  # an editor moved the moment to 4.4 s
        marker = session.query(store_models.Marker).filter_by(asset_id=asset, kind="moment").one()
        marker.time, marker.note = 4.4, "the door\nswings"
    moment = next(e for e in dataset(env, validation=0.0).train if e.query == KEY_MOMENT_PROMPT)
    assert moment.response == "4: door opens - the door swings" and moment.target_times == (4.4,)


def test_split_by_asset_never_shares_one(env, archive):
    for seed in range(5):
        train, val = split(dataset(env, validation=0.0).train, validation=0.34, seed=seed)
        assert {e.group for e in train}.isdisjoint({e.group for e in val})
        assert len({e.group for e in val}) == 2 and len({e.group for e in train}) == 4
    result = env.cli("finetune", "-o", str(env.home / "a"), "--max-steps", "1", "--validation", "0.34")
    assert "8 training example(s) from 4 asset(s), 4 validation from 2" in result.output


def test_learns_a_held_out_task_and_is_used_through_configuration_alone(env, archive, tmp_path):
    out = tmp_path / "adapter"
    env.cli(*TRAIN, "-o", str(out))
    record_ = json.loads((out / "training.json").read_text())
    assert record_["data"]["validation_assets"] == 2 and record_["steps"] == 12 * 8
    assert record_["validation_losses"][-1] <= record_["initial_validation_loss"] / 2
    assert {"adapter_config.json", "adapter_model.safetensors", "cogvlm_media.json"} <= {p.name for p in out.iterdir()}
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA"
    assert re.fullmatch(config["target_modules"], "model.layers.1.mlp.language_mlp.down_proj")
    assert not re.fullmatch(config["target_modules"], "model.vision.transformer.layers.0.mlp.fc1")

    data = dataset(env, validation=0.34)
    taught = [e for e in data.train if e.query == KEY_MOMENT_PROMPT]
    from cogvlm_media.config import load_settings
    from cogvlm_media.media.frames import read_frames
    from cogvlm_media.model.engine import Request, VideoChat

    def answers(**model):
        env.configure(**model)
        chat = VideoChat.from_settings(load_settings(env.config).model)
        requests = [Request(e.query, read_frames(e.video, list(e.frame_indices[:FRAMES]))) for e in taught]
        return chat.answer(requests), chat

    target = f"3 : {MOMENT[1]}"  # the word-level test tokenizer spaces its tokens
    before, _ = answers()
    after, chat = answers(adapter=str(out))
    assert before.count(target) == 0 and after == [target] * len(taught)
    assert "+lora:adapter@" in chat.name  # the stored model version names the adapter and its hash
    unmerged, _ = answers(adapter=str(out), adapter_merge=False)
    assert unmerged == after

    assets = sorted({e.group.split(":")[1] for e in taught})
    result = env.cli("finetune", "eval", str(out), "--validation", "0", "--frames", str(FRAMES), "--json",
                     *[a for asset in assets for a in ("--asset", asset)])
    scores = json.loads(result.output)
    assert scores["adapted"]["loss"] < scores["base"]["loss"] / 2
    assert scores["adapted"]["time_error"] == 0.0 and scores["adapted"]["moments"] == len(taught)
    assert scores["adapted"]["missed"] == 0 and scores["base"]["missed"] + (scores["base"]["time_error"] or 0) > 0
    table = env.cli("finetune", "eval", str(out), "--validation", "0.34", "--frames", str(FRAMES)).output
    assert table.splitlines()[0].split() == ["loss", "time", "error", "moments", "missed"]
    assert [line.split()[0] for line in table.splitlines()[1:3]] == ["base", "adapted"]


def test_save_load_identical_and_merge_within_1e5(env, archive, tmp_path):
    out = tmp_path / "adapter"
    env.cli(*TRAIN[:-2], "-o", str(out), "--max-steps", "3", "--validation", "0")
    example = next(e for e in dataset(env, validation=0.0).train if e.query == KEY_MOMENT_PROMPT)

    from cogvlm_media.finetune.train import Trainer, TrainSettings

    model, tokenizer = load_base(env)
    trainer = Trainer(model, tokenizer, dataset(env, validation=0.0), TrainSettings(target="all", rank=8, alpha=16),
                      tmp_path / "unused")
    from peft import set_peft_model_state_dict

    set_peft_model_state_dict(trainer.peft, load_file(str(out / "adapter_model.safetensors")))
    trainer.peft.eval()
    in_memory = logits(trainer.net, tokenizer, example)

    loaded = apply_adapter(load_base(env)[0], out, merge=False)
    assert torch.equal(logits(loaded, tokenizer, example), in_memory)
    merged = apply_adapter(load_base(env)[0], out, merge=True)
    assert (logits(merged, tokenizer, example) - in_memory).abs().max() < 1e-5
    base = logits(load_base(env)[0], tokenizer, example)
    assert (base - in_memory).abs().max() > 1e-3  # the adapter changes something

    env.cli("finetune", "merge", str(out), "-o", str(tmp_path / "merged"))
    from cogvlm_media.model.loading import load_model

    strict = load_model(tmp_path / "merged")  # the strict loader accepts it
    assert (logits(strict, tokenizer, example) - in_memory).abs().max() < 1e-5


def test_resume_continues_from_the_saved_step(env, archive, tmp_path, monkeypatch):
    args = [*TRAIN[:-2], "--validation", "0", "--epochs", "1", "--accumulate", "2"]  # 12 examples: 6 steps
    env.cli(*args, "-o", str(tmp_path / "straight"))

    from cogvlm_media.finetune.train import Trainer

    save = Trainer.save_checkpoint

    def killed_after_step_3(self):
        folder = save(self)
        if self.step == 3:
            raise KeyboardInterrupt  # the process dies right after its mid-epoch checkpoint
        return folder

    monkeypatch.setattr(Trainer, "save_checkpoint", killed_after_step_3)
    killed = env.cli(*args, "-o", str(tmp_path / "split"), "--save-every", "3", ok=False)
    assert killed.exit_code != 0 and "3/6 steps" in killed.output
    monkeypatch.setattr(Trainer, "save_checkpoint", save)
    assert not (tmp_path / "split" / "training.json").exists()
    result = env.cli(*args, "-o", str(tmp_path / "split"), "--resume")
    assert "6/6" in result.output
    resumed = json.loads((tmp_path / "split" / "training.json").read_text())
    straight = json.loads((tmp_path / "straight" / "training.json").read_text())
    assert resumed["steps"] == straight["steps"] == 6
    assert resumed["train_losses"] == pytest.approx(straight["train_losses"], rel=1e-5)
    a = load_file(str(tmp_path / "split" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "straight" / "adapter_model.safetensors"))
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    c = load_file(str(tmp_path / "split" / "checkpoints" / "step-000003" / "adapter_model.safetensors"))
    assert not all(torch.allclose(a[k], c[k], atol=1e-6) for k in a)  # the resumed run really trained on
    missing = env.cli(*args, "-o", str(tmp_path / "nothing"), "--resume", ok=False)
    assert missing.exit_code == 1 and "no checkpoint to resume from" in missing.output


def test_bad_input_one_clear_line(env, clips, tmp_path, monkeypatch):
    # no verified markers
    record(env.engine, clips[0], verified=False)
    result = env.cli("finetune", "-o", str(tmp_path / "x"), ok=False)
    assert result.exit_code == 1 and "no verified markers" in result.output and "Traceback" not in result.output
    # a marker whose media is gone: skipped, with the count
    gone = tmp_path / "gone.mp4"
    gone.write_bytes(clips[1].read_bytes())
    record(env.engine, gone)
    gone.unlink()
    record(env.engine, clips[2])
    result = env.cli("finetune", "-o", str(tmp_path / "y"), "--max-steps", "1", "--validation", "0")
    assert "skipped 1 asset(s) whose media is gone" in result.output
    # an adapter for another base model
    from modelkit import make_tokenizer, save_checkpoint, tiny_model

    other = save_checkpoint(tiny_model(len(make_tokenizer()), hidden_size=96), tmp_path / "other-base")
    env.checkpoint, mine = other, env.checkpoint
    env.configure()
    env.cli("finetune", "-o", str(tmp_path / "other-adapter"), "--max-steps", "1", "--validation", "0")
    env.checkpoint = mine
    env.configure(adapter=str(tmp_path / "other-adapter"))
    result = env.cli("ask", str(clips[2]), "when does the door open?", ok=False)
    assert result.exit_code == 1 and "trained on another base model" in result.output and "hidden_size 96 vs 64" in result.output
    with pytest.raises(AdapterError, match="not a LoRA adapter folder"):
        apply_adapter(load_base(env)[0], tmp_path)
    # out of memory: the suggestion, not a traceback
    import cogvlm_media.finetune.train as train

    def oom(*a, **k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(train, "example_loss", oom)
    env.configure()
    result = env.cli("finetune", "-o", str(tmp_path / "z"), "--max-steps", "1", "--validation", "0", ok=False)
    assert result.exit_code == 1 and "out of GPU memory" in result.output and "--frames" in result.output
