"""Commands on a Vercel sandbox: ``sh -c <command>`` through the session's ``cmd`` endpoint.

Vercel runs a program with arguments, not a shell string, so the user's command goes whole as
the one argument of ``sh -c`` (no quoting to get wrong); ``cwd`` and ``env`` are fields of the
request. With ``wait`` the answer is an NDJSON stream: the started command, its output chunks as
they come, then the finished command with its exit code. The stream is read on a named daemon
thread so that the caller's deadline holds even while the command is silent; at the deadline the
command is killed (SIGKILL) and CommandTimeoutError carries what it printed. A stream that breaks
off is picked up again from the command's logs, skipping the output already delivered.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import requests

from computesdk_core import errors
from computesdk_core.types import CommandResult, OutputHandler, RunOptions
from computesdk_vercel.api import NDJSON, VercelAPI
from computesdk_vercel.config import PROVIDER
from computesdk_vercel.handle import VercelSandbox
from computesdk_vercel.ndjson import Item, LineReader

# The server kills the command this long after our own deadline, in case we could not.
SERVER_GRACE = 5.0
# Read deadline of one recv on a command stream: a command silent for longer is looked up and its
# logs are read again (so the reading thread never blocks without end).
STREAM_READ_TIMEOUT = 300.0
# How often a broken stream may be picked up again from the logs before giving up.
MAX_REATTACH = 5
SIGKILL = 9


def request_body(command: str, options: RunOptions) -> dict[str, Any]:
    """The ``cmd`` request for ``command`` (a shell string) with ``options``."""
    body: dict[str, Any] = {"command": "sh", "args": ["-c", command], "env": dict(options.env), "sudo": False}
    if options.cwd:
        body["cwd"] = options.cwd
    if options.timeout is not None:
        body["timeout"] = math.ceil((options.timeout + SERVER_GRACE) * 1000)
    return body


def run(handle: VercelSandbox, command: str, options: RunOptions) -> CommandResult:
    """Run ``command`` as the hook ``sandbox_run_command`` describes."""
    started = time.monotonic()
    body = request_body(command, options)
    api = handle.api
    if options.background:
        body.update(wait=False, logs=False)
        handle.call(lambda session_id: api.start_command(session_id, body, api.http.timeout).close())
        return CommandResult(stdout="", stderr="", exit_code=0, duration_ms=_ms(started))
    body.update(wait=True, logs=True)

    def start(session_id: str) -> tuple[str, requests.Response]:
        return session_id, api.start_command(session_id, body, STREAM_READ_TIMEOUT)

    session_id, response = handle.call(start)
    deadline = None if options.timeout is None else started + options.timeout
    follower = Follower(api, session_id, options.on_stdout, options.on_stderr)
    return follower.follow(response, deadline, options.timeout, started)


class Follower:
    """Follows one command's output to its end (or its deadline)."""

    def __init__(self, api: VercelAPI, session_id: str, on_stdout: OutputHandler | None,
                 on_stderr: OutputHandler | None) -> None:
        self.api = api
        self.session_id = session_id
        self.handlers = {"stdout": on_stdout, "stderr": on_stderr}
        self.output: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.delivered = {"stdout": 0, "stderr": 0}
        self.command_id: str | None = None
        self.handler_error: BaseException | None = None

    def follow(self, response: requests.Response, deadline: float | None, timeout: float | None,
               started: float) -> CommandResult:
        """Read ``response`` (then the logs, if it breaks) until the command finished; kill it at ``deadline``."""
        _check_ndjson(response)
        exit_code: int | None = None
        reattached = 0
        while exit_code is None:
            reader = LineReader(response, f"vercel-cmd-{self.command_id or 'starting'}")
            try:
                exit_code, ended = self._consume(reader, deadline, replaying=reattached > 0)
                if exit_code is None and ended == "deadline":
                    # Killed first, so the server ends the stream and the reading thread is free at once.
                    self._kill()
            finally:
                reader.close()
            if exit_code is None and ended == "deadline":
                raise errors.CommandTimeoutError(
                    f"command ran past its timeout of {timeout:g} s and was killed",
                    stdout=self.text("stdout"), stderr=self.text("stderr"), timeout=timeout,
                )
            if exit_code is not None:
                break
            if self.command_id is None:
                raise errors.ConnectionLostError(f"vercel: the command stream broke before the command started ({ended})")
            state = self.api.get_command(self.session_id, self.command_id)
            reattached += 1
            if reattached > MAX_REATTACH:
                raise errors.ConnectionLostError(f"vercel: lost the output stream of command {self.command_id} "
                                                 f"{MAX_REATTACH} times")
            # Even a finished command's logs are read, for output the broken stream had not delivered.
            response = self.api.command_logs(self.session_id, self.command_id, STREAM_READ_TIMEOUT)
            _check_ndjson(response)
            if state.get("exitCode") is not None:
                reader = LineReader(response, f"vercel-logs-{self.command_id}")
                try:
                    self._consume(reader, deadline, replaying=True)
                finally:
                    reader.close()
                exit_code = int(state["exitCode"])
        if self.handler_error is not None:
            raise self.handler_error
        return CommandResult(stdout=self.text("stdout"), stderr=self.text("stderr"), exit_code=exit_code,
                             duration_ms=_ms(started))

    def text(self, which: str) -> str:
        """Everything the command wrote to ``which`` so far."""
        return "".join(self.output[which])

    def _consume(self, reader: LineReader, deadline: float | None, replaying: bool) -> tuple[int | None, str]:
        """Read items until the exit code arrives (``(code, "finished")``) or the stream ends, breaks or times out."""
        replayed = {"stdout": 0, "stderr": 0}
        while True:
            # Without a deadline the reader's own read timeout bounds the wait; the margin is never reached.
            wait = STREAM_READ_TIMEOUT + 30 if deadline is None else max(0.0, deadline - time.monotonic())
            item: Item | None = reader.next(wait)
            if item is None:
                return None, "deadline" if deadline is not None else "silent"
            if item.kind != "line":
                return None, f"{item.kind}: {item.value}" if item.value is not None else item.kind
            line = item.value
            if not isinstance(line, dict):
                continue
            if isinstance(line.get("command"), dict):
                command = line["command"]
                self.command_id = str(command.get("id") or self.command_id or "") or None
                if command.get("exitCode") is not None:
                    return int(command["exitCode"]), "finished"
                continue
            which = line.get("stream")
            if which == "error":
                data: dict[str, Any] = line["data"] if isinstance(line.get("data"), dict) else {}
                raise errors.ProviderAPIError(
                    f"vercel command stream failed: {data.get('message') or data.get('code') or 'unknown error'}",
                    status_code=None, provider=PROVIDER, request_id=None)
            if which in self.output and isinstance(line.get("data"), str):
                chunk: str = line["data"]
                if replaying:
                    # The logs start from the beginning: skip what the broken stream already gave.
                    skip = max(0, min(len(chunk), self.delivered[which] - replayed[which]))
                    replayed[which] += len(chunk)
                    chunk = chunk[skip:]
                if chunk:
                    self._deliver(which, chunk)

    def _deliver(self, which: str, chunk: str) -> None:
        self.output[which].append(chunk)
        self.delivered[which] += len(chunk)
        handler: Callable[[str], None] | None = self.handlers[which]
        if handler is None or self.handler_error is not None:
            return
        try:
            handler(chunk)
        except Exception as exc:  # the user's code: reported once the command ended
            self.handler_error = exc

    def _kill(self) -> None:
        if self.command_id is None:
            return
        try:
            self.api.kill_command(self.session_id, self.command_id, SIGKILL)
        except errors.ComputeSDKError:
            pass  # it may have ended on its own meanwhile; the timeout is what the caller needs to hear


def _check_ndjson(response: requests.Response) -> None:
    kind = response.headers.get("content-type", "").split(";")[0].strip()
    if kind != NDJSON:
        text = response.text[:300]
        response.close()
        raise errors.ProviderAPIError(f"vercel: the command stream came as {kind or 'no content type'}, "
                                      f"not {NDJSON} {text}".rstrip(),
                                      status_code=response.status_code, provider=PROVIDER, request_id=None)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
