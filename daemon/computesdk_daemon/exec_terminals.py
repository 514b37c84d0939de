"""Tracked commands: the implicit exec terminal that background and streamed commands run in.

A full terminal feature (PTY and exec terminals created over HTTP) can register more
terminals in :class:`TerminalRegistry`; the command routes below serve any of them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import Any

from aiohttp import web

from computesdk_core.wire import format_datetime
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


class ExecTerminal:
    """A terminal whose commands are tracked one by one."""

    def __init__(self, terminal_id: str) -> None:
        self.id = terminal_id
        self.commands: dict[str, CommandRecord] = {}

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
        self.implicit = ExecTerminal(f"term_{secrets.token_hex(8)}")
        self._terminals: dict[str, ExecTerminal] = {self.implicit.id: self.implicit}

    def get(self, terminal_id: str) -> ExecTerminal:
        """A terminal, or 404."""
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise ApiError(404, f"terminal not found: {terminal_id}")
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
    terminal = request.app[TERMINALS].get(request.match_info["terminal_id"])
    commands = [record.summary() for record in terminal.commands.values()]
    return wrapped("Commands", {"commands": commands, "count": len(commands)})


async def get_command(request: web.Request) -> web.Response:
    """GET /terminals/{terminal_id}/commands/{cmd_id}."""
    terminal = request.app[TERMINALS].get(request.match_info["terminal_id"])
    return wrapped("Command", terminal.command(request.match_info["cmd_id"]).details())


async def wait_command(request: web.Request) -> web.Response:
    """GET .../wait?timeout=S: long poll until the command ends (or S seconds, at most 300)."""
    terminal = request.app[TERMINALS].get(request.match_info["terminal_id"])
    record = terminal.command(request.match_info["cmd_id"])
    raw = request.query.get("timeout")
    timeout = parse_seconds(raw, "timeout") if raw else None
    try:
        await asyncio.wait_for(record.done.wait(), min(timeout or MAX_WAIT, MAX_WAIT))
    except asyncio.TimeoutError:
        pass
    message = "Command finished" if record.done.is_set() else "Command still running"
    return wrapped(message, record.details())


def setup(app: web.Application) -> None:
    """Attach the terminal registry and the command routes."""
    app[TERMINALS] = TerminalRegistry()
    app.router.add_get("/terminals/{terminal_id}/commands", list_commands)
    app.router.add_get("/terminals/{terminal_id}/commands/{cmd_id}", get_command)
    app.router.add_get("/terminals/{terminal_id}/commands/{cmd_id}/wait", wait_command)
