"""A spinner line on a terminal while something slow happens (silent when not a terminal)."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from types import TracebackType
from typing import TextIO

_FRAMES = "|/-\\"


class Spinner:
    """``with Spinner("Creating sandbox"):`` shows a spinner and the elapsed seconds on stderr."""

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.1) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0

    def __enter__(self) -> Spinner:
        self._started = time.monotonic()
        if self._stream.isatty():
            self._thread = threading.Thread(target=self._spin, name="computesdk-spinner", daemon=True)
            self._thread.start()
        return self

    def _spin(self) -> None:
        for frame in itertools.cycle(_FRAMES):
            elapsed = time.monotonic() - self._started
            self._stream.write(f"\r{frame} {self._label}... {elapsed:4.1f}s")
            self._stream.flush()
            if self._stop.wait(self._interval):
                return

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            elapsed = time.monotonic() - self._started
            outcome = "failed" if exc_type else "done"
            self._stream.write(f"\r{self._label}: {outcome} in {elapsed:.1f}s\x1b[K\n")
            self._stream.flush()
