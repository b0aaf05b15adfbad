"""Sweep progress: a tqdm bar on a terminal, plain lines otherwise, nothing when quiet."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class Progress:
    """Runs done, failures (and runs lost with their workers) and time left.

    Parameters
    ----------
    total : int
        Runs to do in this session.
    quiet : bool
        Print nothing.
    stream : file, optional
        Where to write (default: standard error).
    every_s : float
        Seconds between plain lines when the stream is not a terminal.
    """

    def __init__(self, total: int, quiet: bool = False, stream: TextIO | None = None,
                 every_s: float = 10.0, label: str = "sweep") -> None:
        self.total, self.done, self.failed, self.lost = total, 0, 0, 0
        self.label = label
        self.stream = stream or sys.stderr
        self.quiet, self.every_s = quiet, every_s
        self.start = self._last = time.monotonic()
        self._bar = None
        if not quiet and total and self.stream.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=self.stream, unit="run", dynamic_ncols=True,
                             desc=label)

    def update(self, failed: bool, lost: bool = False) -> None:
        """Count one finished run (``failed`` in the model, or ``lost`` with its worker)."""
        self.done += 1
        self.failed += failed
        self.lost += lost
        if self.quiet:
            return
        if self._bar is not None:
            extra = {"lost": self.lost} if self.lost else {}
            self._bar.set_postfix(failed=self.failed, **extra, refresh=False)
            self._bar.update()
            return
        now = time.monotonic()
        if now - self._last >= self.every_s or self.done == self.total:
            self._last = now
            elapsed = now - self.start
            left = elapsed / self.done * (self.total - self.done)
            lost = f", {self.lost} lost" if self.lost else ""
            print(f"{self.label}: {self.done}/{self.total} runs, {self.failed} failed{lost}, "
                  f"{_clock(elapsed)} elapsed, ~{_clock(left)} left", file=self.stream,
                  flush=True)

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()
