"""Small helpers shared by the conformance suite's test mixins."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Collection

import pytest

# Every feature name a provider may announce through ``compute.capabilities``.
KNOWN_FEATURES = (
    "run_command",
    "filesystem",
    "named",
    "extend_timeout",
    "get_url",
    "daemon",
    "snapshots",
    "templates",
)

# The environment and metadata the shared sandbox is created with; tests check both arrive.
SHARED_ENVS = {"COMPUTESDK_CONFORMANCE": "shared sandbox $HOME 'q'"}
SHARED_METADATA = {"suite": "computesdk-conformance"}


def require(capabilities: Collection[str], feature: str, provider: str) -> None:
    """Skip the running test, with a reason naming both, when ``provider`` lacks ``feature``."""
    if feature not in capabilities:
        pytest.skip(f"provider {provider!r} does not support {feature!r}")


def unique(prefix: str) -> str:
    """A name no earlier run of the suite used, so runs never see each other's leftovers."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def slug(text: str) -> str:
    """``text`` reduced to characters that are safe in a path on any sandbox."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80] or "test"


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds passed; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class ChunkRecorder:
    """An ``on_stdout``/``on_stderr`` handler that keeps every chunk and when it arrived.

    Handlers run on a thread the SDK owns, so the recorder guards its lists with a lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.chunks: list[str] = []
        self.times: list[float] = []

    def __call__(self, chunk: str) -> None:
        """Record one chunk (the handler signature the SDK calls)."""
        with self._lock:
            self.chunks.append(chunk)
            self.times.append(time.monotonic())

    @property
    def text(self) -> str:
        """Every chunk received so far, joined."""
        with self._lock:
            return "".join(self.chunks)

    def first_time_containing(self, needle: str) -> float | None:
        """The monotonic time at which the joined output first contained ``needle``."""
        with self._lock:
            seen = ""
            for chunk, at in zip(self.chunks, self.times, strict=True):
                seen += chunk
                if needle in seen:
                    return at
            return None
