"""Commands through the toolbox: Daytona sessions for ``run_command``, ``/process/execute`` for code.

``/process/execute`` merges stdout and stderr, so ``run_command`` (whose result keeps them apart)
runs every command in a session of its own: a synchronous session exec when nobody listens and no
deadline applies (one round trip gives stdout, stderr and the exit code), else an asynchronous one
whose logs are polled (``on_stdout``/``on_stderr`` get each new piece) until the command has an exit
code or the deadline passes. Deleting the session kills what still runs in it.
"""

from __future__ import annotations

import base64
import math
import shlex
import time
import uuid
from typing import Any

from computesdk_core import errors
from computesdk_core.types import CodeResult, CommandResult, RunOptions
from computesdk_daytona.handle import DaytonaSandbox

_POLL_START, _POLL_MAX = 0.01, 0.5
_INTERPRETERS = {"python": ("python3", ".py"), "node": ("node", ".js")}


def command_script(command: str, cwd: str | None, env: dict[str, str]) -> str:
    """``command`` in a subshell with ``cwd`` and ``env``: nothing leaks into the session's shell.

    The closing parenthesis gets a line of its own, so a command ending in a comment still closes it.
    """
    lines = []
    if cwd is not None:
        lines.append(f"cd -- {shlex.quote(cwd)} || exit 1")
    lines += [f"export {key}={shlex.quote(value)}" for key, value in env.items()]
    lines.append(command)
    return "(\n" + "\n".join(lines) + "\n)"


class _Session:
    """One toolbox session, made for one command."""

    def __init__(self, box: DaytonaSandbox) -> None:
        self.box = box
        self.base = box.toolbox_url
        self.id = f"computesdk-{uuid.uuid4().hex}"
        self.path = f"/process/session/{self.id}"
        self.deleted = False
        self.call("POST", "/process/session", json={"sessionId": self.id}, idempotent=False)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.box.client.toolbox_json(method, self.base, path, **kwargs)

    def execute(self, script: str, run_async: bool, read_timeout: float | None | str) -> dict[str, Any]:
        data = self.call("POST", f"{self.path}/exec", json={"command": script, "runAsync": run_async},
                         idempotent=False, timeout=read_timeout)
        if not isinstance(data, dict) or not data.get("cmdId"):
            raise errors.ProviderAPIError("daytona: the toolbox did not return a command id",
                                          status_code=None, provider="daytona", request_id=None)
        return data

    def exit_code(self, cmd_id: str) -> int | None:
        data = self.call("GET", f"{self.path}/command/{cmd_id}")
        code = data.get("exitCode") if isinstance(data, dict) else None
        return None if code is None else int(code)

    def logs(self, cmd_id: str) -> tuple[str, str]:
        response = self.box.client.toolbox("GET", self.base, f"{self.path}/command/{cmd_id}/logs")
        if "json" not in response.headers.get("content-type", ""):
            # A toolbox older than split logs answers the combined output as text.
            return response.text, ""
        try:
            data = response.json()
        except ValueError as exc:
            raise errors.ProviderAPIError("daytona: session logs are not JSON", status_code=response.status_code,
                                          provider="daytona", request_id=None) from exc
        return str(data.get("stdout") or ""), str(data.get("stderr") or "")

    def delete(self) -> None:
        """Delete the session (killing its processes) once; a session already gone is fine."""
        if self.deleted:
            return
        self.deleted = True
        try:
            self.call("DELETE", self.path)
        except errors.NotFoundError:
            pass


class _Emitter:
    """Hands each handler the part of a growing log it has not seen yet."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.sent_out = 0
        self.sent_err = 0

    def feed(self, stdout: str, stderr: str) -> None:
        if self.options.on_stdout is not None and len(stdout) > self.sent_out:
            self.options.on_stdout(stdout[self.sent_out:])
        if self.options.on_stderr is not None and len(stderr) > self.sent_err:
            self.options.on_stderr(stderr[self.sent_err:])
        self.sent_out, self.sent_err = max(self.sent_out, len(stdout)), max(self.sent_err, len(stderr))


def run_command(box: DaytonaSandbox, command: str, options: RunOptions) -> CommandResult:
    """Run ``command`` (see the ``sandbox_run_command`` hookspec) in a new session."""
    started = time.monotonic()
    script = command_script(command, options.cwd, dict(options.env))
    session = _Session(box)
    if options.background:
        if options.timeout is not None:
            script = f"timeout -s KILL {math.ceil(options.timeout)} sh -c {shlex.quote(script)}"
        session.execute(script, run_async=True, read_timeout="default")
        return CommandResult(stdout="", stderr="", exit_code=0, duration_ms=_ms_since(started))
    try:
        if options.timeout is None and options.on_stdout is None and options.on_stderr is None:
            data = session.execute(script, run_async=False, read_timeout=None)
            stdout = data.get("stdout")
            stderr = data.get("stderr")
            if stdout is None and stderr is None:
                stdout, stderr = data.get("output") or "", ""
            code = data.get("exitCode")
            # A toolbox that leaves the code out of the synchronous answer still has it on the command.
            exit_code = int(code) if code is not None else session.exit_code(str(data["cmdId"]))
            return CommandResult(stdout=stdout or "", stderr=stderr or "", exit_code=exit_code if exit_code is not None else -1,
                                 duration_ms=_ms_since(started))
        cmd_id = str(session.execute(script, run_async=True, read_timeout="default")["cmdId"])
        return _follow(session, cmd_id, options, started)
    finally:
        session.delete()


def _follow(session: _Session, cmd_id: str, options: RunOptions, started: float) -> CommandResult:
    deadline = None if options.timeout is None else started + options.timeout
    emitter = _Emitter(options)
    interval = _POLL_START
    while True:
        # The exit code first: once it is set, the logs fetched after it are complete.
        code = session.exit_code(cmd_id)
        stdout, stderr = session.logs(cmd_id)
        emitter.feed(stdout, stderr)
        if code is not None:
            return CommandResult(stdout=stdout, stderr=stderr, exit_code=code, duration_ms=_ms_since(started))
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            session.delete()
            raise errors.CommandTimeoutError(
                f"daytona: the command did not finish within {options.timeout:g} s and was killed",
                stdout=stdout, stderr=stderr, timeout=options.timeout,
            )
        pause = interval if deadline is None else min(interval, max(0.0, deadline - now))
        time.sleep(pause)
        interval = min(interval * 1.5, _POLL_MAX)


def run_code(box: DaytonaSandbox, code: str, language: str) -> CodeResult:
    """Run a snippet with ``/process/execute``, whose one combined output is what ``run_code`` returns."""
    interpreter, suffix = _INTERPRETERS[language]
    encoded = base64.b64encode(code.encode()).decode()
    script = (f"f=$(mktemp --suffix={suffix}) && printf %s {encoded} | base64 -d > \"$f\" && "
              f"{{ {interpreter} \"$f\"; rc=$?; rm -f \"$f\"; exit $rc; }}")
    data = box.client.toolbox_json("POST", box.toolbox_url, "/process/execute", json={"command": script},
                                   idempotent=False, timeout=None)
    if not isinstance(data, dict):
        raise errors.ProviderAPIError("daytona: /process/execute answered without a result object",
                                      status_code=None, provider="daytona", request_id=None)
    return CodeResult(output=str(data.get("result") or ""), exit_code=int(data.get("exitCode") or 0), language=language)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
