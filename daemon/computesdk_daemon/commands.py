"""POST /run/command: foreground, background and streamed shell commands."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from computesdk_daemon import api_schema as api
from computesdk_daemon.command_spec import CommandSpec, parse_command
from computesdk_daemon.config import CONFIG
from computesdk_daemon.errors import ApiError
from computesdk_daemon.exec_terminals import TERMINALS, follow
from computesdk_daemon.execution import run_child
from computesdk_daemon.output import TailBuffer
from computesdk_daemon.processes import SUPERVISOR, Child, ProcessSupervisor
from computesdk_daemon.request_body import get_bool, read_object
from computesdk_daemon.responses import wrapped
from computesdk_daemon.streaming import STREAMS

# Characters of each stream a foreground command returns (the last ones win).
FOREGROUND_LIMIT = 32 * 1024 * 1024


def spawn_spec(supervisor: ProcessSupervisor, spec: CommandSpec) -> Child:
    """Start a parsed command; a failure to start is the daemon's (500)."""
    try:
        return supervisor.spawn(spec.argv, cwd=spec.cwd, env=spec.env)
    except OSError as exc:
        raise ApiError(500, f"could not start the command: {exc.strerror or exc}") from exc


async def run_command(request: web.Request) -> web.Response:
    """POST /run/command {command, cwd?, env?, background?, stream?, timeout?, shell?}."""
    body = await read_object(request)
    spec = parse_command(body, request.app[CONFIG].workdir)
    stream = get_bool(body, "stream")
    background = get_bool(body, "background")
    terminals = request.app[TERMINALS]
    if stream:
        pending = request.app[STREAMS].create(spec)
        data: dict[str, Any] = {
            "command": spec.command,
            "cmd_id": pending.cmd_id,
            "channel": pending.channel,
            "terminal_id": terminals.implicit.id,
            "status": "pending",
        }
        return wrapped("Command created; send command:start on the WebSocket to run it", data)
    supervisor = request.app[SUPERVISOR]
    child = spawn_spec(supervisor, spec)
    if background:
        record = terminals.implicit.new_command(spec.command)
        supervisor.track(asyncio.ensure_future(follow(supervisor, child, record, spec.timeout)))
        data = {
            "command": spec.command,
            "terminal_id": record.terminal_id,
            "cmd_id": record.cmd_id,
            "status": "running",
            "stdout": "",
            "stderr": "",
        }
        return wrapped("Command started in the background", data)
    stdout, stderr = TailBuffer(FOREGROUND_LIMIT), TailBuffer(FOREGROUND_LIMIT)
    outcome = await run_child(supervisor, child, stdout.write, stderr.write, spec.timeout)
    data = {
        "command": spec.command,
        "stdout": stdout.text(),
        "stderr": stderr.text(),
        "exit_code": outcome.exit_code,
        "duration_ms": outcome.duration_ms,
    }
    if outcome.timed_out:
        data["timed_out"] = True
    if stdout.truncated or stderr.truncated:
        # Only the newest output fits; say so rather than return a tail as if it were everything.
        data["truncated"] = True
    return wrapped("Command timed out" if outcome.timed_out else "Command executed", data)


_COMMAND_BODY = api.obj(
    {
        "command": {**api.STRING, "minLength": 1, "description": "One shell command line"},
        "cwd": {**api.STRING, "description": "Working directory; relative to the sandbox's work directory"},
        "env": {**api.STRING_MAP, "description": "Variables added to the daemon's environment"},
        "shell": {**api.STRING, "description": "Shell that runs the line with -c (default /bin/bash, else /bin/sh)"},
        "background": {**api.BOOLEAN, "description": "Return at once; follow it under /terminals/.../commands"},
        "stream": {**api.BOOLEAN, "description": "Create only; send command:start on the WebSocket to run it"},
        "timeout": {**api.SECONDS, "description": "Kill the command's process group after this many seconds"},
    },
    required=("command",),
)
_EXECUTION = api.obj(
    {
        "command": api.STRING,
        "stdout": api.STRING,
        "stderr": api.STRING,
        "exit_code": {**api.INTEGER, "description": "Foreground only; 124 when the timeout ended it"},
        "duration_ms": {**api.INTEGER, "description": "Foreground only"},
        "timed_out": {"const": True, "description": "Foreground only, present when the timeout ended it"},
        "truncated": {"const": True, "description": "Foreground only, present when stdout or stderr kept only its newest 32 MiB "
                                                    "(stream the command to get all of it)"},
        "terminal_id": {**api.STRING, "description": "Background and stream"},
        "cmd_id": {**api.STRING, "description": "Background and stream"},
        "status": {"type": "string", "enum": ["pending", "running"],
                   "description": "Background: running; stream: pending (not started yet)"},
        "channel": {**api.STRING, "description": "Stream only: the WebSocket channel of its output"},
    },
    required=("command",),
)

OPENAPI_PATHS = {
    "/run/command": {"post": {
        "summary": "Run a shell command: foreground, background or streamed",
        "description": "A non-zero exit code is not an HTTP error. Foreground calls answer when the "
                       "command ends (or its timeout kills it, with timed_out: true).",
        "requestBody": api.json_body(_COMMAND_BODY),
        "responses": {"200": api.wrapped("The command's execution", _EXECUTION), **api.errors(400, 401, 404, 500)},
    }},
}


def setup(app: web.Application) -> None:
    """Register /run/command (needs processes, exec_terminals and streaming set up)."""
    app.router.add_post("/run/command", run_command)
