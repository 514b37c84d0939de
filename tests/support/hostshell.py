"""A provider for the core's own tests: it implements only the lifecycle and ``run_command``.

Commands run as plain host processes in a per-sandbox temporary directory, with no isolation.
Everything else (files, run_code, get_info) must come from the core's defaults, which is what
these tests prove.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.hookspecs import hookimpl
from computesdk_core.types import CommandResult, CreateOptions, RunOptions, SandboxRecord

_sandboxes: dict[str, SandboxRecord] = {}
_lock = threading.Lock()


@hookimpl
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any]:
    unknown = set(options) - {"root"}
    if unknown:
        raise errors.ConfigurationError(f"unknown hostshell options {sorted(unknown)}; known: root")
    return {"root": options.get("root") or tempfile.gettempdir()}


@hookimpl
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord:
    sandbox_id = f"host-{uuid.uuid4().hex[:10]}"
    directory = tempfile.mkdtemp(prefix=sandbox_id, dir=config["root"])
    record = SandboxRecord(sandbox_id=sandbox_id, native={"dir": directory, "envs": dict(options.envs)},
                           timeout=options.timeout, metadata=dict(options.metadata),
                           name=options.name, namespace=options.namespace)
    with _lock:
        _sandboxes[sandbox_id] = record
    return record


@hookimpl
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    with _lock:
        return _sandboxes.get(sandbox_id)


@hookimpl
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord]:
    with _lock:
        return list(_sandboxes.values())


@hookimpl
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    with _lock:
        return next((r for r in _sandboxes.values() if (r.name, r.namespace) == (name, namespace)), None)


@hookimpl
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool:
    with _lock:
        record = _sandboxes.pop(sandbox_id, None)
    if record is not None:
        shutil.rmtree(record.native["dir"], ignore_errors=True)
    return True


def _pump(stream: Any, chunks: list[str], handler: Any) -> None:
    for line in iter(stream.readline, ""):
        chunks.append(line)
        if handler:
            handler(line)


@hookimpl
def sandbox_run_command(sandbox: Any, command: str, options: RunOptions) -> CommandResult:
    native = sandbox.record.native
    cwd = options.cwd or native["dir"]
    env = {**os.environ, **native["envs"], **options.env, "HOME": native["dir"]}
    started = time.monotonic()
    process = subprocess.Popen(["/bin/bash", "-c", command], cwd=cwd, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    if options.background:
        return CommandResult("", "", 0, 0)
    out: list[str] = []
    err: list[str] = []
    pumps = [threading.Thread(target=_pump, args=(process.stdout, out, options.on_stdout), daemon=True,
                              name="hostshell-stdout"),
             threading.Thread(target=_pump, args=(process.stderr, err, options.on_stderr), daemon=True,
                              name="hostshell-stderr")]
    for pump in pumps:
        pump.start()
    try:
        code = process.wait(timeout=options.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
        for pump in pumps:
            pump.join(timeout=2)
        raise errors.CommandTimeoutError(f"command timed out after {options.timeout} s",
                                         stdout="".join(out), stderr="".join(err), timeout=options.timeout) from None
    for pump in pumps:
        pump.join(timeout=10)
    return CommandResult("".join(out), "".join(err), code, int((time.monotonic() - started) * 1000))


@hookimpl
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str:
    return f"http://127.0.0.1:{port}"
