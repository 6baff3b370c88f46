"""``VideoChat``: questions about clips (or text alone) answered in batches by the native model.

Requests are sorted by prompt length so batches pad little, run ``batch_size`` at a time, and come
back in the caller's order. On CUDA the vision pass of the next batch runs on a side stream while the
current batch decodes (decode is memory-bound, vision compute-bound, so they overlap well).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cogvlm_media.model.generation import Generator, generate_reference
from cogvlm_media.model.gpu_memory import process_fraction
from cogvlm_media.model.inputs import Prompt, build_prompt, collate, is_preprocessed, preprocess_frames
from cogvlm_media.model.language import CogVLMVideoForCausalLM
from cogvlm_media.model.prefix_sharing import generate_shared

DEFAULT_QUESTION = "Please describe the video in detail."


def resolve_device(name: str = "auto") -> torch.device:
    if name in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def free_gpu_bytes(device: torch.device) -> int:
    """Bytes this process can still allocate on ``device``: the device's free memory plus what PyTorch holds
    unused, within the process's cap when one is set (``torch.cuda.set_per_process_memory_fraction``)."""
    device, fraction = process_fraction(device)
    free, total = torch.cuda.mem_get_info(device)
    allocated, reserved = torch.cuda.memory_allocated(device), torch.cuda.memory_reserved(device)
    usable = free + reserved - allocated
    if fraction < 1.0:
        usable = min(usable, int(fraction * total) - allocated)
    return max(0, int(usable))


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


@dataclass(frozen=True)
class Questions:
    """Several questions about one clip (``frames`` None: text only), answered over one vision pass and
    one prefill of their common prompt prefix."""

    queries: tuple[str, ...]
    # uint8 (T, H, W, 3), numpy or torch (a CUDA tensor stays on the GPU), or already preprocessed
    # (float (T, 3, 224, 224), ``inputs.preprocess_on_host``)
    frames: Any = None
    max_new_tokens: int | None = None


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
        torch_dtype = resolve_dtype(dtype, dev)
        if dev.type == "cuda":
            from cogvlm_media.model.batch_size import check_weights_fit
            from cogvlm_media.model.config import CogVLMVideoConfig

            check_weights_fit(free_gpu_bytes(dev), CogVLMVideoConfig.from_pretrained(folder),
                              torch_dtype.itemsize, quantization)
        model = load_model(folder, dev, torch_dtype, quantization)
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
        """``[model] batch_size`` 0: from the GPU memory free once the weights are loaded (8 on the CPU)."""
        ms = model_settings
        chat = cls.from_pretrained(ms.path, ms.revision, ms.device, ms.dtype, ms.quantization, ms.fused,
                                   ms.adapter, ms.adapter_merge, batch_size=ms.batch_size or 8,
                                   max_new_tokens=ms.max_new_tokens)
        if not ms.batch_size and chat.model.device.type == "cuda":
            chat.batch_size = chat.auto_batch_size(free_gpu_bytes(chat.model.device))
        return chat

    def auto_batch_size(self, free_bytes: int, frames: int = 24) -> int:
        """Rows per batch for windows of ``frames`` frames asked the analyser's questions (``batch_size``)."""
        from cogvlm_media.model.batch_size import auto_batch_size
        from cogvlm_media.model.prompts import WINDOW_PROMPTS

        prompt = max(len(self.group_prompts(Questions((q,), np.zeros((frames, 1, 1, 3), np.uint8)))[0].input_ids)
                     for q in WINDOW_PROMPTS)
        return auto_batch_size(free_bytes, self.model.config, self.model.dtype.itemsize, frames, prompt,
                               self.max_new_tokens, questions=len(WINDOW_PROMPTS),
                               prefill_rows=self.generator.prefill_rows, bucket=self.generator.bucket)

    def prompt(self, request: Request) -> Prompt:
        frames = 0 if request.frames is None else len(request.frames)
        return build_prompt(self.tokenizer, request.query or DEFAULT_QUESTION, frames, request.history,
                            self.template, self.model.config.pad_token_id)

    def _vision(self, requests: Sequence[Request]) -> torch.Tensor | None:
        clips = [r.frames for r in requests if r.frames is not None and len(r.frames)]
        if not clips:
            return None
        dev = self.model.device
        pixels = torch.cat([c.to(dev, non_blocking=True) if is_preprocessed(c) else preprocess_frames(c, device=dev)
                            for c in clips])
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

        def run(k: int, embeds, after_prefill) -> None:
            batch = collate([prompts[i] for i in chunks[k]], self.model.config.pad_token_id)
            if reference:
                after_prefill()
                tokens = generate_reference(self.model, batch, embeds, limit, self.eos_ids, min_new_tokens)
            else:
                tokens = self.generator.generate(batch, embeds, limit, min_new_tokens, after_prefill=after_prefill)
            for i, t in zip(chunks[k], tokens):
                results[i] = t
            if progress:
                progress(sum(r is not None for r in results), len(requests))

        self._overlapped(len(chunks), lambda k: self._vision([requests[i] for i in chunks[k]]), run,
                         streams=not reference)
        return [r or [] for r in results]

    def _overlapped(self, count: int, vision: Callable, run: Callable, streams: bool = True) -> None:
        """``run(k, embeds, after_prefill)`` for batches 0..count-1; on CUDA the vision pass of batch k+1
        (``vision(k + 1)``) is launched on a side stream once batch k's prefill is queued."""
        cuda = self.model.device.type == "cuda" and streams
        # decode (memory-bound) gets the SMs first; vision (compute-bound) of the next batch fills the rest
        side = torch.cuda.Stream(priority=0) if cuda else None
        main = torch.cuda.Stream(priority=-1) if cuda else None
        if main is not None:
            main.wait_stream(torch.cuda.current_stream())
        pending: dict[int, tuple] = {}

        def launch(k: int) -> None:
            if k >= count or k in pending:
                return
            if side is None:
                pending[k] = (vision(k), None)
                return
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                embeds = vision(k)
                done = torch.cuda.Event()
                done.record(side)
            pending[k] = (embeds, done)

        with torch.no_grad(), (torch.cuda.stream(main) if main is not None else nullcontext()):
            launch(0)
            for k in range(count):
                embeds, event = pending.pop(k)
                if event is not None:
                    torch.cuda.current_stream().wait_event(event)
                    if embeds is not None:
                        embeds.record_stream(torch.cuda.current_stream())
                run(k, embeds, lambda k=k: launch(k + 1))
        if main is not None:
            torch.cuda.current_stream().wait_stream(main)

    def group_prompts(self, item: Questions) -> list[Prompt]:
        frames = 0 if item.frames is None else len(item.frames)
        return [build_prompt(self.tokenizer, q or DEFAULT_QUESTION, frames, (), self.template,
                             self.model.config.pad_token_id) for q in item.queries]

    def answer_groups_tokens(self, items: Sequence[Questions], max_new_tokens: int | None = None,
                             min_new_tokens: int = 0) -> list[list[list[int]]]:
        """Token ids per item and question: each clip's frames go through the vision tower once and its
        questions' common prefix is prefilled once. Batches hold at most ``batch_size`` questions (rows);
        an item's own ``max_new_tokens`` (else the call's, else the chat's) caps its answers."""
        limits = [it.max_new_tokens or max_new_tokens or self.max_new_tokens for it in items]
        groups = [self.group_prompts(it) for it in items]
        order = sorted(range(len(items)), key=lambda i: max(len(p.input_ids) for p in groups[i]))
        chunks: list[list[int]] = []
        for i in order:
            if chunks and sum(len(groups[j]) for j in chunks[-1]) + len(groups[i]) <= self.batch_size:
                chunks[-1].append(i)
            else:
                chunks.append([i])
        results: list[list[list[int]]] = [[] for _ in items]

        def run(k: int, embeds, after_prefill) -> None:
            limit = max(limits[i] for i in chunks[k])
            tokens = generate_shared(self.generator, [groups[i] for i in chunks[k]], embeds, limit,
                                     min_new_tokens, after_prefill)
            for i, t in zip(chunks[k], tokens):
                results[i] = [row[:limits[i]] for row in t]

        def vision(k: int):
            return self._vision([Request("", items[i].frames) for i in chunks[k]])

        self._overlapped(len(chunks), vision, run)
        return results

    def answer_groups(self, items: Sequence[Questions], max_new_tokens: int | None = None) -> list[list[str]]:
        """Answers per item and question (see ``answer_groups_tokens``)."""
        return [[self.decode(t) for t in rows] for rows in self.answer_groups_tokens(items, max_new_tokens)]

    def answer_stream(self, items: Iterable[Questions], max_new_tokens: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> list[list[str]]:
        """``answer_groups`` over an iterable read a few batches at a time (frames decoded lazily stay
        bounded); ``progress(done_items, done_items)`` after each part."""
        out: list[list[str]] = []
        part: list[Questions] = []
        for item in items:
            part.append(item)
            if sum(len(p.queries) for p in part) >= 4 * self.batch_size:
                out += self.answer_groups(part, max_new_tokens)
                part = []
                if progress:
                    progress(len(out), len(out))
        if part:
            out += self.answer_groups(part, max_new_tokens)
        if progress and part:
            progress(len(out), len(out))
        return out

    def decode(self, tokens: Sequence[int]) -> str:
        return self.tokenizer.decode(list(tokens), skip_special_tokens=True).strip()

    def answer(self, requests: Sequence[Request], max_new_tokens: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> list[str]:
        tokens = self.answer_tokens(requests, max_new_tokens, progress=progress)
        return [self.decode(t) for t in tokens]
