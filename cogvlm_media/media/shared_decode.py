"""One video decode for several readers: every frame at 48x27 for shot detection, and frames sampled every
``step`` seconds at their own size for each of the stages that look at pictures (text, faces).

One ffmpeg process decodes the video once and splits it: one branch scales every decoded frame to the
small size (``-fps_mode passthrough``, as ``media/decode.py`` does, so frame i is frame i of decord);
each other branch keeps the first frame of every ``step``-second interval (the same ``select`` as
``media/sampled_frames.py``, with a ``showinfo`` of its own, so the sampled times are that module's).
The small frames come out on stdout, each sampled stream on a pipe of its own, read by a thread into a
short queue: the shot decode waits on a reader only while that reader lags by more than the queue, and
a reader that stops early (or never starts) only makes the rest of its frames be read and dropped
(``close``).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
from collections.abc import Iterator

import numpy as np

from cogvlm_media.media.decode import (SMALL_H, SMALL_W, DecodeError, Progress, _reason, frame_chunks, gather_frames,
                                       read_exactly)
from cogvlm_media.media.ffmpeg_tools import require
from cogvlm_media.media.sampled_frames import _ERROR, select_filter

QUEUE_FRAMES = 8  # sampled frames held for a reader that lags behind the decode
_END = object()
_SHOWINFO = re.compile(r"^\[showinfo@(\w+) @ 0x[0-9a-f]+\] \[info\] n:\s*\d+ pts:\s*-?\d+ pts_time:(-?[\d.]+)")


class SampledStream:
    """One reader's frames: iterate ``(time, rgb frame)`` (time from the first sampled frame); ``problems``
    holds the decoder's complaints (shared by every stream of the decode); ``close()`` when done."""

    def __init__(self, name: str, step: float, width: int, height: int, problems: list[str]) -> None:
        self.name, self.step, self.width, self.height, self.problems = name, step, width, height, problems
        self.times: queue.Queue = queue.Queue()
        self._frames: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self._closed = threading.Event()
        self.read_fd, self.write_fd = os.pipe()

    def filters(self) -> str:
        return f"{select_filter(self.step)},showinfo@{self.name},scale={self.width}:{self.height}"

    def pump(self) -> None:
        """(the stream's thread) Pipe to queue; frames nobody reads any more are dropped."""
        size = self.width * self.height * 3
        first: float | None = None
        with os.fdopen(self.read_fd, "rb", buffering=0) as pipe:
            try:
                while True:
                    buf = read_exactly(pipe, size)
                    if len(buf) < size:
                        if buf:
                            self.problems.append(f"a truncated frame ({len(buf)} of {size} bytes) at the end")
                        return
                    if self._closed.is_set():
                        continue  # nobody reads them any more: drop, so the decode goes on
                    stamp = self.times.get(timeout=30)
                    first = stamp if first is None else first
                    self._put((max(0.0, stamp - first), np.frombuffer(buf, np.uint8).reshape(self.height, self.width, 3)))
            except Exception as exc:  # noqa: BLE001 - the reader gets the reason, the shot decode goes on
                self.problems.append(f"sampled frames stopped ({type(exc).__name__}: {str(exc)[:120]})")
                while read_exactly(pipe, 1 << 20):
                    pass
            finally:
                self._put(_END)

    def _put(self, item) -> None:
        while not self._closed.is_set():
            try:
                self._frames.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[tuple[float, np.ndarray]]:
        while not self._closed.is_set():
            try:
                item = self._frames.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _END:
                return
            yield item

    def close(self) -> None:
        """The reader is done: drop the frames it did not take (the shot decode goes on)."""
        self._closed.set()
        while True:
            try:
                self._frames.get_nowait()
            except queue.Empty:
                return


class SharedDecode:
    """Start with the file and the sampled streams wanted (name: (step, width, height)); ``small()`` (once,
    on the shot stage's thread) returns every small frame; ``stream(name)`` is one reader's sampled frames,
    read on another thread; ``problems`` holds the decoder's complaints."""

    def __init__(self, path: str | os.PathLike[str], streams: dict[str, tuple[float, int, int]],
                 threads: int = 0) -> None:
        self.path = os.fspath(path)
        self.problems: list[str] = []
        self._errors: list[str] = []
        self._small_taken = False
        self._streams = {name: SampledStream(name, *spec, self.problems) for name, spec in streams.items()}
        split = f"[0:v:0]split={1 + len(streams)}[small_in]" + "".join(f"[{n}_in]" for n in streams)
        graph = ";".join([split, f"[small_in]scale={SMALL_W}:{SMALL_H}[small]",
                          *(f"[{n}_in]{st.filters()}[{n}]" for n, st in self._streams.items())])
        raw = ["-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24"]
        cmd = [require("ffmpeg"), "-nostdin", "-hide_banner", "-nostats", "-loglevel", "level+info", "-noautorotate",
               "-threads", str(threads), "-i", self.path, "-filter_complex", graph, "-map", "[small]", *raw, "pipe:1"]
        for name, st in self._streams.items():
            cmd += ["-map", f"[{name}]", *raw, f"pipe:{st.write_fd}"]
        try:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                                          pass_fds=tuple(st.write_fd for st in self._streams.values()))
        finally:
            for st in self._streams.values():
                os.close(st.write_fd)
        self._stderr = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr.start()
        for st in self._streams.values():
            threading.Thread(target=st.pump, daemon=True).start()

    def stream(self, name: str) -> SampledStream | None:
        return self._streams.get(name)

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            found = _SHOWINFO.search(line)
            if found and found.group(1) in self._streams:
                self._streams[found.group(1)].times.put(float(found.group(2)))
            elif (error := _ERROR.match(line)):
                self.problems.append((error.group(1) + error.group(3))[:200])
            elif "[error]" in line or "[fatal]" in line:
                self._errors.append(line)

    def small(self, expected_frames: int | None = None, progress: Progress | None = None,
              chunk_frames: int = 256) -> np.ndarray:
        """Every frame at 48x27 as uint8 ``(N, 27, 48, 3)``; ``progress(done, expected_frames)`` per chunk."""
        self._small_taken = True
        assert self._proc.stdout is not None
        try:
            chunks = gather_frames(frame_chunks(self._proc.stdout, SMALL_W, SMALL_H, chunk_frames), expected_frames,
                                   progress)
            self._proc.wait()
        except BaseException:
            self.abort()
            raise
        self._stderr.join(timeout=5)
        if self._proc.returncode != 0:
            self.abort()
            raise DecodeError(f"cannot decode video ({_reason(chr(10).join(self._errors or self.problems).encode())})")
        if not chunks:
            raise DecodeError("no decodable video frames")
        return np.concatenate(chunks)

    def finish(self) -> None:
        """After the shot stage: where it did not take the small frames (a stage standing in for the
        built-in one), read and drop them, so that the decode, and the sampled streams, run to their end."""
        if not self._small_taken:
            try:
                self.small()
            except DecodeError:
                pass  # the sampled streams have seen their end, with the decoder's complaints

    def abort(self) -> None:
        """Stop the decode (the shot stage failed): the sampled readers see the end."""
        for st in self._streams.values():
            st.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
