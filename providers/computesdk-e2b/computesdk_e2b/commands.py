"""``run_command`` through envd's ``process.Process/Start`` server stream."""

from __future__ import annotations

import base64
import codecs
import math
import time
from collections.abc import Callable
from typing import Any

from computesdk_core import errors
from computesdk_core.types import CommandResult, RunOptions
from computesdk_e2b.connect import StreamError
from computesdk_e2b.envd import Envd

START = "process.Process/Start"
SIGNAL = "process.Process/SendSignal"
# envd sends a keep-alive message this often (seconds), so a silent command still shows a live stream.
KEEPALIVE = 15
# Seconds of silence after which the stream is taken for dead: a few missed keep-alives.
SILENCE = 3 * KEEPALIVE
# Seconds granted beyond a command's timeout for envd to end the stream itself.
GRACE = 5.0


class _Output:
    """One output stream: bytes decoded as UTF-8 incrementally, handed to a handler as they come."""

    def __init__(self, handler: Callable[[str], None] | None) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._handler = handler
        self._parts: list[str] = []

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self._decoder.decode(data, final=final)
        if text:
            self._parts.append(text)
            if self._handler is not None:
                self._handler(text)

    @property
    def text(self) -> str:
        return "".join(self._parts)


def run_command(envd: Envd, command: str, options: RunOptions) -> CommandResult:
    """Run ``command`` with ``bash -l -c`` (as E2B's SDK does) and return its result.

    A timeout is sent to envd as ``Connect-Timeout-Ms``; when it passes the process group is
    killed with ``SendSignal`` and CommandTimeoutError carries the output so far.
    """
    process: dict[str, Any] = {"cmd": "/bin/bash", "args": ["-l", "-c", command]}
    if options.env:
        process["envs"] = dict(options.env)
    if options.cwd:
        process["cwd"] = options.cwd
    headers = {"Keepalive-Ping-Interval": str(KEEPALIVE)}
    read_timeout = float(SILENCE)
    timeout = None if options.background else options.timeout
    if timeout is not None:
        headers["Connect-Timeout-Ms"] = str(max(1, math.ceil(timeout * 1000)))
        read_timeout = min(read_timeout, timeout + GRACE)
    stdout, stderr = _Output(options.on_stdout), _Output(options.on_stderr)
    began = time.monotonic()
    pid: int | None = None
    exit_code: int | None = None
    try:
        with envd.stream(START, {"process": process, "stdin": False}, read_timeout=read_timeout,
                         headers=headers) as stream:
            for message in stream:
                event = message.get("event") or {}
                if "start" in event:
                    pid = int(event["start"].get("pid", 0))
                    if options.background:
                        break
                elif "data" in event:
                    data = event["data"]
                    if "stdout" in data:
                        stdout.feed(base64.b64decode(data["stdout"]))
                    if "stderr" in data:
                        stderr.feed(base64.b64decode(data["stderr"]))
                elif "end" in event:
                    exit_code = int(event["end"].get("exitCode", 0))
                if timeout is not None and time.monotonic() - began > timeout + GRACE:
                    raise errors.OperationTimeoutError("e2b: envd did not end the stream at the deadline")
    except (StreamError, errors.OperationTimeoutError) as exc:
        if timeout is None or (isinstance(exc, StreamError) and exc.code != "deadline_exceeded"):
            raise
        _kill(envd, pid)
        stdout.feed(b"", final=True)
        stderr.feed(b"", final=True)
        raise errors.CommandTimeoutError(
            f"e2b: command timed out after {timeout} s", stdout=stdout.text, stderr=stderr.text, timeout=timeout,
        ) from None
    duration_ms = int((time.monotonic() - began) * 1000)
    if options.background:
        if pid is None:
            raise errors.ProviderAPIError("e2b: envd ended the stream before starting the process",
                                          status_code=None, provider="e2b", request_id=None)
        return CommandResult(stdout="", stderr="", exit_code=0, duration_ms=duration_ms)
    if exit_code is None:
        raise errors.ProviderAPIError("e2b: envd ended the process stream without an end event",
                                      status_code=None, provider="e2b", request_id=None)
    stdout.feed(b"", final=True)
    stderr.feed(b"", final=True)
    return CommandResult(stdout=stdout.text, stderr=stderr.text, exit_code=exit_code, duration_ms=duration_ms)


def _kill(envd: Envd, pid: int | None) -> None:
    if not pid:
        return
    try:
        envd.call(SIGNAL, {"process": {"pid": pid}, "signal": "SIGNAL_SIGKILL"}, idempotent=True)
    except errors.NotFoundError:
        pass  # it ended on its own in the meantime
