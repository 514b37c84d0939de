"""POST /run/code: a snippet run by its language's interpreter, stdout and stderr merged."""

from __future__ import annotations

import os
import subprocess
import tempfile
from typing import Any

from aiohttp import web

from computesdk_daemon import api_schema as api
from computesdk_daemon.code_language import LANGUAGES, language_for
from computesdk_daemon.command_spec import command_environment, find_program
from computesdk_daemon.commands import FOREGROUND_LIMIT
from computesdk_daemon.config import CONFIG
from computesdk_daemon.errors import ApiError
from computesdk_daemon.execution import run_child
from computesdk_daemon.output import TailBuffer
from computesdk_daemon.processes import SUPERVISOR
from computesdk_daemon.request_body import get_seconds, get_str, read_object, require_str
from computesdk_daemon.responses import wrapped


async def run_code(request: web.Request) -> web.Response:
    """POST /run/code {code, language?, timeout?} -> {output, exit_code, language}."""
    body = await read_object(request)
    code = require_str(body, "code")
    name = get_str(body, "language")
    language = language_for(name, code)
    if language is None:
        supported = ", ".join(sorted(LANGUAGES))
        raise ApiError(400, f"unsupported language: {name} (supported: {supported})")
    timeout = get_seconds(body, "timeout")
    env = command_environment({})
    program = find_program(language.interpreter, env)
    data: dict[str, Any] = {"language": language.name}
    if program is None:
        data.update(output=f"{language.interpreter}: command not found\n", exit_code=127)
        return wrapped("Interpreter not installed", data)
    # A file rather than `-c`: no argument-length limit, and tracebacks name a real file. It
    # lives only while the snippet runs, so a killed daemon leaves nothing behind for long.
    fd, script = tempfile.mkstemp(prefix=".computesdk-code-", suffix=language.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(code)
        supervisor = request.app[SUPERVISOR]
        try:
            child = supervisor.spawn(
                [program, script], cwd=str(request.app[CONFIG].workdir), env=env, stderr=subprocess.STDOUT
            )
        except OSError as exc:
            raise ApiError(500, f"could not start {language.interpreter}: {exc.strerror or exc}") from exc
        output = TailBuffer(FOREGROUND_LIMIT)
        outcome = await run_child(supervisor, child, output.write, None, timeout)
    finally:
        os.unlink(script)
    data.update(output=output.text(), exit_code=outcome.exit_code)
    if outcome.timed_out:
        data["timed_out"] = True
    if output.truncated:
        data["truncated"] = True
    return wrapped("Code executed", data)


OPENAPI_PATHS = {
    "/run/code": {"post": {
        "summary": "Run a code snippet with its language's interpreter",
        "description": "stdout and stderr are merged into `output`. Without `language` it is guessed "
                       "from the code. A missing interpreter is exit code 127, not an HTTP error.",
        "requestBody": api.json_body(api.obj(
            {"code": {**api.STRING, "minLength": 1},
             "language": {**api.STRING, "description": "Any case: " + ", ".join(sorted(LANGUAGES))},
             "timeout": {**api.SECONDS, "description": "Kill the interpreter after this many seconds"}},
            required=("code",),
        )),
        "responses": {
            "200": api.wrapped("The snippet's result", api.obj(
                {"output": api.STRING, "exit_code": api.INTEGER, "language": api.STRING,
                 "timed_out": {"const": True, "description": "Present when the timeout ended it"},
                 "truncated": {"const": True, "description": "Present when the output kept only its newest 32 MiB"}},
                required=("output", "exit_code", "language"),
            )),
            **api.errors(400, 401, 500),
        },
    }},
}


def setup(app: web.Application) -> None:
    """Register /run/code."""
    app.router.add_post("/run/code", run_code)
