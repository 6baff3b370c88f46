"""Several questions over one clip: one vision pass, the common prompt prefix prefilled once.

A *group* is the full prompts of the questions asked about one clip (same frames). Their common prefix
(bos, every frame's 66 vision slots and ordinal, the common start of the text) is prefilled once per
group into the static cache; its keys and values are copied to the rows of the group's other
questions; then each question's own suffix is prefilled on top (attending to the prefix columns) and
all rows decode together. Each row computes what its full prompt computes alone: same tokens, same
positions (taken from the full prompt's walk), same causal visibility; padding is masked.

Cache layout per row: ``[pad | prefix of its group][pad | own suffix][new tokens]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cogvlm_media.model.config import LANGUAGE_TOKEN
from cogvlm_media.model.generation import Generator, prefill_mask, split_vision
from cogvlm_media.model.inputs import Prompt, position_ids


def shared_length(prompts: Sequence[Prompt]) -> int:
    """Length of the prefix the prompts share (ids and types), leaving every prompt at least one token."""
    first = prompts[0]
    n = min(len(p.input_ids) for p in prompts) - 1
    for k in range(max(n, 0)):
        if any(p.input_ids[k] != first.input_ids[k] or p.token_type_ids[k] != first.token_type_ids[k]
               for p in prompts[1:]):
            return k
    return max(n, 0)


@dataclass
class _Layout:
    prefix: dict[str, torch.Tensor]  # (W, Lp) ids / types / mask / positions
    suffix: dict[str, torch.Tensor]  # (R, Ls)
    num_frames: list[int]  # per group
    source: list[int]  # group of each row
    order: list[tuple[int, int]]  # (group, question) of each row


def _pad(rows: list[tuple[list[int], list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    length = max(1, max(len(ids) for ids, _, _ in rows))
    b = len(rows)
    out = {"ids": torch.full((b, length), pad_id, dtype=torch.long),
           "types": torch.full((b, length), LANGUAGE_TOKEN, dtype=torch.long),
           "mask": torch.zeros((b, length), dtype=torch.bool),
           "pos": torch.zeros((b, length), dtype=torch.long)}
    for r, (ids, types, pos) in enumerate(rows):
        n = len(ids)
        if n:
            out["ids"][r, length - n:] = torch.tensor(ids)
            out["types"][r, length - n:] = torch.tensor(types)
            out["mask"][r, length - n:] = True
            out["pos"][r, length - n:] = torch.tensor(pos)
    return out


def layout(groups: Sequence[Sequence[Prompt]], pad_id: int, row_multiple: int = 1) -> _Layout:
    """``row_multiple``: rows are rounded up with copies of the last row (dropped from the output), so
    that batches of slightly different sizes reuse one static cache and CUDA graph."""
    prefixes, suffixes, source, order = [], [], [], []
    rows_first, rows_rest = [], []
    for g, prompts in enumerate(groups):
        p = shared_length(prompts)
        walk = [position_ids(q.token_type_ids) for q in prompts]
        head = prompts[0]
        prefixes.append((head.input_ids[:p], head.token_type_ids[:p], walk[0][:p]))
        for k, q in enumerate(prompts):
            if any(t != LANGUAGE_TOKEN for t in q.token_type_ids[p:]):
                raise ValueError("the questions of a group must share all of its frames")
            row = (q.input_ids[p:], q.token_type_ids[p:], walk[k][p:])
            (rows_first if k == 0 else rows_rest).append((g, k, row))
    for g, k, row in rows_first + rows_rest:  # each group's first question sits on the group's prefix row
        suffixes.append(row)
        source.append(g)
        order.append((g, k))
    while len(suffixes) % max(1, row_multiple):
        suffixes.append(suffixes[-1])
        source.append(source[-1])
        order.append((-1, -1))
    return _Layout(_pad(prefixes, pad_id), _pad(suffixes, pad_id), [len(g) and g[0].num_frames for g in groups],
                   source, order)


def _suffix_mask(prefix_mask: torch.Tensor, suffix_mask: torch.Tensor) -> torch.Tensor:
    """(R, 1, Ls, Lp + Ls): the row's prefix columns, then causal over its suffix (a padding query sees itself)."""
    r, ls = suffix_mask.shape
    dev = suffix_mask.device
    causal = torch.ones(ls, ls, dtype=torch.bool, device=dev).tril()
    eye = torch.eye(ls, dtype=torch.bool, device=dev)
    own = causal & (suffix_mask[:, None, :] | eye)  # (R, Ls, Ls)
    head = prefix_mask[:, None, :].expand(r, ls, prefix_mask.shape[1])
    return torch.cat([head, own], dim=2)[:, None]


@torch.no_grad()
def generate_shared(gen: Generator, groups: Sequence[Sequence[Prompt]], vision_embeds: torch.Tensor | None,
                    max_new_tokens: int, min_new_tokens: int = 0, after_prefill=None) -> list[list[list[int]]]:
    """Greedy tokens per group and question (eos excluded); ``vision_embeds`` holds the frames of each
    group once, in group order."""
    m = gen.model
    lay = layout(groups, m.config.pad_token_id, gen.row_multiple)
    dev = m.device
    pre = {k: v.to(dev) for k, v in lay.prefix.items()}
    suf = {k: v.to(dev) for k, v in lay.suffix.items()}
    w, lp = pre["ids"].shape
    rows, ls = suf["ids"].shape
    st = gen.start(rows, lp + ls, max_new_tokens, min_new_tokens)
    cache = st.cache
    source = torch.tensor(lay.source, device=dev)
    st.kv_mask[:, :lp] = pre["mask"][source]
    st.kv_mask[:, lp:lp + ls] = suf["mask"]

    cache.prefilling, cache.offset = True, 0
    for start in range(0, w, gen.prefill_rows):
        stop = min(w, start + gen.prefill_rows)
        cache.rows = slice(start, stop)
        m(pre["ids"][start:stop], pre["types"][start:stop], pre["pos"][start:stop],
          prefill_mask(pre["mask"][start:stop]), split_vision(vision_embeds, lay.num_frames, start, stop), cache)
    if rows > w:  # the prefix of each group for its other questions' rows
        src = source[w:]
        cache.keys[:, w:, :, :lp] = cache.keys[:, src, :, :lp]
        cache.values[:, w:, :, :lp] = cache.values[:, src, :, :lp]

    cache.offset = lp
    for start in range(0, rows, gen.prefill_rows):
        stop = min(rows, start + gen.prefill_rows)
        cache.rows = slice(start, stop)
        mask = _suffix_mask(st.kv_mask[start:stop, :lp], suf["mask"][start:stop])
        logits = m(suf["ids"][start:stop], suf["types"][start:stop], suf["pos"][start:stop], mask, None, cache)
        st.tokens[start:stop, 0] = (logits + st.eos_bias).argmax(-1)
    cache.prefilling, cache.rows, cache.offset = False, slice(None), 0
    cache.position.fill_(lp + ls)
    st.positions.copy_(suf["pos"].max(dim=1, keepdim=True).values + 1)
    if after_prefill is not None:
        after_prefill()
    tokens = gen.decode(st, max_new_tokens, min_new_tokens)

    out: list[list[list[int]]] = [[[] for _ in g] for g in groups]
    for (g, k), t in zip(lay.order, tokens):
        if g >= 0:
            out[g][k] = t
    return out
