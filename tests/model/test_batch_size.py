"""The automatic batch size: a pure function of free GPU memory and the model's shape (given figures)."""

from __future__ import annotations

import pytest

from cogvlm_media.model.batch_size import (
    GIB,
    ModelFitError,
    auto_batch_size,
    check_weights_fit,
    parameter_count,
    row_bytes,
    weight_bytes,
    window_prompt_tokens,
)
from cogvlm_media.model.config import CogVLMVideoConfig

FULL = CogVLMVideoConfig()  # the published size
PROMPT = window_prompt_tokens(24, 40)  # 24 frames, a 40-token question


def test_parameter_count_matches_the_module_tree(tiny_model, tiny_config):
    assert parameter_count(tiny_config) == sum(p.numel() for p in tiny_model.parameters())


def test_full_size_figures():
    assert PROMPT == 1 + 24 * 67 + 40 == 1649
    # ~12.5 B parameters, ~25 GB in bf16 (the published figures)
    assert 12.3e9 < parameter_count(FULL) < 12.7e9
    assert 24.5 < weight_bytes(FULL, 2) / 1e9 < 25.5
    assert weight_bytes(FULL, 2, "4bit") < 0.4 * weight_bytes(FULL, 2)
    # the static cache of one row: 2 (k, v) x 32 layers x 8 heads x 128 x 2 bytes = 128 KiB per token
    length = 2048  # 1649 + 256 answer tokens, bucketed to 128
    assert row_bytes(FULL, 2, 24, length, 2) == 131072 * length + 2 * 128256 * 4 + 24 * 66 * 4096 * 2


# by hand, bf16, 24 frames, 1649 + 256 tokens -> 1920 columns:
#   per row = 1920 x 128 KiB (cache) + 2 x 128256 x 4 (logits) + 2 x 24 x 66 x 4096 x 2 / 2 (vision) = 265,660,416 B
#   fixed = prefill 4,050,263,568 + vision chunk 3,976,994,816 + one 1080p clip 1,343,692,800 + 1 GiB
#         = 10,444,693,008 B
#   40 GiB: (40 GiB x 0.92 - fixed) / per row = 109.4 -> 108 (whole windows); 12 GiB: 5.3 -> 4;
#   114 GiB: 384 -> the cap, 256
@pytest.mark.parametrize("free_gib, want", [(114, 256), (40, 108), (12, 4)])
def test_rows_from_free_memory(free_gib, want):
    rows = auto_batch_size(free_gib * GIB, FULL, 2, 24, PROMPT, 256)
    assert rows == want
    assert rows % 2 == 0  # whole windows: caption + key moments


def test_more_free_memory_never_gives_fewer_rows():
    sizes = [auto_batch_size(g * GIB, FULL, 2, 24, PROMPT, 256) for g in range(12, 120, 3)]
    assert sizes == sorted(sizes) and sizes[0] >= 2 and sizes[-1] == 256


def test_a_window_that_cannot_fit_is_one_clear_line():
    with pytest.raises(ModelFitError) as info:
        auto_batch_size(2 * GIB, FULL, 2, 24, PROMPT, 256)
    message = str(info.value)
    assert "\n" not in message and "2.0 GiB free" in message and "quantization" in message


def test_weights_that_cannot_fit_are_refused_before_loading():
    check_weights_fit(40 * GIB, FULL, 2)  # bf16 fits in 40 GiB
    with pytest.raises(ModelFitError, match=r"weights need 23\.\d GiB, 16\.0 GiB is free"):
        check_weights_fit(16 * GIB, FULL, 2)
    check_weights_fit(16 * GIB, FULL, 2, "4bit")  # 4-bit fits in 16 GiB


def test_the_chat_measures_its_own_prompt(tiny_model, tokenizer):
    from cogvlm_media.model.engine import VideoChat

    chat = VideoChat(tiny_model, tokenizer, max_new_tokens=16)
    small = chat.auto_batch_size(3 * GIB)
    assert small % 2 == 0 and 2 <= small <= 256
    assert chat.auto_batch_size(64 * GIB) == 256
