"""/terminals: PTY terminals (I/O over the WebSocket) and exec terminals (tracked commands over HTTP)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from computesdk_core.protocol import Message
from computesdk_daemon import openapi
from computesdk_daemon.command_spec import command_environment, default_shell, find_program
from computesdk_daemon.config import CONFIG
from computesdk_daemon.errors import ApiError
from computesdk_daemon.exec_terminals import TERMINALS, ExecTerminal, follow, new_terminal_id
from computesdk_daemon.hub import HUB, Connection
from computesdk_daemon.processes import SUPERVISOR
from computesdk_daemon.pty_terminal import PtyTerminal, channel_of, check_size
from computesdk_daemon.request_body import get_bool, get_str, read_object, require_str
from computesdk_daemon.responses import wrapped

ENCODINGS = ("raw", "base64")
DEFAULT_COLS, DEFAULT_ROWS = 80, 24
# TERM for PTY shells: programs inside need it to draw (colours, cursor movement).
PTY_TERM = "xterm-256color"


async def _broadcast(app: web.Application, message: Message) -> None:
    # terminal:created goes to every connection, subscribed or not: a client that subscribes
    # only after hearing of the terminal (the TypeScript SDK) must be able to hear of it.
    for connection in list(app[HUB].connections):
        await connection.send(message)


def _shell_of(body: dict[str, Any], env: dict[str, str]) -> str:
    shell = get_str(body, "shell")
    if shell is None:
        return default_shell()
    if not shell or find_program(shell, env) is None:
        raise ApiError(400, f"shell not found: {shell}")
    return shell


async def create_terminal(request: web.Request) -> web.Response:
    """POST /terminals {shell?, encoding?, pty?, cols?, rows?}."""
    app = request.app
    body = await read_object(request)
    pty = get_bool(body, "pty")
    encoding = get_str(body, "encoding") or "raw"
    if encoding not in ENCODINGS:
        raise ApiError(400, "'encoding' must be 'raw' or 'base64'")
    try:
        cols, rows = check_size(body.get("cols", DEFAULT_COLS), body.get("rows", DEFAULT_ROWS))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    registry = app[TERMINALS]
    if not pty:
        exec_terminal = ExecTerminal(new_terminal_id(), _shell_of(body, command_environment({})), encoding)
        registry.add(exec_terminal)
        return wrapped("Terminal created", exec_terminal.describe(), status=201)
    env = command_environment({"TERM": PTY_TERM})
    terminal = PtyTerminal(new_terminal_id(), _shell_of(body, env), encoding, cols, rows)

    async def ended(ended_terminal: PtyTerminal) -> None:
        await app[HUB].publish(ended_terminal.channel, "terminal:destroyed", {"id": ended_terminal.id})

    try:
        terminal.start(app[SUPERVISOR], app[HUB], str(app[CONFIG].workdir), env, ended)
    except OSError as exc:
        raise ApiError(500, f"could not start the shell: {exc.strerror or exc}") from exc
    registry.add(terminal)
    created = Message("terminal:created", terminal.channel, {"id": terminal.id, "status": terminal.status})
    app[SUPERVISOR].track(asyncio.ensure_future(_broadcast(app, created)))
    return wrapped("Terminal created", terminal.describe(), status=201)


async def list_terminals(request: web.Request) -> web.Response:
    """GET /terminals."""
    terminals = [terminal.describe() for terminal in request.app[TERMINALS].created()]
    return wrapped("Terminals", {"terminals": terminals})


async def get_terminal(request: web.Request) -> web.Response:
    """GET /terminals/{terminal_id}."""
    return wrapped("Terminal", request.app[TERMINALS].get(request.match_info["terminal_id"]).describe())


async def delete_terminal(request: web.Request) -> web.Response:
    """DELETE /terminals/{terminal_id}: kill all its processes and forget it."""
    registry = request.app[TERMINALS]
    terminal = registry.get(request.match_info["terminal_id"])
    if terminal is registry.implicit:
        raise ApiError(400, "the implicit terminal of /run/command cannot be destroyed")
    await terminal.destroy()
    registry.remove(terminal.id)
    return web.Response(status=204)


async def execute(request: web.Request) -> web.Response:
    """POST /terminals/{terminal_id}/execute {command, background?}."""
    app = request.app
    terminal = app[TERMINALS].get_exec(request.match_info["terminal_id"])
    body = await read_object(request)
    command = require_str(body, "command")
    background = get_bool(body, "background")
    supervisor = app[SUPERVISOR]
    argv = [terminal.shell or default_shell(), "-c", command]
    try:
        child = supervisor.spawn(argv, cwd=str(app[CONFIG].workdir), env=command_environment({}))
    except OSError as exc:
        raise ApiError(500, f"could not start the command: {exc.strerror or exc}") from exc
    record = terminal.new_command(command)
    run = terminal.track(child, follow(supervisor, child, record, None))
    if background:
        supervisor.track(asyncio.ensure_future(run))
        data = {**record.summary(), "terminal_id": terminal.id, "stdout": "", "stderr": ""}
        return wrapped("Command started in the background", data)
    await run
    return wrapped("Command executed", {**record.details(), "terminal_id": terminal.id})


async def _terminal_error(app: web.Application, connection: Connection, terminal_id: str, error: str) -> None:
    try:
        running = bool(terminal_id) and app[TERMINALS].get(terminal_id).status == "running"
    except ApiError:
        running = False
    # "running" (our addition) tells a client whether the terminal can still take input.
    data = {"error": error, "terminal_id": terminal_id, "running": running}
    await connection.send(Message("terminal:error", channel_of(terminal_id) if terminal_id else "", data))


def _pty_for(app: web.Application, data: Any) -> tuple[str, PtyTerminal | str]:
    """The terminal a client message is about, or the reason it cannot be used."""
    terminal_id = data.get("terminal_id") if isinstance(data, dict) else None
    if not isinstance(terminal_id, str) or not terminal_id:
        return "", "the message needs a 'terminal_id'"
    try:
        terminal = app[TERMINALS].get(terminal_id)
    except ApiError as exc:
        return terminal_id, exc.message
    if not isinstance(terminal, PtyTerminal):
        return terminal_id, f"terminal {terminal_id} is an exec terminal; run commands with POST /terminals/{terminal_id}/execute"
    return terminal_id, terminal


def setup(app: web.Application) -> None:
    """Register the /terminals routes and the terminal:input and terminal:resize handlers."""

    async def on_input(connection: Connection, message: Message) -> None:
        terminal_id, found = _pty_for(app, message.data)
        text = message.data.get("input") if isinstance(message.data, dict) else None
        if isinstance(found, str):
            await _terminal_error(app, connection, terminal_id, found)
        elif not isinstance(text, str):
            await _terminal_error(app, connection, terminal_id, "terminal:input needs a string 'input'")
        else:
            try:
                found.write(text)
            except ValueError as exc:
                await _terminal_error(app, connection, terminal_id, str(exc))

    async def on_resize(connection: Connection, message: Message) -> None:
        terminal_id, found = _pty_for(app, message.data)
        if isinstance(found, str):
            await _terminal_error(app, connection, terminal_id, found)
            return
        try:
            found.resize(*check_size(message.data.get("cols"), message.data.get("rows")))
        except ValueError as exc:
            await _terminal_error(app, connection, terminal_id, str(exc))

    async def on_shutdown(_: web.Application) -> None:
        # Before the supervisor closes: a shell's jobs lead groups the supervisor never saw.
        for terminal in app[TERMINALS].created():
            if isinstance(terminal, PtyTerminal) and terminal.status == "running":
                terminal.kill_session()

    app[HUB].add_handler("terminal:input", on_input)
    app[HUB].add_handler("terminal:resize", on_resize)
    app.on_shutdown.insert(0, on_shutdown)
    app.router.add_post("/terminals", create_terminal)
    app.router.add_get("/terminals", list_terminals)
    app.router.add_get("/terminals/{terminal_id}", get_terminal)
    app.router.add_delete("/terminals/{terminal_id}", delete_terminal)
    app.router.add_post("/terminals/{terminal_id}/execute", execute)


_TERMINAL_ID = {"name": "terminal_id", "in": "path", "required": True, "schema": {"type": "string"}}
_JSON: dict[str, Any] = {"application/json": {}}
_TERMINAL = {"description": "Wrapped Terminal {id, pty, status, channel?, ws_url?, encoding, ...}", "content": _JSON}

OPENAPI_PATHS: dict[str, Any] = {
    "/terminals": {
        "post": {
            "summary": "Create a PTY terminal (interactive shell over the WebSocket) or an exec terminal",
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                "pty": {"type": "boolean", "default": False},
                "shell": {"type": "string", "description": "Default /bin/bash, else /bin/sh"},
                "encoding": {"enum": list(ENCODINGS), "default": "raw"},
                "cols": {"type": "integer", "default": DEFAULT_COLS},
                "rows": {"type": "integer", "default": DEFAULT_ROWS},
            }}}}},
            "responses": {"201": _TERMINAL, **openapi.error_responses(400, 401, 500)},
        },
        "get": {
            "summary": "List the terminals created over HTTP",
            "responses": {"200": {"description": "Wrapped {terminals}", "content": _JSON},
                          **openapi.error_responses(401)},
        },
    },
    "/terminals/{terminal_id}": {
        "get": {
            "summary": "One terminal",
            "parameters": [_TERMINAL_ID],
            "responses": {"200": _TERMINAL, **openapi.error_responses(401, 404)},
        },
        "delete": {
            "summary": "Destroy a terminal, killing every process group it runs",
            "parameters": [_TERMINAL_ID],
            "responses": {"204": {"description": "Destroyed"}, **openapi.error_responses(400, 401, 404)},
        },
    },
    "/terminals/{terminal_id}/execute": {"post": {
        "summary": "Run a tracked command in an exec terminal, in the foreground or the background",
        "parameters": [_TERMINAL_ID],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["command"],
            "properties": {"command": {"type": "string"}, "background": {"type": "boolean", "default": False}},
        }}}},
        "responses": {"200": {"description": "Wrapped CommandExecution", "content": _JSON},
                      **openapi.error_responses(400, 401, 404, 500)},
    }},
}
