"""Commands on a devbox: ``execute_sync`` for plain runs, ``execute_async`` + output streams otherwise.

Runloop has no cwd or env fields, so both are put in front of the command as shell code. An
execution started asynchronously is followed on its two Server-Sent-Events streams (one named
daemon thread each, resuming at the byte offset already received when a connection drops) while
the calling thread long-polls its status; the streams carry the whole output, where the status
answers only keep the last lines.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time

import requests

from computesdk_core import errors
from computesdk_core.types import CommandResult, OutputHandler, RunOptions
from computesdk_runloop.api import RunloopAPI
from computesdk_runloop.config import PROVIDER
from computesdk_runloop.sse import iter_events

# Read deadline of execute_sync, which holds the connection until the command ends (the SDK's).
SYNC_READ_TIMEOUT = 600.0
# A stream that sends nothing for this long is reopened at the offset already received.
STREAM_IDLE_TIMEOUT = 30.0
# How long the streams may still deliver after the execution completed (or was killed).
STREAM_DRAIN_TIMEOUT = 15.0
KILL_DRAIN_TIMEOUT = 3.0
STREAM_OPEN_ATTEMPTS = 5
# Between reopenings of a stream that ended while its execution still ran.
REOPEN_PAUSE = 0.25
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def shell_script(command: str, options: RunOptions) -> str:
    """``command`` with ``options.env`` exported and ``options.cwd`` entered first.

    Each execution has a shell of its own, so nothing set here reaches a later command.
    """
    lines = []
    if options.env:
        bad = sorted(name for name in options.env if not _ENV_NAME.match(name))
        if bad:
            raise errors.ValidationError(f"not valid environment variable names: {', '.join(bad)}")
        lines.append("export " + " ".join(f"{name}={shlex.quote(value)}" for name, value in options.env.items()))
    if options.cwd:
        lines.append(f"cd -- {shlex.quote(options.cwd)} || exit 1")
    lines.append(command)
    return "\n".join(lines)


def run(api: RunloopAPI, devbox_id: str, command: str, options: RunOptions) -> CommandResult:
    """Run ``command`` as the hook ``sandbox_run_command`` describes."""
    script = shell_script(command, options)
    started = time.monotonic()
    if options.background:
        api.execute_async(devbox_id, script)
        return CommandResult(stdout="", stderr="", exit_code=0, duration_ms=_ms(started))
    if options.timeout is None and options.on_stdout is None and options.on_stderr is None:
        view = api.execute_sync(devbox_id, script, SYNC_READ_TIMEOUT)
        return CommandResult(stdout=view.get("stdout") or "", stderr=view.get("stderr") or "",
                             exit_code=_exit_code(view), duration_ms=_ms(started))
    return _run_streamed(api, devbox_id, script, options, started)


def _run_streamed(api: RunloopAPI, devbox_id: str, script: str, options: RunOptions, started: float) -> CommandResult:
    execution_id = str(api.execute_async(devbox_id, script)["execution_id"])
    completed = threading.Event()
    streams = [OutputStream(api, devbox_id, execution_id, which, handler, completed)
               for which, handler in (("stdout", options.on_stdout), ("stderr", options.on_stderr))]
    for stream in streams:
        stream.start()
    deadline = None if options.timeout is None else started + options.timeout
    try:
        final = None
        while final is None:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            final = api.wait_execution(devbox_id, execution_id, 25.0 if remaining is None else max(1.0, remaining))
            if final is not None and final.get("status") != "completed":
                final = None
        if final is None:
            api.kill_execution(devbox_id, execution_id)
            completed.set()
            stdout, stderr = (stream.finish(KILL_DRAIN_TIMEOUT, fallback="") for stream in streams)
            raise errors.CommandTimeoutError(
                f"command ran past its timeout of {options.timeout:g} s and was killed",
                stdout=stdout, stderr=stderr, timeout=options.timeout,
            )
        completed.set()
        stdout = streams[0].finish(STREAM_DRAIN_TIMEOUT, fallback=final.get("stdout") or "")
        stderr = streams[1].finish(STREAM_DRAIN_TIMEOUT, fallback=final.get("stderr") or "")
        for stream in streams:
            stream.raise_handler_error()
        return CommandResult(stdout=stdout, stderr=stderr, exit_code=_exit_code(final), duration_ms=_ms(started))
    finally:
        completed.set()
        for stream in streams:
            stream.stop()


class OutputStream:
    """One output stream of an execution, read on a named daemon thread into memory and a handler."""

    def __init__(self, api: RunloopAPI, devbox_id: str, execution_id: str, which: str,
                 handler: OutputHandler | None, completed: threading.Event) -> None:
        self._api = api
        self._devbox_id = devbox_id
        self._execution_id = execution_id
        self._which = which
        self._handler = handler
        self._completed = completed
        self._chunks: list[str] = []
        self._offset = 0
        self._lock = threading.Lock()
        self._response: requests.Response | None = None
        self._stopped = threading.Event()
        self._done = threading.Event()
        self.error: BaseException | None = None
        self.handler_error: BaseException | None = None
        self._thread = threading.Thread(target=self._follow, name=f"runloop-{which}-{execution_id}", daemon=True)

    def start(self) -> None:
        """Start reading."""
        self._thread.start()

    def finish(self, timeout: float, fallback: str) -> str:
        """Everything received, once the stream ended or ``timeout`` passed; ``fallback`` if it failed."""
        ended = self._done.wait(timeout)
        self.stop()
        with self._lock:
            text = "".join(self._chunks)
        if ended and self.error is None:
            return text
        return fallback if len(fallback) > len(text) else text

    def raise_handler_error(self) -> None:
        """Raise what the user's handler raised, if it did."""
        if self.handler_error is not None:
            raise self.handler_error

    def stop(self) -> None:
        """Stop reading (closing an open connection) and join the thread, bounded."""
        self._stopped.set()
        with self._lock:
            response = self._response
        if response is not None:
            response.close()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _follow(self) -> None:
        failures = 0
        try:
            while not self._stopped.is_set():
                try:
                    ended = self._read_once()
                    failures = 0
                except (errors.ComputeSDKError, requests.RequestException, OSError, ValueError) as exc:
                    if self._stopped.is_set():
                        return
                    failures += 1
                    if failures >= STREAM_OPEN_ATTEMPTS or isinstance(exc, errors.AuthenticationError):
                        self.error = exc
                        return
                    self._stopped.wait(min(2.0, 0.2 * 2**failures))
                    continue
                if ended and self._completed.is_set():
                    return
                # The stream ended before we knew the execution had: read once more after it did.
                self._completed.wait(REOPEN_PAUSE)
        finally:
            self._done.set()

    def _read_once(self) -> bool:
        """Read from the current offset until the server ends the stream; True when it did."""
        response = self._api.open_stream(self._devbox_id, self._execution_id, self._which, self._offset,
                                         STREAM_IDLE_TIMEOUT)
        with self._lock:
            self._response = response
        try:
            for event in iter_events(response.iter_content(chunk_size=None)):
                if self._stopped.is_set():
                    return False
                if event.type == "error":
                    raise _stream_error(event.data)
                chunk = json.loads(event.data).get("output") or ""
                if not chunk:
                    continue
                with self._lock:
                    self._chunks.append(chunk)
                    self._offset += len(chunk.encode("utf-8"))
                self._deliver(chunk)
            return True
        finally:
            with self._lock:
                self._response = None
            response.close()

    def _deliver(self, chunk: str) -> None:
        if self._handler is None or self.handler_error is not None:
            return
        try:
            self._handler(chunk)
        except Exception as exc:  # the user's code: reported to the caller once the command ended
            self.handler_error = exc


def _stream_error(data: str) -> errors.ProviderAPIError:
    try:
        body = json.loads(data)
    except ValueError:
        body = {"message": data}
    code = body.get("code") if isinstance(body, dict) else None
    message = (body.get("message") if isinstance(body, dict) else None) or data
    return errors.ProviderAPIError(f"runloop output stream failed: {message}",
                                   status_code=code if isinstance(code, int) else None,
                                   provider=PROVIDER, request_id=None)


def _exit_code(view: dict[str, object]) -> int:
    code = view.get("exit_status")
    return code if isinstance(code, int) else -1


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)

