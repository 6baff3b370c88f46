"""``VideoChat``: questions about clips (or text alone) answered in batches by the native model.

Requests are sorted by prompt length so batches pad little, run ``batch_size`` at a time, and come
back in the caller's order. On CUDA the vision pass of the next batch runs on a side stream while the
current batch decodes (decode is memory-bound, vision compute-bound, so they overlap well).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from cogvlm_media.model.generation import Generator, generate_reference
from cogvlm_media.model.inputs import Prompt, build_prompt, collate, preprocess_frames
from cogvlm_media.model.language import CogVLMVideoForCausalLM

DEFAULT_QUESTION = "Please describe the video in detail."


def resolve_device(name: str = "auto") -> torch.device:
    if name in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """auto: bf16 on compute capability >= 8, fp16 on older GPUs, fp32 on CPU."""
    if name in ("", "auto"):
        if device.type != "cuda":
            return torch.float32
        major, _ = torch.cuda.get_device_capability(device)
        return torch.bfloat16 if major >= 8 else torch.float16
    known = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16,
             "fp32": torch.float32, "float32": torch.float32}
    if name not in known:
        raise ValueError(f"unknown dtype {name!r} (use auto, bf16, fp16 or fp32)")
    return known[name]


@dataclass(frozen=True)
class Request:
    query: str
    frames: np.ndarray | None = None  # uint8 (T, H, W, 3); None for a text-only question
    history: tuple[tuple[str, str], ...] = ()


class VideoChat:
    def __init__(self, model: CogVLMVideoForCausalLM, tokenizer, template: str = "chat", batch_size: int = 8,
                 max_new_tokens: int = 256, name: str = ""):
        self.model = model
        self.tokenizer = tokenizer
        self.template = template
        self.batch_size = max(1, batch_size)
        self.max_new_tokens = max_new_tokens
        self.name = name
        eos = set(model.config.eos_token_id)
        if tokenizer.eos_token_id is not None:
            eos.add(tokenizer.eos_token_id)
        self.eos_ids = sorted(eos)
        self.generator = Generator(model, self.eos_ids)

    @classmethod
    def from_pretrained(cls, path: str, revision: str = "", device: str = "auto", dtype: str = "auto",
                        quantization: str = "", fused: bool = True, adapter: str = "", adapter_merge: bool = True,
                        **kwargs) -> "VideoChat":
        """``fused``: compile the language model's element-wise work where Inductor can (a CUDA device
        with Triton; not with bitsandbytes weights): about 7 % more windows per second at batch 96.
        ``adapter``: a LoRA adapter folder, merged into the weights unless ``adapter_merge`` is off; the
        chat's name (stored as the analyser's model version) then names the adapter and its hash."""
        from cogvlm_media.model.fused import fuse_language
        from cogvlm_media.model.loading import load_model, load_tokenizer, resolve_checkpoint

        folder = resolve_checkpoint(path, revision)
        dev = resolve_device(device)
        model = load_model(folder, dev, resolve_dtype(dtype, dev), quantization)
        name = path + (f"@{revision}" if revision else "")
        quantized = quantization in ("4bit", "8bit")
        if adapter:
            from cogvlm_media.model.adapter import AdapterError, adapter_info, apply_adapter
            from cogvlm_media.model.loading import ModelLoadError

            try:
                model = apply_adapter(model, adapter, adapter_merge, quantized)
                name += f"+lora:{adapter_info(adapter).label}"
            except AdapterError as exc:
                raise ModelLoadError(str(exc)) from None
        if fused and not quantized and (not adapter or adapter_merge):
            fuse_language(model)
        return cls(model, load_tokenizer(folder), name=name, **kwargs)

    @classmethod
    def from_settings(cls, model_settings) -> "VideoChat":
        ms = model_settings
        return cls.from_pretrained(ms.path, ms.revision, ms.device, ms.dtype, ms.quantization, ms.fused,
                                   ms.adapter, ms.adapter_merge, batch_size=ms.batch_size,
                                   max_new_tokens=ms.max_new_tokens)

    def prompt(self, request: Request) -> Prompt:
        frames = 0 if request.frames is None else len(request.frames)
        return build_prompt(self.tokenizer, request.query or DEFAULT_QUESTION, frames, request.history,
                            self.template, self.model.config.pad_token_id)

    def _vision(self, requests: Sequence[Request]) -> torch.Tensor | None:
        clips = [r.frames for r in requests if r.frames is not None and len(r.frames)]
        if not clips:
            return None
        pixels = torch.cat([preprocess_frames(c, device=self.model.device) for c in clips])
        return self.model.encode_frames(pixels)

    def answer_tokens(self, requests: Sequence[Request], max_new_tokens: int | None = None,
                      min_new_tokens: int = 0, progress: Callable[[int, int], None] | None = None,
                      reference: bool = False) -> list[list[int]]:
        """Generated token ids per request (eos excluded), in the caller's order."""
        limit = max_new_tokens or self.max_new_tokens
        prompts = [self.prompt(r) for r in requests]
        order = sorted(range(len(requests)), key=lambda i: len(prompts[i].input_ids))
        size = 1 if reference else self.batch_size
        chunks = [order[i:i + size] for i in range(0, len(order), size)]
        results: list[list[int] | None] = [None] * len(requests)
        cuda = self.model.device.type == "cuda" and not reference
        # decode (memory-bound) gets the SMs first; vision (compute-bound) of the next batch fills the rest
        side = torch.cuda.Stream(priority=0) if cuda else None
        main = torch.cuda.Stream(priority=-1) if cuda else None
        if main is not None:
            main.wait_stream(torch.cuda.current_stream())
        pending: dict[int, tuple] = {}

        def launch(k: int) -> None:
            if k >= len(chunks):
                return
            reqs = [requests[i] for i in chunks[k]]
            if side is None:
                pending[k] = (self._vision(reqs), None)
                return
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                embeds = self._vision(reqs)
                done = torch.cuda.Event()
                done.record(side)
            pending[k] = (embeds, done)

        with torch.no_grad(), (torch.cuda.stream(main) if main is not None else nullcontext()):
            launch(0)
            for k, chunk in enumerate(chunks):
                embeds, event = pending.pop(k)
                if event is not None:
                    torch.cuda.current_stream().wait_event(event)
                    if embeds is not None:
                        embeds.record_stream(torch.cuda.current_stream())
                batch = collate([prompts[i] for i in chunk], self.model.config.pad_token_id)
                if reference:
                    launch(k + 1)
                    tokens = generate_reference(self.model, batch, embeds, limit, self.eos_ids, min_new_tokens)
                else:
                    tokens = self.generator.generate(batch, embeds, limit, min_new_tokens,
                                                     after_prefill=lambda k=k: launch(k + 1))
                for i, t in zip(chunk, tokens):
                    results[i] = t
                if progress:
                    progress(sum(r is not None for r in results), len(requests))
        if main is not None:
            torch.cuda.current_stream().wait_stream(main)
        return [r or [] for r in results]

    def answer(self, requests: Sequence[Request], max_new_tokens: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> list[str]:
        tokens = self.answer_tokens(requests, max_new_tokens, progress=progress)
        return [self.tokenizer.decode(t, skip_special_tokens=True).strip() for t in tokens]
