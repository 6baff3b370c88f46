"""The cross-file window batcher: items of several files share batches through one VideoChat, each answer
reaches its own item, the queue stays bounded, and a failing item or file fails alone (tiny model, CPU)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from cogvlm_media.model.engine import Questions, VideoChat
from cogvlm_media.model.prompts import CAPTION_PROMPT, MOMENT_PROMPT
from cogvlm_media.model.window_batcher import WindowBatcher

QUESTIONS = (CAPTION_PROMPT, MOMENT_PROMPT)


def clip(seed: int, n: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 48, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def chat(tiny_model, tokenizer):
    return VideoChat(tiny_model, tokenizer, batch_size=64, max_new_tokens=6)


class Recording:
    """The real chat, recording the seeds (frame 0, pixel 0) of every batch it is given; raises for a seed
    in ``bad``."""

    def __init__(self, chat, bad=()):
        self.chat, self.bad, self.batches = chat, set(bad), []
        self.batch_size = chat.batch_size

    def answer_groups(self, items, max_new_tokens=None):
        seeds = [int(it.frames[0, 0, 0, 0]) for it in items]
        self.batches.append(seeds)
        if self.bad & set(seeds):
            raise RuntimeError("this clip breaks the model")
        return self.chat.answer_groups(items, max_new_tokens)


def marked(seed: int, n: int = 2) -> np.ndarray:
    frames = clip(seed, n)
    frames[0, 0, 0, 0] = seed  # the recording wrapper tells the items apart by this pixel
    return frames


def run_files(batcher, files: dict[str, list[np.ndarray]]) -> dict[str, list[list[str]]]:
    tickets = {name: batcher.ticket(name) for name in files}  # all three are in flight from the start
    out: dict[str, object] = {}

    def work(name):
        with tickets[name] as t:
            try:
                out[name] = t.answer_stream(Questions(QUESTIONS, f) for f in files[name])
            except Exception as exc:
                out[name] = exc

    threads = [threading.Thread(target=work, args=(n,)) for n in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_three_files_share_batches_and_answers_reach_their_own_items(chat):
    files = {"a.mp4": [marked(1), marked(2)], "b.mp4": [marked(3)], "c.mp4": [marked(4), marked(5), marked(6)]}
    with WindowBatcher(chat, linger=60.0) as batcher:  # no linger flush: the rule waits for every file
        got = run_files(batcher, files)
    assert sorted(batcher.batches[0]) == ["a.mp4", "a.mp4", "b.mp4", "c.mp4", "c.mp4", "c.mp4"]
    for name, frames in files.items():
        alone = [chat.answer_groups([Questions(QUESTIONS, f)])[0] for f in frames]
        assert got[name] == alone
    assert got["a.mp4"][0] != got["a.mp4"][1]


def test_one_long_file_fills_batches_with_a_bounded_queue(chat):
    small = VideoChat(chat.model, chat.tokenizer, batch_size=4, max_new_tokens=4)  # 2 windows a batch
    frames = [marked(10 + k) for k in range(9)]
    with WindowBatcher(small, queue_items=3, linger=60.0) as batcher:
        got = run_files(batcher, {"long.mp4": frames})["long.mp4"]
    assert got == [small.answer_groups([Questions(QUESTIONS, f)])[0] for f in frames]
    assert batcher.peak_queued <= 3  # nine decoded windows, never more than three waiting
    assert len(batcher.batches) >= 3 and all(len(b) <= 4 for b in batcher.batches)
    assert all(len(b) >= 2 for b in batcher.batches[:-1])  # full batches while the file still submits


def test_a_failing_item_fails_alone_and_the_rest_of_its_batch_is_answered(chat):
    rec = Recording(chat, bad={7})
    files = {"good.mp4": [marked(5), marked(6)], "bad.mp4": [marked(7), marked(8)], "other.mp4": [marked(9)]}
    with WindowBatcher(rec, linger=60.0) as batcher:
        got = run_files(batcher, files)
    assert sorted(rec.batches[0]) == [5, 6, 7, 8, 9]  # one batch held all of them
    assert isinstance(got["bad.mp4"], RuntimeError)
    assert got["good.mp4"] == [chat.answer_groups([Questions(QUESTIONS, marked(s))])[0] for s in (5, 6)]
    assert got["other.mp4"] == [chat.answer_groups([Questions(QUESTIONS, marked(9))])[0]]


def test_a_file_that_fails_while_submitting_drops_its_queued_windows(chat):
    rec = Recording(chat)

    def broken():
        yield Questions(QUESTIONS, marked(20))
        yield Questions(QUESTIONS, marked(21))
        raise OSError("decode failed at the third window")

    with WindowBatcher(rec, linger=60.0) as batcher:
        good, bad = batcher.ticket("good"), batcher.ticket("bad")
        with pytest.raises(OSError):
            with bad:
                bad.answer_stream(broken())
        with good:
            answers = good.answer_stream([Questions(QUESTIONS, marked(22))])
    assert [s for b in rec.batches for s in b] == [22]  # the failed file's two queued windows never ran
    assert answers == [chat.answer_groups([Questions(QUESTIONS, marked(22))])[0]]


def test_a_failing_batch_is_rerun_in_halves_until_the_failing_item_is_alone(chat):
    rec = Recording(chat, bad={12})
    frames = [marked(s) for s in range(10, 18)]
    with WindowBatcher(rec, linger=60.0) as batcher:
        got = run_files(batcher, {"one.mp4": frames})["one.mp4"]
    assert isinstance(got, RuntimeError)
    assert rec.batches == [list(range(10, 18)), [10, 11, 12, 13], [10, 11], [12, 13], [12], [13],
                           [14, 15, 16, 17]]


class TooBig(Recording):
    """Out of CUDA memory for more than ``fits`` items at once."""

    def __init__(self, chat, fits):
        super().__init__(chat)
        self.fits = fits

    def answer_groups(self, items, max_new_tokens=None):
        if len(items) > self.fits:
            self.batches.append([int(it.frames[0, 0, 0, 0]) for it in items])
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.62 GiB.")
        return super().answer_groups(items, max_new_tokens)


def test_out_of_memory_empties_the_cache_and_every_item_is_answered(chat, monkeypatch):
    emptied = []
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: emptied.append(1))
    rec = TooBig(chat, fits=2)
    frames = [marked(s) for s in range(20, 28)]
    with WindowBatcher(rec, linger=60.0) as batcher:
        got = run_files(batcher, {"big.mp4": frames})["big.mp4"]
    assert got == [chat.answer_groups([Questions(QUESTIONS, f)])[0] for f in frames]
    assert len(emptied) == 3  # the batch of 8 and its two halves of 4 ran out of memory
    assert [len(b) for b in rec.batches] == [8, 4, 2, 2, 4, 2, 2]
