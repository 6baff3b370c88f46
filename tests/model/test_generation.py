"""Batched greedy generation equals one-by-one generation, token for token (tiny random model, fp32, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cogvlm_media.model.engine import Request, VideoChat
from cogvlm_media.model.generation import Generator, generate_reference, prefill_mask
from cogvlm_media.model.inputs import build_prompt, collate, preprocess_frames


@pytest.fixture(scope="module")
def requests():
    rng = np.random.default_rng(1)

    def clip(n, h=36, w=64):
        return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)

    return [
        Request("describe the video in detail", clip(3)),
        Request("what happens", clip(1, 48, 32)),
        Request("what happens", None),  # text only
        Request("where is the dog", clip(5)),
        Request("describe the video", clip(2), history=(("what happens", "a dog runs"),)),
    ]


@pytest.fixture(scope="module")
def chat(tiny_model, tokenizer):
    return VideoChat(tiny_model, tokenizer, batch_size=8, max_new_tokens=10)


def test_batched_equals_one_by_one(chat, requests):
    batched = chat.answer_tokens(requests)
    alone = [chat.answer_tokens([r])[0] for r in requests]
    reference = [chat.answer_tokens([r], reference=True)[0] for r in requests]
    assert batched == alone == reference
    assert len({tuple(t) for t in batched}) > 2  # different inputs, different outputs
    assert all(len(t) <= 10 for t in batched)


def test_batches_of_two_and_reference_batch_agree(chat, requests, tiny_model, tokenizer):
    small = VideoChat(tiny_model, tokenizer, batch_size=2, max_new_tokens=10)
    assert small.answer_tokens(requests) == chat.answer_tokens(requests)
    # the DynamicCache path, batched with padding, also agrees
    prompts = [chat.prompt(r) for r in requests]
    batch = collate(prompts, 0)
    embeds = chat._vision(requests)
    assert generate_reference(tiny_model, batch, embeds, 10, chat.eos_ids) == chat.answer_tokens(requests)


def test_padded_row_logits_equal_alone(tiny_model, tokenizer, requests):
    """The prefill logits of a left-padded row equal those of the row run alone."""
    prompts = [build_prompt(tokenizer, r.query, 0 if r.frames is None else len(r.frames), r.history,
                            pad_token_id=0) for r in requests]
    pixels = torch.cat([preprocess_frames(r.frames) for r in requests if r.frames is not None])
    embeds = tiny_model.encode_frames(pixels)
    batch = collate(prompts, 0)
    with torch.no_grad():
        together = tiny_model(batch.input_ids, batch.token_type_ids, batch.position_ids,
                              prefill_mask(batch.attention_mask), embeds)
        offset = 0
        for row, p in enumerate(prompts):
            one = collate([p], 0)
            alone = tiny_model(one.input_ids, one.token_type_ids, one.position_ids,
                               prefill_mask(one.attention_mask), embeds[offset:offset + p.num_frames])
            offset += p.num_frames
            torch.testing.assert_close(together[row], alone[0], atol=1e-5, rtol=1e-5)
        # the check can fail: plain 0..S-1 positions instead of the reference walk change a video row
        shifted = tiny_model(batch.input_ids, batch.token_type_ids,
                             torch.arange(batch.input_ids.shape[1]).expand_as(batch.input_ids),
                             prefill_mask(batch.attention_mask), embeds)
    assert not torch.allclose(shifted[0], together[0], atol=1e-3)


def test_stops_at_eos_per_row(tiny_model, tokenizer, requests, chat):
    free = chat.answer_tokens(requests)
    # declare the second token of the first answer an eos: every row is cut at its own first occurrence
    stop = free[0][1]
    gen = VideoChat(tiny_model, tokenizer, batch_size=8, max_new_tokens=10)
    gen.eos_ids = [stop]
    gen.generator = Generator(tiny_model, [stop])
    got = gen.answer_tokens(requests)
    for before, after in zip(free, got):
        want = before[:before.index(stop)] if stop in before else before
        assert after == want
    assert got[0] == free[0][:free[0].index(stop)] and 0 < len(got[0]) < len(free[0])


def test_min_new_tokens_suppresses_eos(tiny_model, tokenizer, requests, chat):
    free = chat.answer_tokens(requests[:1])[0]
    gen = Generator(tiny_model, [free[0]])  # the very first token is now eos
    batch = collate([chat.prompt(requests[0])], 0)
    embeds = chat._vision(requests[:1])
    assert gen.generate(batch, embeds, 10) == [[]]
    forced = gen.generate(batch, embeds, 10, min_new_tokens=10)[0]
    assert len(forced) == 10 and free[0] not in forced


def test_text_answers_decode(chat, requests):
    texts = chat.answer(requests[:2])
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)
