"""Host processes of a sandbox: identity that survives PID reuse, liveness, and killing whole trees.

A PID alone is not an identity: once a process dies its number can be given to another. A
:class:`ProcessRef` pairs the PID with the process's start time (``/proc/<pid>/stat`` field 22),
so a record written long ago never makes us signal a stranger.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterable

import attrs


@attrs.frozen
class ProcessRef:
    """A process by PID and start time (clock ticks since boot)."""

    pid: int
    start_time: int

    @classmethod
    def of(cls, pid: int) -> ProcessRef | None:
        """Return the reference of the running process ``pid``, or None if there is none."""
        stat = _stat(pid)
        return None if stat is None else cls(pid, stat.start_time)

    def alive(self) -> bool:
        """Say whether this very process still runs (a zombie counts as gone)."""
        stat = _stat(self.pid)
        return stat is not None and stat.start_time == self.start_time and stat.state not in ("Z", "X")

    def kill(self) -> None:
        """Send SIGKILL if this very process still runs."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


@attrs.frozen
class _Stat:
    ppid: int
    state: str
    start_time: int


def _stat(pid: int) -> _Stat | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    try:
        return _Stat(ppid=int(fields[1]), state=fields[0], start_time=int(fields[19]))
    except (IndexError, ValueError):
        return None


def descendants(roots: Iterable[ProcessRef]) -> list[ProcessRef]:
    """Return every running descendant of the live processes in ``roots`` (not the roots themselves)."""
    children: dict[int, list[ProcessRef]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = _stat(int(entry))
        if stat is not None:
            children.setdefault(stat.ppid, []).append(ProcessRef(int(entry), stat.start_time))
    found: list[ProcessRef] = []
    queue = [root.pid for root in roots if root.alive()]
    seen = set(queue)
    while queue:
        for child in children.get(queue.pop(), []):
            if child.pid not in seen:
                seen.add(child.pid)
                found.append(child)
                queue.append(child.pid)
    return found


def kill_tree(roots: list[ProcessRef]) -> list[ProcessRef]:
    """SIGKILL ``roots`` (in order) and all their descendants; return every process signalled.

    The descendants are listed before anything is killed, so that orphans re-parented to the host's
    init are still found.
    """
    targets = list(roots) + [p for p in descendants(roots) if p not in roots]
    for process in targets:
        process.kill()
    return targets


def wait_gone(processes: Iterable[ProcessRef], deadline: float) -> bool:
    """Wait until none of ``processes`` runs or ``time.monotonic()`` passes ``deadline``; say whether all are gone."""
    pending = list(processes)
    while True:
        pending = [p for p in pending if p.alive()]
        if not pending:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
