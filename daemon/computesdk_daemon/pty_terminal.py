"""An interactive shell on a pseudo-terminal, its output published on a WebSocket channel.

Output is read only while the channel has a subscriber: until then it waits in the kernel's
PTY buffer (and a shell that fills it blocks), so a client that subscribes after creating the
terminal still sees the first prompt, and a slow client slows the shell instead of the daemon
buffering without bound.
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import contextlib
import datetime as dt
import fcntl
import os
import signal
import struct
import sys
import termios
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from computesdk_core.wire import format_datetime
from computesdk_daemon.hub import ChannelHub
from computesdk_daemon.output import CHUNK_SIZE
from computesdk_daemon.pipes import Pipe
from computesdk_daemon.processes import Child, ProcessSupervisor, kill_group

# Output still read after the shell exits (background jobs may hold the PTY open longer).
EXIT_DRAIN = 0.5
# Input bytes queued for a shell that does not read them; more is refused with terminal:error.
INPUT_LIMIT = 1024 * 1024
MAX_SIZE = 65535


def channel_of(terminal_id: str) -> str:
    """The WebSocket channel of a PTY terminal."""
    return f"terminal:{terminal_id}"


def check_size(cols: Any, rows: Any) -> tuple[int, int]:
    """Columns and rows as ints from 1 to 65535 (numbers arrive as floats in binary mode)."""
    size = []
    for name, value in (("cols", cols), ("rows", rows)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise ValueError(f"'{name}' must be an integer")
        if not 1 <= int(value) <= MAX_SIZE:
            raise ValueError(f"'{name}' must be from 1 to {MAX_SIZE}")
        size.append(int(value))
    return size[0], size[1]


def set_size(fd: int, cols: int, rows: int) -> None:
    """Set a terminal's window size; the kernel signals SIGWINCH to its foreground group."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


# Started in the new session with the PTY as stdin, it makes the PTY its controlling terminal
# (so the shell gets job control, ^C and SIGWINCH) and becomes the shell. A separate program,
# because a preexec_fn is not safe in a process with threads, as the daemon is.
_CONTROLLING_TERMINAL_LAUNCHER = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execvp(sys.argv[1], sys.argv[1:])"
)


def session_groups(sid: int) -> set[int]:
    """Process groups with a member in session ``sid`` (the shell's jobs each have one)."""
    groups: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # After the command name: state, ppid, pgrp, session.
        if len(fields) > 3 and int(fields[3]) == sid:
            groups.add(int(fields[2]))
    return groups


class PtyTerminal:
    """A shell that leads its own session with a PTY as controlling terminal."""

    pty = True

    def __init__(self, terminal_id: str, shell: str, encoding: str, cols: int, rows: int) -> None:
        self.id = terminal_id
        self.shell = shell
        self.encoding = encoding
        self.cols = cols
        self.rows = rows
        self.status = "running"
        self.channel = channel_of(terminal_id)
        self.created_at = dt.datetime.now(dt.timezone.utc)
        self._child: Child | None = None
        self._master: Pipe | None = None
        self._input = bytearray()
        self._input_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._ended = False
        self._on_end: Callable[[PtyTerminal], Awaitable[None]] | None = None

    def describe(self) -> dict[str, Any]:
        """The Terminal object of the protocol."""
        return {
            "id": self.id, "pty": True, "status": self.status, "channel": self.channel, "ws_url": "/ws",
            "encoding": self.encoding, "shell": self.shell, "cols": self.cols, "rows": self.rows,
            "created_at": format_datetime(self.created_at),
        }

    def start(
        self, supervisor: ProcessSupervisor, hub: ChannelHub, cwd: str, env: dict[str, str],
        on_end: Callable[[PtyTerminal], Awaitable[None]],
    ) -> None:
        """Spawn the shell on a new PTY and start reading, writing and watching it.

        Raises ``OSError`` if the shell cannot start.
        """
        master, slave = os.openpty()
        try:
            set_size(slave, self.cols, self.rows)
            child = supervisor.spawn(
                [sys.executable, "-I", "-S", "-c", _CONTROLLING_TERMINAL_LAUNCHER, self.shell],
                cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            # Only the shell holds the slave side now, so its end shows as EIO on the master.
            os.close(slave)
        self._child = child
        self._on_end = on_end
        self._master = Pipe(master)
        self._tasks = [
            supervisor.track(asyncio.ensure_future(self._pump(hub))),
            supervisor.track(asyncio.ensure_future(self._write_input())),
        ]
        supervisor.track(asyncio.ensure_future(self._watch(child)))

    @property
    def pid(self) -> int | None:
        """The shell's process id."""
        return self._child.pid if self._child is not None else None

    async def _publish(self, hub: ChannelHub, data: bytes, decoder: codecs.IncrementalDecoder) -> None:
        if self.encoding == "base64":
            output = base64.b64encode(data).decode("ascii")
        else:
            output = decoder.decode(data, final=not data)
        if output:
            await hub.publish(self.channel, "terminal:output", {"output": output, "encoding": self.encoding})

    async def _pump(self, hub: ChannelHub) -> None:
        assert self._master is not None
        # errors="replace": output is text on the wire, and one bad byte must not lose the rest.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        while True:
            await hub.wait_for_subscriber(self.channel)
            data = await self._master.read(CHUNK_SIZE)
            await self._publish(hub, data, decoder)
            if not data:
                return

    def write(self, text: str) -> None:
        """Queue input for the shell; ``ValueError`` if the terminal is not running or is full."""
        if self.status != "running":
            raise ValueError(f"terminal {self.id} is not running")
        data = text.encode("utf-8")
        if len(self._input) + len(data) > INPUT_LIMIT:
            raise ValueError(f"terminal {self.id} is not reading its input; {len(data)} bytes dropped")
        self._input += data
        self._input_ready.set()

    async def _write_input(self) -> None:
        assert self._master is not None
        fd = self._master.fd
        loop = asyncio.get_running_loop()
        while True:
            await self._input_ready.wait()
            self._input_ready.clear()
            while self._input:
                try:
                    written = os.write(fd, self._input)
                except BlockingIOError:
                    writable: asyncio.Future[None] = loop.create_future()
                    loop.add_writer(fd, _resolve, writable)
                    try:
                        await writable
                    finally:
                        loop.remove_writer(fd)
                    continue
                del self._input[:written]

    def resize(self, cols: int, rows: int) -> None:
        """Change the window size; ``ValueError`` if the terminal is not running."""
        if self.status != "running" or self._master is None:
            raise ValueError(f"terminal {self.id} is not running")
        set_size(self._master.fd, cols, rows)
        self.cols, self.rows = cols, rows

    async def _watch(self, child: Child) -> None:
        await child.wait()
        pump = self._tasks[0]
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(pump), EXIT_DRAIN)
        await self._stop()

    async def _stop(self) -> None:
        """End the terminal once: kill what is left, close the PTY, report the end."""
        if self._ended:
            return
        self._ended = True
        self.status = "stopped"
        if self._child is not None:
            self.kill_session()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._master is not None:
            self._master.close()
        if self._on_end is not None:
            await self._on_end(self)

    def kill_session(self) -> None:
        """SIGKILL the shell's process group and every other group of its session (its jobs)."""
        assert self._child is not None
        sid = self._child.pid
        self._child.kill_group(signal.SIGKILL)
        for pgid in session_groups(sid):
            kill_group(pgid, signal.SIGKILL)

    async def destroy(self) -> None:
        """Kill every process of the terminal and wait (briefly) for the shell to be reaped."""
        if self._child is not None and self.status == "running":
            self.kill_session()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._child.wait(), 5.0)
        await self._stop()
