"""How the model shares one GPU with the video decoders beside it.

Two things went wrong on the H200 when 16 files were decoded by NVDEC while the model answered their
windows (``bench/ingest_gpu.py``, 2026-12-01):

* PyTorch's caching allocator grew to nearly the whole card, and the decoders, which allocate through the
  CUDA driver outside that pool, failed with ``CUDA_ERROR_OUT_OF_MEMORY``: room is kept for them here by
  capping PyTorch's share (``torch.cuda.set_per_process_memory_fraction``), which the automatic batch size
  then sees through ``engine.free_gpu_bytes``;
* with 16 files of different window counts the cache fragmented (90+ GiB reserved but unallocated, then
  out of memory for 144 MiB): expandable segments (``PYTORCH_CUDA_ALLOC_CONF``) let freed blocks grow in
  place instead. With both, the same run went through without a failed file.
"""

from __future__ import annotations

import os

import torch

ALLOC_ENV = "PYTORCH_CUDA_ALLOC_CONF"
EXPANDABLE = "expandable_segments:True"
GIB = 2 ** 30


def prefer_expandable_segments() -> str:
    """Turn on expandable segments unless the user configured the allocator. Returns what was done:
    ``"env"`` (CUDA not started yet: the variable is read when it starts), ``"runtime"`` (already started),
    ``"user"`` (their own ``PYTORCH_CUDA_ALLOC_CONF`` stands) or ``"unsupported"``."""
    if os.environ.get(ALLOC_ENV):
        return "user"
    if not torch.cuda.is_initialized():
        os.environ[ALLOC_ENV] = EXPANDABLE
        return "env"
    setter = getattr(torch.cuda.memory, "_set_allocator_settings", None)
    if setter is None:
        return "unsupported"
    setter(EXPANDABLE)
    return "runtime"


def decoder_headroom_bytes(frame_source_name: str, files_in_flight: int, reserve_gib: float) -> int:
    """GPU memory to keep out of PyTorch's reach for the decoders: ``reserve_gib`` per file in flight when
    the frames are decoded on the GPU (NVDEC), nothing for a CPU decoder."""
    if frame_source_name != "nvdec" or reserve_gib <= 0:
        return 0
    return int(reserve_gib * max(1, files_in_flight) * GIB)


def process_fraction(device: torch.device | str) -> tuple[torch.device, float]:
    """``device`` with its index (CUDA's memory queries need one; "cuda" is the current device) and the share
    of it this process may allocate (``torch.cuda.set_per_process_memory_fraction``; 1.0: no cap)."""
    device = torch.device(device)
    if device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    getter = getattr(torch.cuda, "get_per_process_memory_fraction", None)
    return device, (getter(device) if getter else 1.0)


def keep_free_for_decoders(device: torch.device | str, headroom: int) -> float:
    """Cap PyTorch's share of ``device`` so ``headroom`` bytes stay for the driver's other users. A cap
    already set lower stays. Returns the fraction in force (1.0: no cap)."""
    if torch.device(device).type != "cuda":
        return 1.0
    device, current = process_fraction(device)
    if headroom <= 0:
        return current
    total = torch.cuda.get_device_properties(device).total_memory
    wanted = max(0.05, 1.0 - headroom / total)
    if wanted < current:
        torch.cuda.set_per_process_memory_fraction(wanted, device)
        return wanted
    return current
