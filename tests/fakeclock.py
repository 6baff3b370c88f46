"""A fake monotonic clock for code that takes ``clock=`` (the watch gate, the hooks' background drain).

Time stands still unless a test moves it (``clock.now += 5``), or, with ``step``, each reading moves it on
by ``step`` seconds: code that waits "until the clock passes a deadline" then gets there in a known number
of readings, whatever the machine's load.
"""

from __future__ import annotations


class Clock:
    def __init__(self, now: float = 1000.0, step: float = 0.0) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value
