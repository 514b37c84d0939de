"""Tracked commands and the terminals that hold them.

The implicit exec terminal runs background and streamed ``/run/command`` commands; exec
terminals created over ``POST /terminals`` (see :mod:`computesdk_daemon.terminals`) track their
commands the same way. The registry also holds PTY terminals, which have no command routes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Awaitable
from typing import Any, Protocol, TypeVar

from aiohttp import web

from computesdk_core.wire import format_datetime
from computesdk_daemon import openapi
from computesdk_daemon.errors import ApiError
from computesdk_daemon.execution import Outcome, run_child
from computesdk_daemon.output import TailBuffer, TextSink
from computesdk_daemon.processes import Child, ProcessSupervisor
from computesdk_daemon.request_body import parse_seconds
from computesdk_daemon.responses import wrapped

# Characters of each stream a tracked command keeps: a chatty process cannot eat memory.
TAIL_LIMIT = 1024 * 1024
# Finished commands remembered per terminal; older ones are forgotten.
FINISHED_KEPT = 100
# Longest long poll, also what "no timeout" means (the upstream tunnel's limit).
MAX_WAIT = 300.0
# Stopped terminals (a PTY whose shell exited) still listed; older ones are forgotten.
STOPPED_KEPT = 100


_T = TypeVar("_T")


def new_command_id() -> str:
    """A fresh, unguessable command id."""
    return f"cmd_{secrets.token_hex(8)}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class CommandRecord:
    """One tracked command: its state and the tail of its output."""

    def __init__(self, cmd_id: str, command: str, terminal_id: str) -> None:
        self.cmd_id = cmd_id
        self.command = command
        self.terminal_id = terminal_id
        self.started_at = _now()
        self.stdout = TailBuffer(TAIL_LIMIT)
        self.stderr = TailBuffer(TAIL_LIMIT)
        self.status = "running"
        self.finished_at: dt.datetime | None = None
        self.exit_code: int | None = None
        self.duration_ms: int | None = None
        self.timed_out = False
        self.done = asyncio.Event()

    def finish(self, outcome: Outcome) -> None:
        """Record how the command ended and wake its waiters."""
        self.exit_code = outcome.exit_code
        self.duration_ms = outcome.duration_ms
        self.timed_out = outcome.timed_out
        self.status = "completed" if outcome.exit_code == 0 else "failed"
        self.finished_at = _now()
        self.done.set()

    def summary(self) -> dict[str, Any]:
        """The list-item form (no output)."""
        data: dict[str, Any] = {
            "cmd_id": self.cmd_id,
            "command": self.command,
            "status": self.status,
            "started_at": format_datetime(self.started_at),
        }
        if self.finished_at is not None:
            data["finished_at"] = format_datetime(self.finished_at)
            data["duration_ms"] = self.duration_ms
            data["exit_code"] = self.exit_code
            if self.timed_out:
                data["timed_out"] = True
        return data

    def details(self) -> dict[str, Any]:
        """CommandDetails: the summary plus the kept output."""
        return {**self.summary(), "stdout": self.stdout.text(), "stderr": self.stderr.text()}


def new_terminal_id() -> str:
    """A fresh, unguessable terminal id."""
    return f"term_{secrets.token_hex(8)}"


class Terminal(Protocol):
    """What the registry needs of any terminal, PTY or exec."""

    id: str
    pty: bool
    status: str

    def describe(self) -> dict[str, Any]:
        """The Terminal object of the protocol."""

    async def destroy(self) -> None:
        """Kill everything the terminal runs; idempotent."""


class ExecTerminal:
    """A terminal whose commands are tracked one by one; each command is a shell of its own."""

    pty = False

    def __init__(self, terminal_id: str, shell: str = "", encoding: str = "raw") -> None:
        self.id = terminal_id
        self.shell = shell
        self.encoding = encoding
        self.status = "running"
        self.created_at = _now()
        self.commands: dict[str, CommandRecord] = {}
        self.children: set[Child] = set()

    def describe(self) -> dict[str, Any]:
        """The Terminal object of the protocol (exec terminals have no channel)."""
        data: dict[str, Any] = {"id": self.id, "pty": False, "status": self.status, "encoding": self.encoding,
                                "created_at": format_datetime(self.created_at)}
        if self.shell:
            data["shell"] = self.shell
        return data

    async def track(self, child: Child, run: Awaitable[_T]) -> _T:
        """Await ``run`` (the following of ``child``), killing the child if the terminal goes."""
        self.children.add(child)
        try:
            return await run
        finally:
            self.children.discard(child)

    async def destroy(self) -> None:
        """Kill the process group of every running command; their records end as failed."""
        self.status = "stopped"
        for child in list(self.children):
            child.kill_group()
        for child in list(self.children):
            await child.wait()

    def new_command(self, command: str, cmd_id: str | None = None) -> CommandRecord:
        """Create and remember a record for a command that is starting."""
        record = CommandRecord(cmd_id or new_command_id(), command, self.id)
        self.commands[record.cmd_id] = record
        finished = [r for r in self.commands.values() if r.done.is_set()]
        for old in finished[: max(0, len(finished) - FINISHED_KEPT)]:
            del self.commands[old.cmd_id]
        return record

    def command(self, cmd_id: str) -> CommandRecord:
        """A command of this terminal, or 404."""
        record = self.commands.get(cmd_id)
        if record is None:
            raise ApiError(404, f"command not found: {cmd_id}")
        return record


class TerminalRegistry:
    """Terminals by id; starts with the implicit exec terminal of /run/command."""

    def __init__(self) -> None:
        self.implicit = ExecTerminal(new_terminal_id())
        self._terminals: dict[str, Terminal] = {self.implicit.id: self.implicit}

    def add(self, terminal: Terminal) -> None:
        """Register a new terminal, forgetting the oldest stopped ones beyond the limit."""
        self._terminals[terminal.id] = terminal
        stopped = [t for t in self._terminals.values() if t.status != "running"]
        for old in stopped[: max(0, len(stopped) - STOPPED_KEPT)]:
            del self._terminals[old.id]

    def remove(self, terminal_id: str) -> None:
        """Forget a terminal (no error if it is gone)."""
        self._terminals.pop(terminal_id, None)

    def created(self) -> list[Terminal]:
        """Every terminal created over HTTP (the implicit one is not listed)."""
        return [t for t in self._terminals.values() if t is not self.implicit]

    def get(self, terminal_id: str) -> Terminal:
        """A terminal, or 404."""
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise ApiError(404, f"terminal not found: {terminal_id}")
        return terminal

    def get_exec(self, terminal_id: str) -> ExecTerminal:
        """An exec terminal; 404 if unknown, 400 for a PTY (its I/O goes over the WebSocket)."""
        terminal = self.get(terminal_id)
        if not isinstance(terminal, ExecTerminal):
            raise ApiError(400, f"terminal {terminal_id} is a PTY terminal: it runs no tracked commands "
                                "(send terminal:input over the WebSocket, or create one with pty false)")
        return terminal


TERMINALS = web.AppKey("terminals", TerminalRegistry)


async def follow(
    supervisor: ProcessSupervisor,
    child: Child,
    record: CommandRecord,
    timeout: float | None,
    on_stdout: TextSink | None = None,
    on_stderr: TextSink | None = None,
) -> Outcome:
    """Run a tracked child to its end, keeping its output tail (and passing it on)."""

    def tee(buffer: TailBuffer, extra: TextSink | None) -> TextSink:
        async def sink(text: str) -> None:
            buffer.append(text)
            if extra is not None:
                await extra(text)

        return sink

    outcome = await run_child(
        supervisor, child, tee(record.stdout, on_stdout), tee(record.stderr, on_stderr), timeout
    )
    record.finish(outcome)
    return outcome


async def list_commands(request: web.Request) -> web.Response:
    """GET /terminals/{terminal_id}/commands."""
    terminal = request.app[TERMINALS].get_exec(request.match_info["terminal_id"])
    commands = [record.summary() for record in terminal.commands.values()]
    return wrapped("Commands", {"commands": commands, "count": len(commands)})


async def get_command(request: web.Request) -> web.Response:
    """GET /terminals/{terminal_id}/commands/{cmd_id}."""
    terminal = request.app[TERMINALS].get_exec(request.match_info["terminal_id"])
    return wrapped("Command", terminal.command(request.match_info["cmd_id"]).details())


async def wait_command(request: web.Request) -> web.Response:
    """GET .../wait?timeout=S: long poll until the command ends (or S seconds, at most 300)."""
    terminal = request.app[TERMINALS].get_exec(request.match_info["terminal_id"])
    record = terminal.command(request.match_info["cmd_id"])
    raw = request.query.get("timeout")
    timeout = parse_seconds(raw, "timeout") if raw else None
    try:
        await asyncio.wait_for(record.done.wait(), min(timeout or MAX_WAIT, MAX_WAIT))
    except asyncio.TimeoutError:
        pass
    message = "Command finished" if record.done.is_set() else "Command still running"
    return wrapped(message, record.details())


_TERMINAL_ID = {"name": "terminal_id", "in": "path", "required": True, "schema": {"type": "string"}}
_CMD_ID = {"name": "cmd_id", "in": "path", "required": True, "schema": {"type": "string"}}
_JSON: dict[str, Any] = {"application/json": {}}

OPENAPI_PATHS: dict[str, Any] = {
    "/terminals/{terminal_id}/commands": {"get": {
        "summary": "List the tracked commands of an exec terminal (no output in the items)",
        "parameters": [_TERMINAL_ID],
        "responses": {"200": {"description": "Wrapped {commands, count}", "content": _JSON},
                      **openapi.error_responses(400, 401, 404)},
    }},
    "/terminals/{terminal_id}/commands/{cmd_id}": {"get": {
        "summary": "One tracked command with its status and the tail of its stdout and stderr",
        "parameters": [_TERMINAL_ID, _CMD_ID],
        "responses": {"200": {"description": "Wrapped CommandDetails", "content": _JSON},
                      **openapi.error_responses(400, 401, 404)},
    }},
    "/terminals/{terminal_id}/commands/{cmd_id}/wait": {"get": {
        "summary": "Long poll until a tracked command ends (or timeout seconds pass, at most 300)",
        "parameters": [_TERMINAL_ID, _CMD_ID,
                       {"name": "timeout", "in": "query", "required": False,
                        "schema": {"type": "number", "minimum": 0},
                        "description": "Seconds to wait; 0 or absent means the 300 s maximum"}],
        "responses": {"200": {"description": "Wrapped CommandDetails; status is still running on timeout",
                              "content": _JSON},
                      **openapi.error_responses(400, 401, 404)},
    }},
}


def setup(app: web.Application) -> None:
    """Attach the terminal registry and the command routes."""
    app[TERMINALS] = TerminalRegistry()
    app.router.add_get("/terminals/{terminal_id}/commands", list_commands)
    app.router.add_get("/terminals/{terminal_id}/commands/{cmd_id}", get_command)
    app.router.add_get("/terminals/{terminal_id}/commands/{cmd_id}/wait", wait_command)
