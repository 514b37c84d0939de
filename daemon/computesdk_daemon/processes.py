"""Every process the daemon starts: spawned in its own session, reaped here, killed by group.

The daemon is the one place that waits for children: it makes itself a child subreaper, so
orphaned grandchildren (a ``sleep &`` whose shell was killed) are re-parented to it and reaped
too, instead of lingering as zombies. Because a single ``waitpid(-1)`` loop owns every exit
status, other code must start processes through :meth:`ProcessSupervisor.spawn` (never
``subprocess`` or ``asyncio.create_subprocess_*``), or their exit codes would be stolen.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
from collections.abc import Sequence
from typing import IO, Any

from aiohttp import web

from computesdk_daemon.pipes import Pipe

logger = logging.getLogger(__name__)

_PR_SET_CHILD_SUBREAPER = 36
# Safety net when SIGCHLD cannot be hooked (not on the main thread).
_POLL_INTERVAL = 0.1


def become_subreaper() -> bool:
    """Ask Linux to re-parent orphaned descendants to this process; False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def exit_code_from_status(status: int) -> int:
    """Turn a wait status into a shell-style exit code (128 + N when killed by signal N)."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to a whole process group, ignoring a group that is already gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class Child:
    """A process started by the supervisor; it leads a process group of its own."""

    def __init__(self, popen: subprocess.Popen[bytes], exited: asyncio.Future[int]) -> None:
        self.popen = popen
        self.pid: int = popen.pid
        # start_new_session makes the child the leader of a new session and group.
        self.pgid: int = popen.pid
        self.stdout: Pipe | None = None
        self.stderr: Pipe | None = None
        self._exited = exited

    @property
    def returncode(self) -> int | None:
        """The exit code once the child has been reaped, else None."""
        return self._exited.result() if self._exited.done() else None

    async def wait(self) -> int:
        """Wait for the child (the group leader) to exit; returns its shell-style exit code."""
        return await asyncio.shield(self._exited)

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal the child and everything else in its process group."""
        kill_group(self.pgid, sig)


class ProcessSupervisor:
    """Starts, reaps and kills the daemon's processes."""

    def __init__(self) -> None:
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._popens: dict[int, subprocess.Popen[bytes]] = {}
        self._groups: set[int] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._signal_hooked = False
        self._poller: asyncio.TimerHandle | None = None
        self._closed = False

    def start(self) -> None:
        """Hook SIGCHLD (or poll) on the running loop; call once before spawning."""
        loop = asyncio.get_running_loop()
        if not become_subreaper():
            logger.warning("could not become a child subreaper; orphaned processes may linger")
        try:
            loop.add_signal_handler(signal.SIGCHLD, self.reap)
            self._signal_hooked = True
        except (RuntimeError, ValueError, NotImplementedError):
            self._schedule_poll()

    def _schedule_poll(self) -> None:
        if not self._closed:
            self._poller = asyncio.get_running_loop().call_later(_POLL_INTERVAL, self._poll)

    def _poll(self) -> None:
        self.reap()
        self._schedule_poll()

    def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: dict[str, str],
        stdin: int | IO[Any] | None = subprocess.DEVNULL,
        stdout: int | IO[Any] | None = subprocess.PIPE,
        stderr: int | IO[Any] | None = subprocess.PIPE,
        **popen_kwargs: Any,
    ) -> Child:
        """Start ``argv`` in a new session; ``PIPE`` outputs become :class:`Pipe` readers.

        Raises ``OSError`` (``FileNotFoundError`` for a missing program) if it cannot start.
        """
        if self._closed:
            raise RuntimeError("the daemon is shutting down")
        loop = asyncio.get_running_loop()
        read_ends: dict[str, int] = {}
        write_ends: dict[str, int | IO[Any] | None] = {"stdout": stdout, "stderr": stderr}
        for name, target in list(write_ends.items()):
            if target == subprocess.PIPE:
                read_ends[name], write_ends[name] = os.pipe()
        try:
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=env,
                stdin=stdin,
                stdout=write_ends["stdout"],
                stderr=write_ends["stderr"],
                start_new_session=True,
                close_fds=True,
                **popen_kwargs,
            )
        except BaseException:
            for fd in read_ends.values():
                os.close(fd)
            raise
        finally:
            for name in read_ends:
                os.close(write_ends[name])  # type: ignore[arg-type]
        # Registered before control returns to the loop: the SIGCHLD callback runs on the
        # loop, so it cannot reap the child before its future exists.
        exited: asyncio.Future[int] = loop.create_future()
        self._exits[popen.pid] = exited
        self._popens[popen.pid] = popen
        self._groups.add(popen.pid)
        child = Child(popen, exited)
        if "stdout" in read_ends:
            child.stdout = Pipe(read_ends["stdout"])
        if "stderr" in read_ends:
            child.stderr = Pipe(read_ends["stderr"])
        return child

    def reap(self) -> None:
        """Collect every exited child (ours and re-parented orphans) without blocking."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            code = exit_code_from_status(status)
            popen = self._popens.pop(pid, None)
            if popen is not None:
                # Popen must not wait for it itself (the status is gone) nor poll it from
                # subprocess's cleanup list, so it is told the code here.
                popen.returncode = code
            exited = self._exits.pop(pid, None)
            if exited is not None and not exited.done():
                exited.set_result(code)
        self._prune_groups()

    def _prune_groups(self) -> None:
        # A group id can be reused once the group is empty; forget those so kill_all never
        # signals a stranger's group.
        for pgid in list(self._groups):
            if pgid in self._exits:
                continue
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                self._groups.discard(pgid)
            except PermissionError:
                pass

    def track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        """Keep a reference to a background task and cancel it when the supervisor closes."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def kill_all(self) -> None:
        """SIGKILL every process group the daemon started."""
        for pgid in list(self._groups):
            kill_group(pgid)

    async def close(self, grace: float = 2.0) -> None:
        """Kill everything, wait (at most ``grace`` seconds) for the leaders, stop reaping."""
        self._closed = True
        self.kill_all()
        # Reap the members too (they are re-parented here), so none is left a zombie.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while True:
            self.reap()
            if not self._groups or loop.time() >= deadline:
                break
            await asyncio.sleep(0.02)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace)
        if self._poller is not None:
            self._poller.cancel()
        if self._signal_hooked:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGCHLD)
            self._signal_hooked = False


SUPERVISOR = web.AppKey("supervisor", ProcessSupervisor)


def setup(app: web.Application) -> None:
    """Attach a supervisor to the app, started and closed with it."""
    supervisor = ProcessSupervisor()
    app[SUPERVISOR] = supervisor

    async def on_startup(_: web.Application) -> None:
        supervisor.start()

    async def on_shutdown(_: web.Application) -> None:
        # Killing first lets handlers that wait for a command finish before aiohttp waits for them.
        await supervisor.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
