"""How many sequences fit on the GPU at once: a pure function of free bytes and the model's shape.

Per sequence (row) the static cache holds keys and values for every layer over the bucketed length
(prompt + answer), the decode step keeps float32 logits, and the window's vision embeddings wait for
two batches (the next batch's vision pass overlaps this one's decode). Fixed working memory: the
prefill of ``prefill_rows`` rows (hidden states, MLP intermediates, the repeated grouped keys/values,
the padding mask), one vision chunk of up to 256 frames, one clip's frames being preprocessed at full
size, and a reserve for the allocator and CUDA graphs. ``ModelFitError`` says in one line what does
not fit.
"""

from __future__ import annotations

import math

from cogvlm_media.model.config import VISION_SLOTS, CogVLMVideoConfig
from cogvlm_media.model.loading import ModelLoadError

GIB = 1 << 30
DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp32": 4, "bfloat16": 2, "float16": 2, "float32": 4}
QUANT_BYTES = {"": None, "fp8": None, "8bit": 1.0, "4bit": 0.5 + 1 / 32}  # per linear weight (with scales)


class ModelFitError(ModelLoadError):
    """The model, or one window's worth of work, does not fit in the GPU memory that is free."""


def _linears_language(c: CogVLMVideoConfig) -> int:
    h, i = c.hidden_size, c.intermediate_size
    return c.num_hidden_layers * (h * c.qkv_size + h * c.num_attention_heads * c.head_dim + 3 * h * i)


def _linears_vision(c: CogVLMVideoConfig) -> int:
    v, h, i = c.vision.hidden_size, c.hidden_size, c.intermediate_size
    layer = v * 3 * v + v * v + 2 * v * c.vision.intermediate_size
    return c.vision.num_hidden_layers * layer + v * h + 3 * h * i


def parameter_count(c: CogVLMVideoConfig) -> int:
    """Every parameter of the model (matches the module tree: tests compare it with the tiny model)."""
    h, v, vc = c.hidden_size, c.vision.hidden_size, c.vision
    language = 2 * c.vocab_size * h + _linears_language(c) + c.num_hidden_layers * 2 * h + h
    patches = vc.in_channels * vc.patch_size ** 2 * v + v + v + vc.num_positions * v
    layer_bias_norm = 3 * v + v + vc.intermediate_size + v + 4 * v
    vision = patches + _linears_vision(c) + vc.num_hidden_layers * layer_bias_norm + 2 * h \
        + v * v * 4 + v + 2 * h
    return language + vision


def weight_bytes(c: CogVLMVideoConfig, dtype_bytes: int, quantization: str = "") -> int:
    """Bytes of the loaded weights; bitsandbytes keeps ``lm_head`` and everything but linears in dtype."""
    per = QUANT_BYTES.get(quantization)
    if per is None:
        return parameter_count(c) * dtype_bytes
    linears = _linears_language(c) + _linears_vision(c)
    return int(linears * per + (parameter_count(c) - linears) * dtype_bytes)


def window_prompt_tokens(frames: int, text_tokens: int, ordinal_tokens: int = 1) -> int:
    """bos + per frame its vision slots and ordinal + the question's text."""
    return 1 + frames * (VISION_SLOTS + ordinal_tokens) + text_tokens


def row_bytes(c: CogVLMVideoConfig, dtype_bytes: int, frames: int, length: int, questions: int) -> int:
    kv = 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * dtype_bytes * length
    logits = 2 * c.vocab_size * 4
    vision = 2 * frames * VISION_SLOTS * c.hidden_size * dtype_bytes // max(1, questions)
    return kv + logits + vision


def fixed_bytes(c: CogVLMVideoConfig, dtype_bytes: int, prompt_tokens: int, prefill_rows: int = 16,
                frame_pixels: int = 1920 * 1080, frames: int = 24, reserve: int = GIB) -> int:
    h, i, s = c.hidden_size, c.intermediate_size, prompt_tokens
    prefill = prefill_rows * s * (6 * h + 3 * i + 2 * c.num_attention_heads * c.head_dim) * dtype_bytes \
        + prefill_rows * s * s + prefill_rows * c.vocab_size * 4
    vc = c.vision
    chunk = 256 * (vc.num_positions * (6 * vc.hidden_size + vc.intermediate_size) * dtype_bytes
                   + vc.num_heads * vc.num_positions ** 2 * dtype_bytes)
    preprocess = frames * frame_pixels * 3 * (1 + 4 * 2)
    return prefill + chunk + preprocess + reserve


def auto_batch_size(free_bytes: int, config: CogVLMVideoConfig, dtype_bytes: int, frames_per_window: int,
                    prompt_tokens: int, answer_tokens: int, questions: int = 2, prefill_rows: int = 16,
                    bucket: int = 128, max_rows: int = 256, headroom: float = 0.92) -> int:
    """Rows (questions) per batch for ``free_bytes`` of GPU memory free after the weights are loaded:
    a multiple of ``questions`` (whole windows), at most ``max_rows``."""
    length = math.ceil((prompt_tokens + answer_tokens) / bucket) * bucket
    per_row = row_bytes(config, dtype_bytes, frames_per_window, length, questions)
    fixed = fixed_bytes(config, dtype_bytes, prompt_tokens, prefill_rows, frames=frames_per_window)
    rows = int((free_bytes * headroom - fixed) // per_row)
    rows = min(rows, max_rows) // questions * questions
    if rows < questions:
        need = fixed + questions * per_row
        raise ModelFitError(
            f"one window does not fit on the GPU: {free_bytes / GIB:.1f} GiB free after loading the model, "
            f"{need / headroom / GIB:.1f} GiB needed for {questions} questions of {length} tokens "
            f"(try [model] quantization = \"4bit\", a shorter [analysis] window_seconds or max_new_tokens)")
    return rows


def check_weights_fit(free_bytes: int, config: CogVLMVideoConfig, dtype_bytes: int, quantization: str = "") -> None:
    """Raise ModelFitError before loading when the weights alone exceed the free GPU memory."""
    need = weight_bytes(config, dtype_bytes, quantization)
    if need > free_bytes * 0.95:
        raise ModelFitError(
            f"the model does not fit on the GPU: its weights need {need / GIB:.1f} GiB"
            f"{' (' + quantization + ')' if quantization else ''}, {free_bytes / GIB:.1f} GiB is free "
            f"(try [model] quantization = \"4bit\" or free the GPU)")
