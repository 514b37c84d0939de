"""``sandbox.terminals``: interactive PTY shells and exec terminals with tracked commands.

A PTY terminal's input and output go over the sandbox's WebSocket, on the terminal's channel.
The channel is subscribed when the first handler is registered (or at the first ``write`` or
``resize``); the daemon holds the shell's output until someone listens, so the first ``output``
handler also sees the shell's first prompt. An exec terminal runs each command as a shell of
its own over HTTP and keeps its status and output for ``command.list``/``retrieve``/``wait``.

A :class:`Terminal` belongs to the sandbox connection it was made on: after
``sandbox.close()``, retrieve it again to use it.
"""

from __future__ import annotations

import base64
import builtins
import codecs
import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import attrs

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.daemon_client.events import EventEmitter, Handler
from computesdk_core.daemon_client.websocket import RECONNECT_FAILED
from computesdk_core.protocol import Message
from computesdk_core.wire import parse_datetime

__all__ = ["Command", "Terminal", "TerminalCommands", "TerminalInfo", "Terminals"]

DaemonGetter = Callable[[], DaemonClient]
TerminalEvent = Literal["output", "error", "destroyed"]
_ENCODINGS = ("raw", "base64")
# The longest single long poll: edge tunnels in front of sandboxes end requests after 300 s.
MAX_WAIT_SLICE = 300.0
# How much longer than a long poll the HTTP read may take before the daemon counts as gone.
WAIT_GRACE = 15.0


def _terminal_path(terminal_id: str) -> str:
    if not isinstance(terminal_id, str) or not terminal_id:
        raise errors.ValidationError("a terminal id must be a non-empty string")
    return "/terminals/" + quote(terminal_id, safe="")


def _command_path(terminal_id: str, cmd_id: str) -> str:
    if not isinstance(cmd_id, str) or not cmd_id:
        raise errors.ValidationError("a command id must be a non-empty string")
    return f"{_terminal_path(terminal_id)}/commands/{quote(cmd_id, safe='')}"


def _status(value: Any) -> str:
    # "active" and "ready" are older daemons' words for a running terminal.
    status = str(value or "running")
    return "running" if status in ("active", "ready") else status


def _optional_time(value: Any) -> dt.datetime | None:
    return None if value in (None, "") else parse_datetime(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _check_size(cols: Any, rows: Any) -> None:
    for name, value in (("cols", cols), ("rows", rows)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            raise errors.ValidationError(f"{name} must be an integer from 1 to 65535, not {value!r}")


@attrs.frozen
class TerminalInfo:
    """A terminal as the daemon lists it; ``channel`` is None for exec terminals."""

    id: str
    pty: bool
    status: str
    channel: str | None
    encoding: str
    shell: str | None = None
    cols: int | None = None
    rows: int | None = None
    created_at: dt.datetime | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> TerminalInfo:
        """Read the daemon's Terminal object."""
        return cls(
            id=str(data["id"]),
            pty=bool(data.get("pty", False)),
            status=_status(data.get("status")),
            channel=data.get("channel") or None,
            encoding=str(data.get("encoding") or "raw"),
            shell=data.get("shell"),
            cols=_optional_int(data.get("cols")),
            rows=_optional_int(data.get("rows")),
            created_at=_optional_time(data.get("created_at")),
        )


@attrs.define(eq=False)
class Command:
    """A command of an exec terminal. ``status`` is ``running``, ``completed`` or ``failed``.

    ``exit_code``, ``duration_ms`` and ``finished_at`` are None while it runs. Items of
    ``command.list()`` carry no output (``stdout`` and ``stderr`` are empty): ``refresh()`` them.
    """

    id: str
    terminal_id: str
    command: str
    status: str
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    duration_ms: int | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    _daemon: DaemonGetter | None = attrs.field(default=None, repr=False, alias="daemon")

    @classmethod
    def from_data(cls, data: dict[str, Any], terminal_id: str, daemon: DaemonGetter) -> Command:
        """Read a CommandExecution, CommandDetails or command list item."""
        command = cls(id=str(data["cmd_id"]), terminal_id=str(data.get("terminal_id") or terminal_id),
                      command=str(data.get("command", "")), status="running", daemon=daemon)
        command._update(data)
        return command

    def _update(self, data: dict[str, Any]) -> None:
        self.status = str(data.get("status") or self.status)
        if "stdout" in data:
            self.stdout = str(data["stdout"])
        if "stderr" in data:
            self.stderr = str(data["stderr"])
        self.exit_code = _optional_int(data.get("exit_code"))
        self.duration_ms = _optional_int(data.get("duration_ms"))
        self.started_at = _optional_time(data.get("started_at")) or self.started_at
        self.finished_at = _optional_time(data.get("finished_at"))

    def _client(self) -> DaemonClient:
        if self._daemon is None:
            raise errors.ValidationError("this Command is not attached to a sandbox")
        return self._daemon()

    def is_running(self) -> bool:
        """Whether it was still running when last fetched."""
        return self.status == "running"

    def refresh(self) -> Command:
        """Fetch its current status and output; returns itself."""
        self._update(self._client().http.data("GET", _command_path(self.terminal_id, self.id)))
        return self

    def wait(self, timeout: float | None = None) -> Command:
        """Block until it ends (at most ``timeout`` seconds; None or 0 waits without limit); returns itself.

        Raises :class:`~computesdk_core.errors.OperationTimeoutError` when ``timeout`` passes first
        (the command keeps running).
        """
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                    or math.isnan(timeout) or timeout < 0):
            raise errors.ValidationError(f"timeout must be a non-negative number of seconds, not {timeout!r}")
        deadline = time.monotonic() + timeout if timeout else None
        path = _command_path(self.terminal_id, self.id) + "/wait"
        while self.status == "running":
            remaining = MAX_WAIT_SLICE if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                raise errors.OperationTimeoutError(
                    f"command {self.id} was still running after {timeout} s: {self.command[:200]}"
                )
            wait = min(remaining, MAX_WAIT_SLICE)
            data = self._client().http.data(
                "GET", path, params={"timeout": f"{wait:.3f}"},
                headers={"X-Request-Timeout": str(math.ceil(wait))}, timeout=wait + WAIT_GRACE,
            )
            self._update(data)
        return self


class TerminalCommands:
    """``terminal.command``: run and look up the tracked commands of an exec terminal."""

    def __init__(self, daemon: DaemonGetter, terminal_id: str) -> None:
        self._daemon = daemon
        self._terminal_id = terminal_id

    def run(self, command: str, background: bool = False) -> Command:
        """Run a shell command string; foreground waits for its end, background returns it running.

        A non-zero exit code is a result (status ``failed``), not an exception.
        """
        if not isinstance(command, str) or not command.strip():
            raise errors.ValidationError("command must be a non-empty string")
        body = {"command": command, "background": bool(background)}
        # A foreground command takes as long as it takes: the read waits for the daemon's answer.
        data = self._daemon().http.data("POST", _terminal_path(self._terminal_id) + "/execute",
                                        json=body, timeout="default" if background else None)
        return Command.from_data(data, self._terminal_id, self._daemon)

    def list(self) -> builtins.list[Command]:
        """The terminal's commands, oldest first (without their output)."""
        data = self._daemon().http.data("GET", _terminal_path(self._terminal_id) + "/commands")
        return [Command.from_data(item, self._terminal_id, self._daemon) for item in data.get("commands", [])]

    def retrieve(self, cmd_id: str) -> Command:
        """One command with its status and output; NotFoundError for an unknown id."""
        data = self._daemon().http.data("GET", _command_path(self._terminal_id, cmd_id))
        return Command.from_data(data, self._terminal_id, self._daemon)


class Terminal:
    """A terminal in the sandbox: a PTY shell (``write``, ``resize``, ``on``) or an exec terminal (``command``).

    Event handlers run on the sandbox's event thread: ``on("output", fn)`` gets ``fn(text)``
    (base64 output arrives decoded), ``on("error", fn)`` gets ``fn(message)``, and
    ``on("destroyed", fn)`` gets ``fn()`` once when the shell exits or the terminal is destroyed.
    """

    def __init__(self, daemon: DaemonGetter, info: TerminalInfo) -> None:
        """Wrap a terminal the daemon described; nothing is subscribed yet."""
        self._daemon = daemon
        self._info = info
        self._status = info.status
        self._lock = threading.Lock()
        self._client: DaemonClient | None = None
        self._emitter: EventEmitter | None = None
        self._subscribed = False
        self._ended = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._commands = None if info.pty else TerminalCommands(daemon, info.id)

    def __repr__(self) -> str:
        kind = "pty" if self.pty else "exec"
        return f"Terminal(id={self.id!r}, {kind}, status={self.status!r})"

    @property
    def id(self) -> str:
        """The terminal's id (``term_...``)."""
        return self._info.id

    @property
    def pty(self) -> bool:
        """True for an interactive PTY shell, False for an exec terminal."""
        return self._info.pty

    @property
    def status(self) -> str:
        """``running``, or ``stopped`` once its shell exited or it was destroyed."""
        return self._status

    @property
    def channel(self) -> str | None:
        """The WebSocket channel of a PTY terminal (None for exec terminals)."""
        return self._info.channel

    @property
    def encoding(self) -> str:
        """How the daemon sends output: ``raw`` or ``base64`` (handlers get text either way)."""
        return self._info.encoding

    @property
    def command(self) -> TerminalCommands:
        """The tracked commands of an exec terminal (a PTY terminal has none: use ``write``)."""
        if self._commands is None:
            raise errors.ValidationError(f"terminal {self.id} is a PTY terminal: use write(), not command")
        return self._commands

    def is_running(self) -> bool:
        """Whether the terminal is running, as far as this client knows."""
        return self._status == "running"

    # --- PTY --------------------------------------------------------------------------------

    def _require_pty(self, what: str) -> None:
        if not self.pty:
            raise errors.ValidationError(f"terminal {self.id} is an exec terminal: {what} needs a PTY terminal")

    def _emitter_of_connection(self) -> EventEmitter:
        """The emitter, bound to the sandbox connection of first use."""
        with self._lock:
            if self._emitter is None:
                self._client = self._daemon()
                self._emitter = EventEmitter(self._client.dispatcher, events=("output", "error", "destroyed"))
            return self._emitter

    def _subscribe(self) -> None:
        """Subscribe to the channel once; the daemon then sends the output it held back."""
        self._emitter_of_connection()
        with self._lock:
            subscribe = not self._subscribed and not self._ended and self.channel is not None
            self._subscribed = self._subscribed or subscribe
            client = self._client
        if subscribe and client is not None and self.channel is not None:
            try:
                client.socket.subscribe(self.channel, self._sink)
            except BaseException:
                with self._lock:
                    self._subscribed = False
                raise

    def _require_running(self, what: str) -> None:
        if self._status != "running":
            raise errors.ValidationError(f"cannot {what}: terminal {self.id} is {self._status}")

    def write(self, data: str) -> None:
        """Send input to the shell exactly as given (``"ls\\n"`` runs ``ls``)."""
        self._require_pty("write()")
        if not isinstance(data, str):
            raise errors.ValidationError(f"data must be a str, not {type(data).__name__}")
        self._require_running("write")
        self._subscribe()
        self._send(Message("terminal:input", data={"terminal_id": self.id, "input": data}))

    def resize(self, cols: int, rows: int) -> None:
        """Change the window size; programs inside get SIGWINCH and see the new size."""
        self._require_pty("resize()")
        _check_size(cols, rows)
        self._require_running("resize")
        self._subscribe()
        self._send(Message("terminal:resize", data={"terminal_id": self.id, "cols": cols, "rows": rows}))

    def _send(self, message: Message) -> None:
        client = self._client
        assert client is not None
        client.socket.send(message)

    def on(self, event: TerminalEvent, handler: Handler) -> None:
        """Call ``handler`` for ``output`` (text), ``error`` (message) or ``destroyed`` (no argument)."""
        self._require_pty("on()")
        # The handler first: output held back by the daemon comes as soon as the channel is subscribed.
        self._emitter_of_connection().on(event, handler)
        self._subscribe()

    def off(self, event: TerminalEvent, handler: Handler | None = None) -> None:
        """Stop calling ``handler`` (every handler of ``event`` when None)."""
        self._require_pty("off()")
        if self._emitter is not None:
            self._emitter.off(event, handler)

    def _sink(self, message: Message) -> None:
        """Runs on the socket's reader thread: decodes and hands events on, nothing slow."""
        emitter = self._emitter
        if emitter is None:
            return
        data = message.data if isinstance(message.data, dict) else {}
        if message.type == "terminal:output":
            output = data.get("output", "")
            if (data.get("encoding") or self.encoding) == "base64":
                text = self._decoder.decode(base64.b64decode(output))
            else:
                text = str(output)
            if text:
                emitter.emit("output", text)
        elif message.type == "terminal:error":
            emitter.emit("error", str(data.get("error") or "terminal error"))
            if data.get("running") is False:
                self._end()
        elif message.type == "terminal:destroyed":
            self._end()
        elif message is RECONNECT_FAILED:
            emitter.emit("error", "lost the connection to the sandbox; the terminal's output stops here")

    def _end(self) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self._status = "stopped"
            subscribed, self._subscribed = self._subscribed, False
            client, emitter = self._client, self._emitter
        if emitter is not None:
            # Queued after every output already emitted, so "destroyed" comes last.
            emitter.emit("destroyed")
        if subscribed and client is not None and self.channel is not None:
            client.socket.unsubscribe(self.channel, self._sink)

    # --- both -------------------------------------------------------------------------------

    def destroy(self) -> None:
        """Kill everything the terminal runs and forget it in the sandbox; idempotent."""
        if self._ended:
            return
        try:
            self._daemon().http.request("DELETE", _terminal_path(self.id))
        except errors.NotFoundError:
            pass  # already gone in the sandbox; what is left is the local end
        self._end()

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.destroy()


class Terminals:
    """``sandbox.terminals``: create, list, retrieve and destroy terminals."""

    def __init__(self, daemon: DaemonGetter) -> None:
        """``daemon`` returns the sandbox's current daemon client."""
        self._daemon = daemon

    def create(self, pty: bool = False, shell: str | None = None, encoding: str = "raw",
               cols: int = 80, rows: int = 24) -> Terminal:
        """Start a terminal: an interactive shell (``pty=True``, default ``/bin/bash``) or an exec terminal.

        ``encoding="base64"`` makes the daemon send a PTY's output base64-encoded (handlers still get
        text); ``cols`` and ``rows`` are the PTY's initial size.
        """
        if encoding not in _ENCODINGS:
            raise errors.ValidationError(f"encoding must be 'raw' or 'base64', not {encoding!r}")
        _check_size(cols, rows)
        body: dict[str, Any] = {"pty": bool(pty), "encoding": encoding, "cols": cols, "rows": rows}
        if shell is not None:
            if not isinstance(shell, str) or not shell:
                raise errors.ValidationError("shell must be a non-empty string")
            body["shell"] = shell
        data = self._daemon().http.data("POST", "/terminals", json=body)
        return Terminal(self._daemon, TerminalInfo.from_data(data))

    def list(self) -> builtins.list[TerminalInfo]:
        """Every terminal created in the sandbox (running, or stopped after its shell exited)."""
        data = self._daemon().http.data("GET", "/terminals")
        return [TerminalInfo.from_data(item) for item in data.get("terminals", [])]

    def retrieve(self, terminal_id: str) -> Terminal:
        """A terminal by id, ready to use; NotFoundError for an unknown id."""
        data = self._daemon().http.data("GET", _terminal_path(terminal_id))
        return Terminal(self._daemon, TerminalInfo.from_data(data))

    def destroy(self, terminal_id: str) -> None:
        """Kill everything a terminal runs and forget it; NotFoundError for an unknown id."""
        self._daemon().http.request("DELETE", _terminal_path(terminal_id))
