"""Several questions over one clip share one vision pass and one prefill of their common prefix, and give
exactly the tokens that separate calls give (tiny random model, fp32, CPU, greedy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cogvlm_media.model.engine import Questions, Request, VideoChat
from cogvlm_media.model.inputs import build_prompt
from cogvlm_media.model.prefix_sharing import shared_length
from cogvlm_media.model.prompts import CAPTION_PROMPT, MOMENT_PROMPT


def clip(seed: int, n: int, h: int = 36, w: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def chat(tiny_model, tokenizer):
    return VideoChat(tiny_model, tokenizer, batch_size=8, max_new_tokens=12)


def test_two_questions_over_one_window_equal_two_separate_calls(chat):
    frames = clip(3, 4)
    shared = chat.answer_groups_tokens([Questions((CAPTION_PROMPT, MOMENT_PROMPT), frames)])[0]
    separate = [chat.answer_tokens([Request(q, frames)])[0] for q in (CAPTION_PROMPT, MOMENT_PROMPT)]
    assert shared == separate
    assert shared[0] != shared[1] and all(len(t) > 0 for t in shared)  # two questions, two answers


def test_the_shared_prefix_covers_the_frames_and_the_common_text(tokenizer):
    a = build_prompt(tokenizer, CAPTION_PROMPT, 3, pad_token_id=0)
    b = build_prompt(tokenizer, MOMENT_PROMPT, 3, pad_token_id=0)
    n = shared_length([a, b])
    frames_end = 1 + 3 * (66 + 1)  # bos, then per frame 66 slots and a one-token ordinal
    assert n == frames_end + 2  # ... and "Question", ":" (the texts part after them)
    assert a.input_ids[:n] == b.input_ids[:n] and a.input_ids[n] != b.input_ids[n]
    assert shared_length([a]) == len(a.input_ids) - 1  # a lone question keeps its last token to prefill


def test_batched_groups_of_different_lengths_equal_separate_calls(chat, tiny_model, tokenizer):
    items = [Questions((CAPTION_PROMPT, MOMENT_PROMPT), clip(1, 2)),
             Questions(("what happens", "where is the dog", "who is it"), clip(2, 5, 48, 32)),
             Questions(("what happens",), None, max_new_tokens=4),  # text only, a shorter limit
             Questions((MOMENT_PROMPT, CAPTION_PROMPT), clip(4, 3))]
    small = VideoChat(tiny_model, tokenizer, batch_size=4, max_new_tokens=12)  # more than one batch
    for c in (chat, small):
        got = c.answer_groups_tokens(items)
        want = [[chat.answer_tokens([Request(q, it.frames)], it.max_new_tokens)[0] for q in it.queries]
                for it in items]
        assert got == want
    assert len(got[2][0]) <= 4


def test_the_vision_tower_runs_once_per_clip(chat, monkeypatch):
    seen = []
    real = chat.model.encode_frames
    monkeypatch.setattr(chat.model, "encode_frames", lambda x, *a, **k: seen.append(len(x)) or real(x, *a, **k))
    chat.answer_groups_tokens([Questions((CAPTION_PROMPT, MOMENT_PROMPT), clip(5, 3)),
                               Questions((CAPTION_PROMPT, MOMENT_PROMPT), clip(6, 2))])
    assert sum(seen) == 5  # 3 + 2 frames, not twice each


def test_rows_rounded_up_to_a_multiple_give_the_same_tokens(tiny_model, tokenizer):
    """On CUDA the rows are rounded up (one static cache and graph for nearby sizes); the copies are dropped."""
    items = [Questions((CAPTION_PROMPT, MOMENT_PROMPT), clip(7, 2)), Questions(("what happens",), None)]
    plain = VideoChat(tiny_model, tokenizer, batch_size=8, max_new_tokens=8)
    rounded = VideoChat(tiny_model, tokenizer, batch_size=8, max_new_tokens=8)
    rounded.generator.row_multiple = 4
    shapes = []
    real = rounded.generator.start
    rounded.generator.start = lambda b, *a: shapes.append(b) or real(b, *a)
    assert rounded.answer_groups_tokens(items) == plain.answer_groups_tokens(items)
    assert shapes == [4]  # three questions, one copy
