"""Keeping the access token away from the commands the daemon runs.

Removing it from ``os.environ`` is not enough: ``/proc/<daemon pid>/environ`` shows the
environment block the process was started with, and any command of the same user can read
it. So the bytes of that block are overwritten in place, and the daemon marks itself
non-dumpable, which makes its ``/proc`` files (``environ``, ``mem``) readable only by root.
"""

from __future__ import annotations

import ctypes
import logging
import os
from pathlib import Path

logger = logging.getLogger(__name__)

_PR_SET_DUMPABLE = 4
# Fields of /proc/self/stat after the ")" that ends the command name: the list starts at field 3.
_ENV_START_INDEX = 50 - 3
_ENV_END_INDEX = 51 - 3


def take_secret_from_environment(name: str) -> str | None:
    """Remove ``name`` from the environment, the initial block included; returns its value."""
    value = os.environ.pop(name, None)
    if value is not None and not _scrub_initial_block(name):
        logger.warning("could not erase %s from /proc/self/environ", name)
    _set_not_dumpable()
    return value


def _scrub_initial_block(name: str) -> bool:
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        env_start, env_end = int(fields[_ENV_START_INDEX]), int(fields[_ENV_END_INDEX])
        block = Path("/proc/self/environ").read_bytes()
    except (OSError, IndexError, ValueError):
        return False
    prefix = name.encode() + b"="
    offset = 0
    for entry in block.split(b"\0"):
        if entry.startswith(prefix):
            if env_start + offset + len(entry) > env_end:
                return False
            ctypes.memset(env_start + offset, 0, len(entry))
        offset += len(entry) + 1
    return prefix not in Path("/proc/self/environ").read_bytes()


def _set_not_dumpable() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        logger.warning("could not make the daemon non-dumpable")
