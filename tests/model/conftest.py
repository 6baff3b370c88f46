"""Shared fixtures: a tiny word-level tokenizer built here and a tiny random CogVLM2-Video saved as a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
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


@pytest.fixture(scope="session")
def tokenizer():
    return make_tokenizer()


@pytest.fixture(scope="session")
def tiny_config(tokenizer):
    from cogvlm_media.model.config import tiny

    return tiny(vocab_size=len(tokenizer))


@pytest.fixture(scope="session")
def tiny_model(tiny_config):
    from cogvlm_media.model.language import CogVLMVideoForCausalLM
    from cogvlm_media.model.loading import init_random

    torch.manual_seed(0)
    return init_random(CogVLMVideoForCausalLM(tiny_config), seed=0, std=0.1).eval()


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory, tiny_model) -> Path:
    """The tiny model saved as sharded safetensors + index, with its tokenizer files."""
    from cogvlm_media.model.loading import save_model

    folder = tmp_path_factory.mktemp("tiny-cogvlm2-video")
    save_model(tiny_model, folder, max_shard_bytes=300_000)
    make_tokenizer(folder)
    return folder
