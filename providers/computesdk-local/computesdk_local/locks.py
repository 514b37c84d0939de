"""Advisory file locks (``flock``) shared by every process and thread that uses the same state directory.

``flock`` locks belong to an open file description, so two threads that each open the file
exclude each other just as two processes do; the kernel drops the lock when its holder dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from computesdk_core.errors import OperationTimeoutError

_POLL = 0.05


@contextlib.contextmanager
def locked(path: Path, timeout: float, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block.

    Waits at most ``timeout`` seconds, then raises OperationTimeoutError naming ``what``.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise OperationTimeoutError(f"timed out after {timeout:g} s waiting for the lock of {what}")
            time.sleep(_POLL)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def try_locked(path: Path) -> Iterator[bool]:
    """Try once to lock ``path`` (created if missing) exclusively; yield whether it worked.

    The lock is held for the ``with`` block. A missing directory yields False: someone else
    removed the sandbox.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except FileNotFoundError:
        yield False
        return
    try:
        yield _try_lock(fd)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
