"""Input building against hand-worked expectations from the reference rules (shared reference §2, §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cogvlm_media.model.inputs import (
    CLIP_MEAN,
    CLIP_STD,
    base_frame_indices,
    build_prompt,
    collate,
    position_ids,
    preprocess_frames,
    prompt_text,
)

PAD = 0  # the tiny config's pad id (128002 in the published one)


def ids(tokenizer, *tokens: str) -> list[int]:
    return [tokenizer.convert_tokens_to_ids(t) for t in tokens]


def test_chat_prompt_layout_two_frames(tokenizer):
    p = build_prompt(tokenizer, "describe the video", 2, pad_token_id=PAD)
    text = ids(tokenizer, "Question", ":", "describe", "the", "video", "Answer", ":")
    want = [1] + [PAD] * 66 + ids(tokenizer, "0") + [PAD] * 66 + ids(tokenizer, "1") + text
    assert p.input_ids == want
    assert p.token_type_ids == [0] + [1] * 66 + [0] + [1] * 66 + [0] + [0] * 7
    # bos 0 | boi 1, 64 patches 2, eoi 3, "0" 4 | boi 5, patches 6, eoi 7, "1" 8 | text 9..15
    want_pos = [0] + [1] + [2] * 64 + [3] + [4] + [5] + [6] * 64 + [7] + [8] + list(range(9, 16))
    assert p.position_ids == want_pos
    assert len(p.input_ids) == 1 + 2 * 67 + 7


def test_ordinals_are_plain_numbers_not_seconds(tokenizer):
    p = build_prompt(tokenizer, "what happens", 12, pad_token_id=PAD)
    ordinals = [t for t, k in zip(p.input_ids[1:], p.token_type_ids[1:]) if k == 0][:12]
    assert ordinals == ids(tokenizer, *[str(i) for i in range(12)])
    assert max(p.position_ids) == 12 * 4 + 6  # bos 0; 3 positions + 1 ordinal per frame; 6 text tokens


def test_text_only_prompt_counts_every_token(tokenizer):
    p = build_prompt(tokenizer, "what happens", 0, pad_token_id=PAD)
    assert p.input_ids == [1] + ids(tokenizer, "Question", ":", "what", "happens", "Answer", ":")
    assert p.position_ids == list(range(7))


def test_history_and_templates():
    assert prompt_text("q2", [("q1", "a1")]) == "Question: q1 Answer: a1\nQuestion: q2 Answer:"
    assert prompt_text("describe", template="chat") == "Question: describe Answer:"
    assert prompt_text("describe", template="base") == "describe"
    with pytest.raises(ValueError):
        prompt_text("x", template="vqa")


def test_position_walk_rules():
    # L V V V L: vision advances only right after language; boi/eoi count as language
    assert position_ids([0] + [1] * 66 + [0]) == [0, 1] + [2] * 64 + [3, 4]
    assert position_ids([0, 0, 0]) == [0, 1, 2]


def test_collate_left_pads_and_keeps_own_positions(tokenizer):
    a = build_prompt(tokenizer, "what happens", 1, pad_token_id=PAD)
    b = build_prompt(tokenizer, "what happens", 0, pad_token_id=PAD)
    batch = collate([a, b], PAD)
    n = len(a.input_ids)
    pad = n - len(b.input_ids)
    assert batch.input_ids.shape == (2, n)
    assert batch.attention_mask[1].tolist() == [False] * pad + [True] * len(b.input_ids)
    assert batch.input_ids[1, :pad].tolist() == [PAD] * pad
    assert batch.position_ids[1].tolist() == [0] * pad + list(range(len(b.input_ids)))
    assert batch.position_ids[0].tolist() == a.position_ids
    assert batch.token_type_ids[1].tolist() == [0] * n


def clip_norm(value: float, channel: int) -> float:
    return (value / 255.0 - CLIP_MEAN[channel]) / CLIP_STD[channel]


def test_preprocess_shape_and_constant_colour():
    frames = np.zeros((2, 100, 133, 3), dtype=np.uint8)
    frames[..., 0], frames[..., 1], frames[..., 2] = 200, 100, 0
    out = preprocess_frames(frames)
    assert out.shape == (2, 3, 224, 224) and out.dtype == torch.float32
    for c, v in enumerate((200, 100, 0)):
        torch.testing.assert_close(out[:, c], torch.full((2, 224, 224), clip_norm(v, c)), atol=1e-5, rtol=0)


def test_preprocess_resize_short_side_then_centre_crop():
    # 10x20 frame whose value grows with the column: short side 10 -> 224, long side floor(20/10*224) = 448,
    # crop columns 112..335. Output column 0 is source x = (112 + 0.5) * 20/448 - 0.5 = 4.5223…,
    # between columns 4 and 5 (bilinear, align_corners=False).
    cols = np.arange(20, dtype=np.uint8) * 10
    frame = np.broadcast_to(cols[None, :, None], (10, 20, 3)).copy()[None]
    out = preprocess_frames(frame)
    src = (112 + 0.5) * 20 / 448 - 0.5
    frac = src - math.floor(src)
    want = cols[4] * (1 - frac) + cols[5] * frac
    assert out[0, 0, 0, 0].item() == pytest.approx(clip_norm(want, 0), abs=1e-4)
    src_last = (335 + 0.5) * 20 / 448 - 0.5
    frac = src_last - math.floor(src_last)
    want_last = cols[math.floor(src_last)] * (1 - frac) + cols[math.floor(src_last) + 1] * frac
    assert out[0, 2, 5, 223].item() == pytest.approx(clip_norm(want_last, 2), abs=1e-4)
    # rows are constant
    torch.testing.assert_close(out[0, :, 0], out[0, :, 223])


def test_preprocess_portrait_crops_rows():
    rows = np.arange(20, dtype=np.uint8) * 10
    frame = np.broadcast_to(rows[:, None, None], (20, 10, 3)).copy()[None]
    out = preprocess_frames(frame)
    assert out.shape == (1, 3, 224, 224)
    src = (112 + 0.5) * 20 / 448 - 0.5
    frac = src - math.floor(src)
    want = rows[4] * (1 - frac) + rows[5] * frac
    assert out[0, 1, 0, 7].item() == pytest.approx(clip_norm(want, 1), abs=1e-4)


def test_preprocess_normalises_before_resizing():
    """Values are normalised floats before interpolation: no uint8 rounding or clamping in between."""
    frame = np.zeros((1, 2, 3, 3), dtype=np.uint8)
    frame[0, :, 1] = 255  # a bright middle column in a 2x3 frame -> 224x336, crop 56..279
    out = preprocess_frames(frame)
    x = torch.tensor([0.0, 255.0, 0.0]).view(1, 1, 1, 3).expand(1, 1, 2, 3)
    x = (x / 255 - CLIP_MEAN[0]) / CLIP_STD[0]
    want = torch.nn.functional.interpolate(x, size=(224, 336), mode="bilinear", align_corners=False)[..., 56:280]
    torch.testing.assert_close(out[:, :1], want, atol=1e-5, rtol=0)


def test_base_prompt_has_no_ordinals_and_one_vision_run(tokenizer):
    """Reference §3 for ``base``: all frames' 66 slots back to back, no ordinals; the position walk
    treats them as one contiguous run (boi = its first slot, eoi = its last)."""
    p = build_prompt(tokenizer, "describe", 3, template="base", pad_token_id=PAD)
    assert p.input_ids == [1] + [PAD] * 198 + ids(tokenizer, "describe")
    assert p.token_type_ids == [0] + [1] * 198 + [0]
    # bos 0 | first slot 1, the 196 slots between 2, last slot 3 | text 4
    assert p.position_ids == [0, 1] + [2] * 196 + [3, 4]
    assert position_ids([0] + [1] * 132 + [0]) == [0, 1] + [2] * 130 + [3, 4]


def test_base_frames_are_24_by_linspace_over_the_first_60_s():
    # 90 s at 25 fps: frames 0 .. 1499 (60 s), 24 of them evenly, truncated like numpy's int cast
    assert base_frame_indices(2250, 25.0) == [int(i * 1499 / 23) for i in range(24)]
    assert base_frame_indices(2250, 25.0)[-1] == 1499
    # 10 s at 30 fps: the whole clip, its last frame included
    got = base_frame_indices(300, 30.0)
    assert len(got) == 24 and got[0] == 0 and got[-1] == 299 and got == sorted(got)
    assert base_frame_indices(0, 25.0) == []
