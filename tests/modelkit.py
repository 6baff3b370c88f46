"""A tiny word-level tokenizer and a tiny random CogVLM2-Video checkpoint, for the tests that need a model."""

from __future__ import annotations

from pathlib import Path

import torch

WORDS = (
    "Question Answer Please describe the video in detail . , : ? ! - [ ] ( ) a an at to from and then "
    "second seconds s frame person car dog walks runs red blue green scene door opens closes light "
    "what happens when where who is are was it this that of on with moment key list one per line event"
).split()
NUMBERS = [str(i) for i in range(100)]
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>"]


def make_tokenizer(folder: Path | None = None):
    """A WordLevel tokenizer: ids 0-3 special (pad, bos, eos, unk), then the words, then '0'..'99'."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(SPECIAL + WORDS + NUMBERS)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>")
    if folder is not None:
        fast.save_pretrained(str(folder))
    return fast


def tiny_model(vocab_size: int, seed: int = 0, **overrides):
    from cogvlm_media.model.config import tiny
    from cogvlm_media.model.language import CogVLMVideoForCausalLM
    from cogvlm_media.model.loading import init_random

    torch.manual_seed(seed)
    return init_random(CogVLMVideoForCausalLM(tiny(vocab_size=vocab_size, **overrides)), seed=seed, std=0.1).eval()


def save_checkpoint(model, folder: Path) -> Path:
    """The model as sharded safetensors + index, with the tokenizer's files."""
    from cogvlm_media.model.loading import save_model

    save_model(model, folder, max_shard_bytes=300_000)
    make_tokenizer(folder)
    return folder
