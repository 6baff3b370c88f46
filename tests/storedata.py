"""A small, fully known analysis result for store tests (SQLite and PostgreSQL), and a concurrent claimer."""

from __future__ import annotations

import threading

from cogvlm_media import records
from cogvlm_media.media.probe import MediaInfo

MEDIA = MediaInfo("/x/a.mov", 1000, 10.0, 24000, 1001, 240, 320, 240, 0, "01:00:00:00", True, False, "h264", "mov", 0.0)


def analysis(tag: str = "") -> dict:
    shots = [records.Shot(0, 0, 119, 0.0, 5.005, "start"), records.Shot(1, 120, 239, 5.005, 10.0, "cut")]
    windows = [records.Window(0, 0.0, 10.0, 0, 239, (0, 24, 48), (0.0, 1.001, 2.002), (0, 1))]
    words = (records.Word(" Hello", 1.0, 1.4), records.Word(" world.", 1.4, 2.0))
    transcript = records.Transcript("en", (records.SpeechSegment(0, 1.0, 2.0, "Hello world.", words),))
    result = records.Analysis("embedded", "1", captions=[records.WindowCaption(0, "a caption" + tag, "embedded")],
                              scenes=[records.Scene(0, 0.0, 10.0, "Hello" + tag, "summary" + tag, (0, 1))],
                              moments=[records.KeyMoment(1.0, "Hello world." + tag, "Hello world.", "speech")])
    return dict(shots=shots, transcript=transcript, windows=windows, analysis=result)


def claim_concurrently(engine, workers: int = 4) -> list[int]:
    """Run ids claimed by ``workers`` threads claiming until the queue is empty (one id per claim)."""
    from cogvlm_media.store import jobs

    claimed: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        while (run := jobs.claim(engine, f"w{n}", 60)) is not None:
            with lock:
                claimed.append(run.id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return claimed
