"""Commands through the sandbox API's ``/process`` endpoint, with live output and no 60 s limit.

Every command gets a unique process ``name`` so it can be found again. A foreground command is
started with ``Accept: text/event-stream``: the sandbox answers with NDJSON lines (``stdout``,
``stderr``, ``keepalive`` and a final ``result`` whose data is the ProcessResponse as a JSON
string), read on a named daemon thread. Blaxel's CDN cuts requests after about 60 s; when the
stream ends without a result (or the start request gets a gateway error), the command keeps
running in the sandbox and is followed by polling ``GET /process/{name}`` until it ends or its
timeout passes. A timeout kills the process and raises CommandTimeoutError with what it printed.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import requests

from computesdk_blaxel.api import BlaxelAPI
from computesdk_core import errors
from computesdk_core.types import CommandResult, OutputHandler, RunOptions

# A stream silent for this long is given up for polling (the sandbox sends keepalives every 5 s).
STREAM_IDLE_TIMEOUT = 30.0
# Polling a process: first pause, doubling up to the cap.
FIRST_POLL = 0.05
MAX_POLL = 1.0
# Extra seconds the sandbox's own timeout gives a command over ours, so that we kill it first
# (and still know it timed out) while a client that vanished does not leave it running forever.
SERVER_TIMEOUT_MARGIN = 5
READER_JOIN_TIMEOUT = 5.0
# Bytes asked of the socket per read; a chunked answer still yields each chunk as it arrives.
READ_SIZE = 8192
# Gateway answers after which the process may be running anyway (CDN cut, sandbox waking up).
GATEWAY_STATUSES = (502, 503, 504)
RUNNING = "running"


def process_name() -> str:
    """A process name unique in the sandbox."""
    return f"computesdk-{uuid.uuid4().hex}"


def request_body(command: str, name: str, options: RunOptions, wait: bool) -> dict[str, Any]:
    """The ``ProcessRequest`` of one command."""
    body: dict[str, Any] = {"command": command, "name": name, "waitForCompletion": wait}
    if options.cwd:
        body["workingDir"] = options.cwd
    if options.env:
        bad = sorted(str(key) for key, value in options.env.items() if not isinstance(value, str))
        if bad:
            raise errors.ValidationError(f"environment values must be strings; not so for: {', '.join(bad)}")
        body["env"] = dict(options.env)
    if options.timeout is not None:
        body["timeout"] = math.ceil(options.timeout) + (0 if options.background else SERVER_TIMEOUT_MARGIN)
    return body


def run(api: BlaxelAPI, base: str, command: str, options: RunOptions) -> CommandResult:
    """Run ``command`` in the sandbox whose API answers at ``base``, as ``sandbox_run_command`` says."""
    started = time.monotonic()
    name = process_name()
    if options.background:
        api.start_process(base, request_body(command, name, options, wait=False), stream=False,
                          read_timeout=api.config["request_timeout"]).close()
        return CommandResult(stdout="", stderr="", exit_code=0, duration_ms=_ms(started))
    return _Run(api, base, name, command, options, started).result()


class _Run:
    """One foreground command: the stream reader, then polling if the stream is cut, and the deadline."""

    def __init__(self, api: BlaxelAPI, base: str, name: str, command: str, options: RunOptions, started: float) -> None:
        self.api, self.base, self.name, self.options, self.started = api, base, name, options, started
        self.body = request_body(command, name, options, wait=True)
        self.deadline = None if options.timeout is None else started + options.timeout
        self.out = _Output(options.on_stdout)
        self.err = _Output(options.on_stderr)
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._response: requests.Response | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name=f"blaxel-process-{name}", daemon=True)

    def result(self) -> CommandResult:
        self._reader.start()
        try:
            final = self._follow_stream()
            if final is None:
                final = self._poll()
            if final is None:
                raise self._timed_out()
            return CommandResult(stdout=_text(final, "stdout", self.out.text), stderr=_text(final, "stderr", self.err.text),
                                 exit_code=_exit_code(final), duration_ms=_ms(self.started))
        except BaseException:
            if not self._closed.is_set():
                # A handler's failure or our own: the command must not keep running unseen.
                self._kill_quietly()
            raise
        finally:
            self._close()

    # --- the stream -----------------------------------------------------------------------

    def _read(self) -> None:
        """Reader thread: start the process and put what its stream says into ``events``."""
        try:
            response = self.api.start_process(self.base, self.body, stream=True, read_timeout=STREAM_IDLE_TIMEOUT)
        except BaseException as exc:  # reported to the waiting thread, which decides
            self.events.put(("failed", exc))
            return
        with self._lock:
            if self._closed.is_set():
                response.close()
                return
            self._response = response
        try:
            if "ndjson" not in response.headers.get("Content-Type", "") and "event-stream" not in response.headers.get(
                    "Content-Type", ""):
                # A sandbox API without streaming answers with the ProcessResponse at the end.
                self.events.put(("result", response.json()))
                return
            for kind, data in _ndjson(split_lines(response.iter_content(chunk_size=READ_SIZE))):
                self.events.put((kind, data))
                if kind in ("result", "error"):
                    return
            self.events.put(("cut", None))
        except BaseException as exc:
            self.events.put(("cut", exc))
        finally:
            response.close()

    def _follow_stream(self) -> dict[str, Any] | None:
        """Deliver streamed output until the result; None when the stream was cut (then poll)."""
        while True:
            try:
                kind, data = self.events.get(timeout=self._wait())
            except queue.Empty:
                return None  # the deadline: _poll sees it has passed
            if kind == "stdout":
                self.out.add(data)
            elif kind == "stderr":
                self.err.add(data)
            elif kind == "result":
                final = json.loads(data) if isinstance(data, str) else data
                if not isinstance(final, dict):
                    raise errors.ProviderAPIError("blaxel: the process stream ended with a malformed result",
                                                  status_code=200, provider="blaxel", request_id=None)
                return final
            elif kind == "error":
                raise errors.ProviderAPIError(f"blaxel: the process failed: {data}", status_code=None,
                                              provider="blaxel", request_id=None)
            elif kind == "failed":
                if not _maybe_running(data):
                    raise data
                return None
            elif kind == "cut":
                return None

    def _wait(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    # --- polling --------------------------------------------------------------------------

    def _poll(self) -> dict[str, Any] | None:
        """Follow the process by name until it ends (its view) or the deadline passes (None)."""
        pause = FIRST_POLL
        while True:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                return None
            try:
                view = self.api.get_process(self.base, self.name)
            except errors.NotFoundError as missing:
                raise errors.ProviderAPIError(
                    f"blaxel: the sandbox lost process {self.name} (it never started, or the sandbox restarted)",
                    status_code=404, provider="blaxel", request_id=None) from missing
            self.out.catch_up(view.get("stdout"))
            self.err.catch_up(view.get("stderr"))
            if view.get("status") != RUNNING:
                return view
            wait = pause if self.deadline is None else min(pause, max(0.0, self.deadline - time.monotonic()))
            time.sleep(wait)
            pause = min(pause * 2, MAX_POLL)

    # --- ending ---------------------------------------------------------------------------

    def _timed_out(self) -> errors.CommandTimeoutError:
        """Kill the process and return the error carrying what it printed."""
        # Kill first: closing the stream may wait for the reader, and the command must not run on meanwhile.
        self.api.kill_process(self.base, self.name)
        self._close()
        try:
            view = self.api.get_process(self.base, self.name)
        except errors.ComputeSDKError:
            view = {}
        timeout = self.options.timeout or 0.0
        return errors.CommandTimeoutError(
            f"command ran past its timeout of {timeout:g} s and was killed",
            stdout=_text(view, "stdout", self.out.text), stderr=_text(view, "stderr", self.err.text), timeout=timeout,
        )

    def _kill_quietly(self) -> None:
        try:
            self.api.kill_process(self.base, self.name)
        except errors.ComputeSDKError:
            pass  # the original failure is what the caller needs to see
        self._close()

    def _close(self) -> None:
        with self._lock:
            self._closed.set()
            response = self._response
        if response is not None:
            response.close()
        if self._reader.is_alive() and self._reader is not threading.current_thread():
            self._reader.join(timeout=READER_JOIN_TIMEOUT)


class _Output:
    """One output stream of a command: what was delivered to its handler so far."""

    def __init__(self, handler: OutputHandler | None) -> None:
        self.handler = handler
        # Chunks are joined once at the end: large outputs arrive in many thousands of them.
        self._chunks: list[str] = []
        self._length = 0

    @property
    def text(self) -> str:
        """Everything delivered so far."""
        return "".join(self._chunks)

    def add(self, chunk: Any) -> None:
        """Keep ``chunk`` and hand it to the handler."""
        if isinstance(chunk, str) and chunk:
            self._chunks.append(chunk)
            self._length += len(chunk)
            if self.handler is not None:
                self.handler(chunk)

    def catch_up(self, whole: Any) -> None:
        """Deliver what ``whole`` (the output so far, from a poll) has beyond what was delivered."""
        if isinstance(whole, str) and len(whole) > self._length:
            self.add(whole[self._length:])


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines (without their newline) of a byte stream cut anywhere, in linear time.

    ``requests``' own ``iter_lines`` copies its whole pending text on every chunk, which made a
    3 MB output on one line take tens of seconds.
    """
    pending = bytearray()
    searched = 0
    for chunk in chunks:
        pending += chunk
        start = 0
        while True:
            end = pending.find(b"\n", max(start, searched))
            if end < 0:
                break
            yield bytes(pending[start:end])
            start = searched = end + 1
        del pending[:start]
        searched = len(pending)
    if pending:
        yield bytes(pending)


def _ndjson(lines: Iterable[bytes]) -> Iterator[tuple[str, Any]]:
    """``(type, data)`` of every NDJSON line; keepalives and blank lines are skipped."""
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise errors.ProviderAPIError("blaxel: a process stream line is not JSON", status_code=200,
                                          provider="blaxel", request_id=None) from exc
        kind = event.get("type") if isinstance(event, dict) else None
        if kind in ("stdout", "stderr", "result", "error"):
            yield kind, event.get("data")


def _maybe_running(failure: BaseException) -> bool:
    """Whether the start request failed in a way after which the process may run anyway."""
    if isinstance(failure, (errors.ConnectionLostError, errors.OperationTimeoutError)):
        return True
    return isinstance(failure, errors.ProviderAPIError) and getattr(failure, "status_code", None) in GATEWAY_STATUSES


def _text(view: dict[str, Any], field: str, streamed: str) -> str:
    value = view.get(field)
    text = value if isinstance(value, str) else ""
    # The stream may hold more than a view taken while the process was being killed.
    return text if len(text) >= len(streamed) else streamed


def _exit_code(view: dict[str, Any]) -> int:
    code = view.get("exitCode")
    return code if isinstance(code, int) and not isinstance(code, bool) else -1


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
