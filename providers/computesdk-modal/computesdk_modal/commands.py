"""run_command on Modal: ``sh -c`` through the adapter's exec, both streams read while it runs."""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from computesdk_core import errors
from computesdk_core.types import CommandResult, RunOptions

# After Modal's own exec deadline, how long to wait for the streams to close, in seconds.
_GRACE = 30.0
# Deadline of starting a background command (only the launching shell is waited for), in seconds.
_BACKGROUND_TIMEOUT = 60.0


def run(adapter: Any, sandbox_id: str, command: str, options: RunOptions) -> CommandResult:
    """Run ``command`` in a shell; CommandTimeoutError with the partial output past ``options.timeout``."""
    started = time.monotonic()
    if options.background:
        # Modal's exec has no detach: a shell starts the command with nohup and returns at once.
        launcher = f"nohup sh -c {shlex.quote(command)} > /dev/null 2>&1 &"
        process = adapter.exec(sandbox_id, ["sh", "-c", launcher], workdir=options.cwd, env=options.env,
                               timeout=_BACKGROUND_TIMEOUT)
        _collect(process, None, None, _BACKGROUND_TIMEOUT + _GRACE)
        return CommandResult(stdout="", stderr="", exit_code=0, duration_ms=_elapsed_ms(started))
    process = adapter.exec(sandbox_id, ["sh", "-c", command], workdir=options.cwd, env=options.env,
                           timeout=options.timeout)
    deadline = None if options.timeout is None else options.timeout + _GRACE
    stdout, stderr, finished = _collect(process, options.on_stdout, options.on_stderr, deadline)
    exit_code = process.wait() if finished else -1
    elapsed = time.monotonic() - started
    if options.timeout is not None and exit_code == -1 and (not finished or elapsed >= options.timeout):
        raise errors.CommandTimeoutError(
            f"command ran past its timeout of {options.timeout:g} s and was killed",
            stdout=stdout, stderr=stderr, timeout=options.timeout,
        )
    return CommandResult(stdout=stdout, stderr=stderr, exit_code=exit_code, duration_ms=_elapsed_ms(started))


def _collect(process: Any, on_stdout: Callable[[str], None] | None, on_stderr: Callable[[str], None] | None,
             deadline: float | None) -> tuple[str, str, bool]:
    """Both streams read by two threads until they end or ``deadline`` seconds pass.

    Returns stdout, stderr and whether both streams ended.
    """
    out: list[str] = []
    err: list[str] = []
    failures: list[BaseException] = []
    readers = [
        threading.Thread(target=_drain, args=(process.stdout, out, on_stdout, failures), name="modal-exec-stdout",
                         daemon=True),
        threading.Thread(target=_drain, args=(process.stderr, err, on_stderr, failures), name="modal-exec-stderr",
                         daemon=True),
    ]
    for reader in readers:
        reader.start()
    limit = None if deadline is None else time.monotonic() + deadline
    for reader in readers:
        reader.join(None if limit is None else max(0.0, limit - time.monotonic()))
    if failures:
        raise failures[0]
    return "".join(out), "".join(err), not any(reader.is_alive() for reader in readers)


def _drain(stream: Iterator[str], sink: list[str], handler: Callable[[str], None] | None,
           failures: list[BaseException]) -> None:
    try:
        for chunk in stream:
            sink.append(chunk)
            if handler is not None and chunk:
                handler(chunk)
    except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
        failures.append(exc)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
