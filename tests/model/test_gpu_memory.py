"""The model shares the GPU with NVDEC (model/gpu_memory.py): the decoders' room is kept out of PyTorch's
reach before the model loads, and the allocator uses expandable segments. CUDA's queries are faked the way
PyTorch answers them (each needs a device with an index); the H200 run that needed this is in its docstring."""

from __future__ import annotations

import pytest
import torch

from cogvlm_media.config import ModelSettings, Settings
from cogvlm_media.ingest.batched import BatchedPipeline
from cogvlm_media.model import gpu_memory
from cogvlm_media.model.engine import free_gpu_bytes

GIB = 2 ** 30


class FakeCuda:
    """One 140 GiB card: the fraction PyTorch is allowed and its free memory."""

    def __init__(self, monkeypatch, initialised: bool = False, fraction: float = 1.0):
        self.fraction, self.initialised, self.settings = fraction, initialised, []
        total = 140 * GIB

        def indexed(device):
            if not isinstance(device, torch.device) or device.index is None:
                raise ValueError(f"Expected a torch.device with a specified index, got {device}")
            return device

        class Props:
            total_memory = total

        def set_fraction(value, device):
            indexed(torch.device("cuda", device) if isinstance(device, int) else device)
            self.fraction = value

        monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
        monkeypatch.setattr(torch.cuda, "is_initialized", lambda: self.initialised)
        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda d: (indexed(d), Props)[1])
        monkeypatch.setattr(torch.cuda, "get_per_process_memory_fraction", lambda d: (indexed(d), self.fraction)[1])
        monkeypatch.setattr(torch.cuda, "set_per_process_memory_fraction", set_fraction)
        monkeypatch.setattr(torch.cuda, "mem_get_info", lambda d: (indexed(d), (total - 2 * GIB, total))[1])
        monkeypatch.setattr(torch.cuda, "memory_allocated", lambda d: (indexed(d), 0)[1])
        monkeypatch.setattr(torch.cuda, "memory_reserved", lambda d: (indexed(d), 0)[1])
        monkeypatch.setattr(torch.cuda.memory, "_set_allocator_settings", self.settings.append, raising=False)


def test_nvdec_files_get_their_reserve_and_a_cpu_decoder_none():
    assert gpu_memory.decoder_headroom_bytes("nvdec", 16, 1.0) == 16 * GIB
    assert gpu_memory.decoder_headroom_bytes("nvdec", 4, 0.5) == 2 * GIB
    assert gpu_memory.decoder_headroom_bytes("decord", 16, 1.0) == 0
    assert gpu_memory.decoder_headroom_bytes("nvdec", 16, 0.0) == 0


def test_the_cap_leaves_the_headroom_and_the_batch_size_sees_it(monkeypatch):
    cuda = FakeCuda(monkeypatch)
    before = free_gpu_bytes(torch.device("cuda"))
    fraction = gpu_memory.keep_free_for_decoders("cuda", 16 * GIB)
    assert fraction == pytest.approx(124 / 140)
    assert cuda.fraction == fraction
    assert before == 138 * GIB
    assert free_gpu_bytes(torch.device("cuda")) == pytest.approx(124 * GIB, abs=2)


def test_a_lower_cap_already_set_stays(monkeypatch):
    cuda = FakeCuda(monkeypatch, fraction=24 / 140)  # the 24 GB studio card measured on a large GPU
    assert gpu_memory.keep_free_for_decoders(torch.device("cuda", 0), 16 * GIB) == pytest.approx(24 / 140)
    assert cuda.fraction == pytest.approx(24 / 140)


def test_expandable_segments_unless_the_user_set_the_allocator(monkeypatch):
    cuda = FakeCuda(monkeypatch)
    monkeypatch.delenv(gpu_memory.ALLOC_ENV, raising=False)
    assert gpu_memory.prefer_expandable_segments() == "env"
    assert gpu_memory.os.environ[gpu_memory.ALLOC_ENV] == "expandable_segments:True"
    monkeypatch.setenv(gpu_memory.ALLOC_ENV, "max_split_size_mb:512")
    assert gpu_memory.prefer_expandable_segments() == "user"
    assert gpu_memory.os.environ[gpu_memory.ALLOC_ENV] == "max_split_size_mb:512"
    monkeypatch.delenv(gpu_memory.ALLOC_ENV)
    cuda.initialised = True  # CUDA already started (e.g. TransNetV2 on the GPU): set at run time instead
    assert gpu_memory.prefer_expandable_segments() == "runtime"
    assert cuda.settings == ["expandable_segments:True"]


class NamedSource:
    def __init__(self, name):
        self.name = name


@pytest.mark.parametrize("source, expected", [("nvdec", 1 - 6 / 140), ("decord", 1.0)])
def test_the_batched_pipeline_keeps_room_before_the_model_loads(monkeypatch, tmp_path, source, expected):
    cuda = FakeCuda(monkeypatch)
    monkeypatch.delenv(gpu_memory.ALLOC_ENV, raising=False)
    settings = Settings(home=tmp_path, model=ModelSettings(path="x", device="cuda", files_in_flight=4,
                                                           decoder_reserve_gib=1.5))
    pipe = BatchedPipeline(settings, frame_source=NamedSource(source))
    pipe._share_gpu_with_decoders()
    assert cuda.fraction == pytest.approx(expected)
    assert gpu_memory.os.environ.get(gpu_memory.ALLOC_ENV) == "expandable_segments:True"
