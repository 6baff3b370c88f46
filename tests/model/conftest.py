"""Shared fixtures: the tiny tokenizer and tiny random CogVLM2-Video of modelkit.py, and its checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from modelkit import make_tokenizer, save_checkpoint


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
    return save_checkpoint(tiny_model, tmp_path_factory.mktemp("tiny-cogvlm2-video"))
