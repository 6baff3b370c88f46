"""The GPU memory the automatic batch size is given: the device's free memory plus PyTorch's unused cache,
within the per-process cap (the 24 GB studio card measured on a larger GPU). CUDA's queries are faked here
the way PyTorch answers them: each needs a device with an index."""

from __future__ import annotations

import pytest
import torch

from cogvlm_media.model.engine import free_gpu_bytes

GIB = 2 ** 30


def fake_cuda(monkeypatch, free, total, allocated, reserved, fraction):
    def indexed(device):
        if not isinstance(device, torch.device) or device.index is None:
            raise ValueError(f"Expected a torch.device with a specified index, got {device}")
        return device

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda d: (indexed(d), (free, total))[1])
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda d: (indexed(d), allocated)[1])
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda d: (indexed(d), reserved)[1])
    monkeypatch.setattr(torch.cuda, "get_per_process_memory_fraction", lambda d: (indexed(d), fraction)[1])


@pytest.mark.parametrize("device", [torch.device("cuda"), torch.device("cuda", 0), "cuda"])
def test_uncapped_is_device_free_plus_unused_cache(monkeypatch, device):
    fake_cuda(monkeypatch, free=100 * GIB, total=140 * GIB, allocated=30 * GIB, reserved=34 * GIB, fraction=1.0)
    assert free_gpu_bytes(device) == 104 * GIB


def test_a_per_process_cap_bounds_it(monkeypatch):
    # 24 GiB of a 140 GiB card, 8 GiB of weights loaded: 16 GiB left, however much the device has free
    fake_cuda(monkeypatch, free=120 * GIB, total=140 * GIB, allocated=8 * GIB, reserved=9 * GIB,
              fraction=24 / 140)
    assert free_gpu_bytes(torch.device("cuda")) == pytest.approx(16 * GIB, abs=2)


def test_never_negative(monkeypatch):
    fake_cuda(monkeypatch, free=120 * GIB, total=140 * GIB, allocated=30 * GIB, reserved=30 * GIB,
              fraction=24 / 140)
    assert free_gpu_bytes("cuda") == 0
