"""Greedy generation over a left-padded batch, each row computing exactly what it would alone.

Two paths share the model code:

- ``generate_reference``: transformers' ``DynamicCache``, eager steps (the reference's flow; used at
  batch 1 as the benchmark baseline and in tests as the cross-check).
- ``Generator.generate``: a preallocated ``StaticKV`` cache, prefill in row chunks (bounded activation
  memory), and a fixed-shape decode step that is captured once as a CUDA graph per (batch, length)
  bucket on GPU and run eagerly on CPU.

Per row: positions continue from that row's own largest prompt position (+1 per new token, every new
token is LANGUAGE); padding columns stay masked; a row stops at its first eos (later tokens dropped).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cogvlm_media.model.inputs import Batch
from cogvlm_media.model.language import CogVLMVideoForCausalLM


def prefill_mask(attention_mask: torch.Tensor) -> torch.Tensor | None:
    """(B, S) padding mask -> (B, 1, S, S) causal mask; a padding query sees only itself (no empty rows).

    None when nothing is padded (the attention is then plain causal, on the fastest kernels)."""
    if bool(attention_mask.all()):
        return None
    s = attention_mask.shape[1]
    causal = torch.ones(s, s, dtype=torch.bool, device=attention_mask.device).tril()
    eye = torch.eye(s, dtype=torch.bool, device=attention_mask.device)
    return causal & (attention_mask[:, None, None, :] | eye)


def split_vision(vision_embeds: torch.Tensor | None, num_frames: Sequence[int], start: int, stop: int):
    if vision_embeds is None:
        return None
    offsets = [0]
    for n in num_frames:
        offsets.append(offsets[-1] + n)
    return vision_embeds[offsets[start]:offsets[stop]]


def trim(tokens: Sequence[int], eos_ids: Sequence[int]) -> list[int]:
    out = []
    for t in tokens:
        if t in eos_ids:
            break
        out.append(int(t))
    return out


@torch.no_grad()
def generate_reference(model: CogVLMVideoForCausalLM, batch: Batch, vision_embeds: torch.Tensor | None,
                       max_new_tokens: int, eos_ids: Sequence[int], min_new_tokens: int = 0) -> list[list[int]]:
    """Eager greedy decoding with transformers' DynamicCache (the growing cache of plain ``generate``)."""
    from transformers import DynamicCache

    batch = batch.to(model.device)
    cache = DynamicCache()
    eos = torch.tensor(list(eos_ids), device=model.device)
    logits = model(batch.input_ids, batch.token_type_ids, batch.position_ids, prefill_mask(batch.attention_mask),
                   vision_embeds, cache)
    kv_mask = batch.attention_mask
    positions = batch.position_ids.max(dim=1, keepdim=True).values
    out, done = [], torch.zeros(len(batch.num_frames), dtype=torch.bool, device=model.device)
    for step in range(max_new_tokens):
        if step < min_new_tokens:
            logits[:, eos] = float("-inf")
        token = logits.argmax(-1)
        out.append(token)
        done |= torch.isin(token, eos)
        if step == max_new_tokens - 1 or bool(done.all()):
            break
        positions = positions + 1
        kv_mask = torch.cat([kv_mask, torch.ones_like(kv_mask[:, :1])], dim=1)
        logits = model(token[:, None], torch.zeros_like(token[:, None]), positions, kv_mask[:, None, None, :],
                       None, cache)
    rows = torch.stack(out, dim=1).tolist()
    return [trim(r, eos_ids) for r in rows]


class StaticKV:
    """Preallocated keys/values ``(layers, B, kv_heads, L, head_dim)``.

    While ``prefilling``, rows ``rows`` are written at columns offset..offset+S-1 and attend to columns
    0..offset+S-1 (with offset 0: the fresh keys/values directly); afterwards one column (``position``) is written per step and the whole
    length is attended to under the caller's mask.
    """

    def __init__(self, layers: int, batch: int, kv_heads: int, length: int, head_dim: int,
                 dtype: torch.dtype, device: torch.device):
        shape = (layers, batch, kv_heads, length, head_dim)
        self.keys = torch.zeros(shape, dtype=dtype, device=device)
        self.values = torch.zeros(shape, dtype=dtype, device=device)
        self.position = torch.zeros(1, dtype=torch.long, device=device)
        self.rows = slice(None)
        self.prefilling = False
        self.offset = 0  # prefill columns start here; > 0 extends a prefix already in the cache

    def update(self, key: torch.Tensor, value: torch.Tensor, layer_idx: int):
        if self.prefilling:
            s, o = key.shape[2], self.offset
            self.keys[layer_idx, self.rows, :, o:o + s] = key
            self.values[layer_idx, self.rows, :, o:o + s] = value
            if o == 0:
                return key, value
            return self.keys[layer_idx, self.rows, :, :o + s], self.values[layer_idx, self.rows, :, :o + s]
        self.keys[layer_idx].index_copy_(2, self.position, key)
        self.values[layer_idx].index_copy_(2, self.position, value)
        return self.keys[layer_idx], self.values[layer_idx]


@dataclass
class _DecodeState:
    cache: StaticKV
    tokens: torch.Tensor  # (B, 1) input of the next step
    positions: torch.Tensor  # (B, 1)
    kv_mask: torch.Tensor  # (B, L) bool
    eos_bias: torch.Tensor  # (V,) float: -inf on eos while min_new_tokens is not reached
    next_token: torch.Tensor  # (B,) output of the step
    graph: object = None


class Generator:
    """Batched greedy decoding with a static cache; decode steps replayed as CUDA graphs on GPU."""

    def __init__(self, model: CogVLMVideoForCausalLM, eos_ids: Sequence[int], cuda_graphs: bool | None = None,
                 prefill_rows: int = 16, bucket: int = 128):
        self.model = model
        self.eos_ids = [int(e) for e in eos_ids]
        self.cuda_graphs = model.device.type == "cuda" if cuda_graphs is None else cuda_graphs
        self.prefill_rows = prefill_rows
        self.bucket = bucket
        # shared-prefix batches round their rows up to this (one graph serves nearby batch sizes)
        self.row_multiple = 16 if self.cuda_graphs else 1
        self._states: dict[tuple[int, int], _DecodeState] = {}

    def _state(self, b: int, length: int) -> _DecodeState:
        key = (b, length)
        if key not in self._states:
            self._states.clear()  # one shape at a time: caches are large
            cfg, dev = self.model.config, self.model.device
            st = _DecodeState(
                cache=StaticKV(cfg.num_hidden_layers, b, cfg.num_key_value_heads, length, cfg.head_dim,
                               self.model.dtype, dev),
                tokens=torch.zeros((b, 1), dtype=torch.long, device=dev),
                positions=torch.zeros((b, 1), dtype=torch.long, device=dev),
                kv_mask=torch.zeros((b, length), dtype=torch.bool, device=dev),
                eos_bias=torch.zeros(cfg.vocab_size, dtype=torch.float32, device=dev),
                next_token=torch.zeros(b, dtype=torch.long, device=dev),
            )
            if self.cuda_graphs:
                st.graph = self._capture(st)
            self._states[key] = st
        return self._states[key]

    def _step(self, st: _DecodeState) -> None:
        """One decode step on static buffers; advances positions and the cache column in place."""
        m = self.model
        st.kv_mask.index_fill_(1, st.cache.position, True)
        embeds = m.model.embed_tokens(st.tokens)
        hidden = m.model(embeds, st.positions, st.kv_mask[:, None, None, :], st.cache)
        logits = m.lm_head(hidden[:, -1]).float() + st.eos_bias
        st.next_token.copy_(logits.argmax(-1))
        st.tokens.copy_(st.next_token[:, None])
        st.positions.add_(1)
        st.cache.position.add_(1)

    def _capture(self, st: _DecodeState):
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):  # warm-up (allocations, kernel selection) on dummy values
                self._step(st)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread_local: decoder threads (NVDEC, speech) keep making CUDA calls on their own streams while a
        # new batch shape is captured; the default "global" mode makes those calls fail the capture
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            self._step(st)
        return graph

    @torch.no_grad()
    def generate(self, batch: Batch, vision_embeds: torch.Tensor | None, max_new_tokens: int,
                 min_new_tokens: int = 0, check_every: int = 8, after_prefill=None) -> list[list[int]]:
        """Greedy tokens per row (eos excluded). ``after_prefill()`` is called once the prefill is queued
        (the caller starts the next batch's vision pass there, to overlap it with this batch's decode)."""
        m = self.model
        batch = batch.to(m.device)
        b, s = batch.input_ids.shape
        st = self.start(b, s, max_new_tokens, min_new_tokens)
        st.kv_mask[:, :s] = batch.attention_mask

        cache = st.cache
        cache.prefilling = True
        for start in range(0, b, self.prefill_rows):
            stop = min(b, start + self.prefill_rows)
            rows = batch.rows(start, stop)
            cache.rows = slice(start, stop)
            logits = m(rows.input_ids, rows.token_type_ids, rows.position_ids, prefill_mask(rows.attention_mask),
                       split_vision(vision_embeds, batch.num_frames, start, stop), cache)
            st.tokens[start:stop, 0] = (logits + st.eos_bias).argmax(-1)
        cache.prefilling, cache.rows = False, slice(None)
        cache.position.fill_(s)
        st.positions.copy_(batch.position_ids.max(dim=1, keepdim=True).values + 1)
        if after_prefill is not None:
            after_prefill()
        return self.decode(st, max_new_tokens, min_new_tokens, check_every)

    def start(self, b: int, prompt_length: int, max_new_tokens: int, min_new_tokens: int = 0) -> _DecodeState:
        """The static state for ``b`` rows of ``prompt_length`` columns (mask cleared, eos bias set)."""
        length = math.ceil((prompt_length + max_new_tokens) / self.bucket) * self.bucket
        st = self._state(b, length)
        st.kv_mask.zero_()
        st.eos_bias.zero_()
        if min_new_tokens > 0:
            st.eos_bias[self.eos_ids] = float("-inf")
        return st

    def decode(self, st: _DecodeState, max_new_tokens: int, min_new_tokens: int = 0,
               check_every: int = 8) -> list[list[int]]:
        """Greedy steps from a prefilled state (``st.tokens`` holds each row's first new token)."""
        m = self.model
        b = st.tokens.shape[0]
        eos = torch.tensor(self.eos_ids, device=m.device)
        out = torch.empty((b, max_new_tokens), dtype=torch.long, device=m.device)
        out[:, 0] = st.tokens[:, 0]
        done = torch.isin(out[:, 0], eos)
        steps = 1
        for step in range(1, max_new_tokens):
            if step == min_new_tokens:
                st.eos_bias.zero_()
            if step % check_every == 0 and step >= min_new_tokens and bool(done.all()):
                break
            if st.graph is not None:
                st.graph.replay()
            else:
                self._step(st)
            out[:, step] = st.next_token
            done |= torch.isin(st.next_token, eos)
            steps = step + 1
        rows = out[:, :steps].tolist()
        return [trim(r, self.eos_ids) for r in rows]
