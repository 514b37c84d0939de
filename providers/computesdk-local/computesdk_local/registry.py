"""The lifecycle of local sandboxes: create, get, list, find, extend and destroy.

Every process that uses the same state directory sees the same sandboxes: the registry is the
directory itself. Each sandbox directory holds a lock file, held (``flock``) while the sandbox is
created or destroyed, and ``record.json``, written with status "starting" as soon as its
processes exist and rewritten as "running" once its daemon answers. A "starting" record whose
lock is free was left by a creator that died; readers clean such leftovers up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from computesdk_core.errors import (
    ComputeSDKError,
    OperationTimeoutError,
    ProviderAPIError,
    SandboxNotFoundError,
    ValidationError,
)
from computesdk_core.secrets import Secret
from computesdk_core.types import CreateOptions, SandboxRecord
from computesdk_local import daemon_http, isolation
from computesdk_local.config import sandbox_settings
from computesdk_local.interpreter import daemon_paths
from computesdk_local.layout import (
    SandboxDir,
    StateDir,
    is_valid_sandbox_id,
    new_sandbox_id,
    remove_tree,
    write_private,
)
from computesdk_local.locks import locked, try_locked
from computesdk_local.procs import ProcessRef, kill_tree, wait_gone
from computesdk_local.records import RUNNING, LocalRecord, LocalSandbox, load, save

DEFAULT_TIMEOUT = 1800.0
DEFAULT_NAMESPACE = "default"
CREATE_DEADLINE = 30.0
HEALTH_TIMEOUT = 2.0
KILL_DEADLINE = 10.0
EXTEND_REQUEST_TIMEOUT = 10.0
# A sandbox directory without a record, unlocked and older than this, is left from a crashed create.
STALE_AGE = 120.0
LOG_TAIL_CHARS = 2000
RESERVED_ENV = ("COMPUTESDK_ACCESS_TOKEN", "COMPUTESDK_SANDBOX_ID", "COMPUTESDK_METADATA")
_TRASH_PREFIX = ".trash-"
_POLL = 0.05

# Processes this Python process started, kept to reap them (no zombies) once they exit.
_children: dict[int, subprocess.Popen[bytes]] = {}
_children_lock = threading.Lock()


def create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord:
    """Create a sandbox and return its record once its daemon answers.

    A named sandbox is unique per ``(namespace, name)`` across processes: under a lock file for
    the pair, a live sandbox with that pair is returned instead of creating a second one.
    """
    settings = sandbox_settings(config, options.provider_options)
    if settings["isolation"] == "none" and settings["network"] == "none":
        raise ValidationError("local: network 'none' needs isolation 'bwrap' (a plain process shares the host network)")
    timeout = _timeout(options.timeout)
    envs = _envs(options.envs)
    metadata = _metadata(options.metadata)
    tools = isolation.find_tools() if settings["isolation"] == "bwrap" else None
    python_paths = daemon_paths(config["python"])
    state = _state(config)
    state.ensure()
    spec = _Spec(config, settings, tools, python_paths, timeout, envs, metadata, options.runtime or "python")
    if options.name is None:
        return _create(state, spec, None, None)
    namespace = options.namespace or DEFAULT_NAMESPACE
    with locked(
        state.name_lock(namespace, options.name),
        timeout=2 * CREATE_DEADLINE + KILL_DEADLINE,
        what=f"the sandbox name {options.name!r} in namespace {namespace!r}",
    ):
        existing = find(config, options.name, namespace)
        if existing is not None:
            return existing
        return _create(state, spec, options.name, namespace)


def get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """Return the record of a live sandbox, or None (unknown, malformed, dead or not answering id)."""
    if not is_valid_sandbox_id(sandbox_id):
        return None
    directory = _state(config).sandbox(sandbox_id)
    if not directory.path.is_dir():
        return None
    return _live(directory)


def list_live(config: Mapping[str, Any]) -> list[SandboxRecord]:
    """Return every live sandbox, oldest first, cleaning up dead ones on the way."""
    found = [record for directory in _directories(config) if (record := _live(directory)) is not None]
    return sorted(found, key=lambda record: record.created_at)


def find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """Return the live sandbox created with ``(namespace, name)``, or None."""
    for directory in _directories(config):
        record = load(directory)
        if record is not None and record.name == name and record.namespace == namespace:
            live = _live(directory)
            if live is not None:
                return live
    return None


def destroy(config: Mapping[str, Any], sandbox_id: str) -> bool:
    """Kill every process of the sandbox and remove its directory; True also when it is already gone."""
    _reap()
    if not is_valid_sandbox_id(sandbox_id):
        return True
    directory = _state(config).sandbox(sandbox_id)
    if not directory.path.is_dir():
        return True
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(
                locked(directory.lock, timeout=CREATE_DEADLINE + 2 * KILL_DEADLINE, what=f"sandbox {sandbox_id}")
            )
        except FileNotFoundError:
            return True
        if directory.path.is_dir():
            _terminate(directory, load(directory))
    return True


def extend_timeout(config: Mapping[str, Any], sandbox_id: str, duration: float) -> bool:
    """Ask the sandbox's daemon to live ``duration`` seconds longer, and record the new expiry."""
    if isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 0 < duration < math.inf:
        raise ValidationError(f"duration must be a positive number of seconds, not {duration!r}")
    live = get(config, sandbox_id)
    if live is None:
        raise SandboxNotFoundError(f"local: no live sandbox {sandbox_id!r}", sandbox_id=sandbox_id)
    handle: LocalSandbox = live.native
    data = daemon_http.extend_timeout(handle.url, handle.token, float(duration), EXTEND_REQUEST_TIMEOUT)
    directory = _state(config).sandbox(sandbox_id)
    with locked(directory.lock, timeout=CREATE_DEADLINE, what=f"sandbox {sandbox_id}"):
        record = load(directory)
        if record is None:
            raise SandboxNotFoundError(f"local: no live sandbox {sandbox_id!r}", sandbox_id=sandbox_id)
        record.expires_at = _reported_expiry(data) or max(record.expires_at, _now()) + dt.timedelta(
            seconds=float(duration)
        )
        record.timeout = (record.expires_at - record.created_at).total_seconds()
        save(directory, record)
    return True


# --- creation -------------------------------------------------------------------------------


class _Spec:
    """The validated inputs of one create call."""

    def __init__(
        self,
        config: Mapping[str, Any],
        settings: Mapping[str, str],
        tools: isolation.Tools | None,
        python_paths: tuple[str, ...],
        timeout: float,
        envs: dict[str, str],
        metadata: dict[str, Any],
        runtime: str,
    ) -> None:
        self.config = config
        self.runtime = runtime
        self.isolation = settings["isolation"]
        self.network = settings["network"]
        self.tools = tools
        self.python_paths = python_paths
        self.timeout = timeout
        self.envs = envs
        self.metadata = metadata


def _create(state: StateDir, spec: _Spec, name: str | None, namespace: str | None) -> SandboxRecord:
    _reap()
    directory = _new_directory(state)
    with locked(directory.lock, timeout=CREATE_DEADLINE, what=f"sandbox {directory.id}"):
        now = _now()
        record = LocalRecord(
            id=directory.id,
            created_at=now,
            timeout=spec.timeout,
            expires_at=now + dt.timedelta(seconds=spec.timeout),
            isolation=spec.isolation,
            network=spec.network,
            name=name,
            namespace=namespace,
            metadata=spec.metadata,
            runtime=spec.runtime,
        )
        token = secrets.token_urlsafe(32)
        Secret(token)  # registers the value, so that error messages never show it
        try:
            write_private(directory.token, token)
            _start(directory, record, spec, token)
        except BaseException as exc:
            tail = _log_tail(directory)
            with contextlib.suppress(Exception):
                _terminate(directory, load(directory) or record)
            if isinstance(exc, ComputeSDKError):
                raise type(exc)(f"{exc.message}{tail}", **_error_context(exc)) from None
            if isinstance(exc, Exception):
                raise ProviderAPIError(
                    f"local: creating the sandbox failed: {exc}{tail}", status_code=None, provider="local",
                    request_id=None,
                ) from exc
            raise
    return _sandbox_record(directory, record, token)


def _start(directory: SandboxDir, record: LocalRecord, spec: _Spec, token: str) -> None:
    home = isolation.WORKDIR if spec.isolation == "bwrap" else str(directory.plain_root)
    tmpdir = None if spec.isolation == "bwrap" else str(directory.plain_tmp)
    env = isolation.sandbox_env(spec.envs, home, tmpdir)
    env["COMPUTESDK_SANDBOX_ID"] = directory.id
    env["COMPUTESDK_METADATA"] = json.dumps(spec.metadata)
    directory.ipc.mkdir(exist_ok=True)
    python = spec.config["python"]
    if spec.tools is not None:
        launch = isolation.bwrap_launch(
            directory, tools=spec.tools, python_paths=spec.python_paths, python=python, timeout=spec.timeout,
            network=spec.network, state_home=Path(spec.config["home"]), env=env, token=token,
        )
    else:
        launch = isolation.plain_launch(directory, python, spec.timeout, env, token)
    deadline = time.monotonic() + CREATE_DEADLINE
    process = _spawn(launch, directory)
    record.launcher = ProcessRef.of(process.pid)
    save(directory, record)
    port = _wait_ready(directory, process, deadline, spec.isolation)
    if spec.isolation == "bwrap":
        init_pid = isolation.read_init_pid(directory)
        record.init = ProcessRef.of(init_pid) if init_pid is not None else None
        if record.init is None:
            raise ProviderAPIError(
                "local: bubblewrap did not report the sandbox's first process", status_code=None,
                provider="local", request_id=None,
            )
        save(directory, record)
    if spec.network == "none":
        assert record.init is not None
        record.forwarder, port = _start_forwarder(directory, record.init, port, deadline)
        save(directory, record)
    record.port = port
    record.url = f"http://127.0.0.1:{port}"
    _wait_healthy(record.url, process, deadline)
    record.status = RUNNING
    save(directory, record)


def _spawn(launch: isolation.Launch, directory: SandboxDir) -> subprocess.Popen[bytes]:
    # What stdin carries (the token) fits a pipe's buffer: written and closed before the child runs.
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(write_end, "wb") as feed:
            write_end = -1
            feed.write(launch.stdin)
        # A new session: the sandbox outlives this process and ignores its terminal's signals.
        with open(directory.log, "ab") as log:
            process = subprocess.Popen(
                launch.argv, env=launch.env, cwd=launch.cwd, stdin=read_end, stdout=log, stderr=log,
                start_new_session=True, close_fds=True,
            )
    finally:
        os.close(read_end)
        if write_end != -1:
            os.close(write_end)
    with _children_lock:
        _children[process.pid] = process
    return process


def _wait_ready(directory: SandboxDir, process: subprocess.Popen[bytes], deadline: float, kind: str) -> int:
    """Wait for the daemon's ready file; return its port."""
    while True:
        try:
            port = json.loads(directory.ready.read_text(encoding="utf-8"))["port"]
            if isinstance(port, int) and 0 < port < 65536:
                return port
        except (OSError, ValueError, KeyError, TypeError):
            pass
        code = process.poll()
        if code is not None:
            hint = ""
            if kind == "bwrap" and os.geteuid() != 0:
                hint = (
                    " Without root the sandbox needs unprivileged user namespaces (check the sysctls "
                    "kernel.unprivileged_userns_clone and user.max_user_namespaces, and AppArmor's "
                    "restrict_unprivileged_userns); run as root or use isolation='none'."
                )
            raise ProviderAPIError(
                f"local: the sandbox exited with code {code} before its daemon was ready.{hint}",
                status_code=None, provider="local", request_id=None,
            )
        if time.monotonic() >= deadline:
            raise OperationTimeoutError(f"local: the sandbox's daemon was not ready within {CREATE_DEADLINE:g} s")
        time.sleep(_POLL)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while not daemon_http.healthy(url, min(HEALTH_TIMEOUT, max(deadline - time.monotonic(), 0.1))):
        if process.poll() is not None:
            raise ProviderAPIError(
                f"local: the sandbox exited with code {process.returncode} before /health answered",
                status_code=None, provider="local", request_id=None,
            )
        if time.monotonic() >= deadline:
            raise OperationTimeoutError(f"local: the sandbox's daemon did not answer /health within {CREATE_DEADLINE:g} s")
        time.sleep(_POLL)


def _start_forwarder(
    directory: SandboxDir, init: ProcessRef, target_port: int, deadline: float
) -> tuple[ProcessRef | None, int]:
    """Start the host-side forwarder of a sandbox without network; return it and its host port."""
    argv = [
        sys.executable, "-m", "computesdk_local.portforward", "--pid", str(init.pid),
        "--start-time", str(init.start_time), "--target-port", str(target_port),
        "--ready-file", str(directory.forward_ready),
    ]
    launch = isolation.Launch(argv=argv, env={"PATH": os.defpath, "LANG": "C.UTF-8"}, cwd=str(directory.path))
    process = _spawn(launch, directory)
    forwarder = ProcessRef.of(process.pid)
    while True:
        try:
            return forwarder, int(json.loads(directory.forward_ready.read_text(encoding="utf-8"))["port"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        if process.poll() is not None:
            raise ProviderAPIError(
                f"local: the port forwarder exited with code {process.returncode}", status_code=None,
                provider="local", request_id=None,
            )
        if time.monotonic() >= deadline:
            raise OperationTimeoutError("local: the port forwarder did not start in time")
        time.sleep(_POLL)


def _new_directory(state: StateDir) -> SandboxDir:
    while True:
        directory = state.sandbox(new_sandbox_id())
        try:
            directory.path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return directory


# --- liveness and clean-up ------------------------------------------------------------------


def _live(directory: SandboxDir) -> SandboxRecord | None:
    record = load(directory)
    if record is None or record.status != RUNNING or not all(p.alive() for p in record.processes()):
        _clean_if_abandoned(directory)
        return None
    # A daemon whose processes run but that does not answer (a stall) is reported absent, not killed.
    if record.url is None or not daemon_http.healthy(record.url, HEALTH_TIMEOUT):
        return None
    try:
        token = directory.token.read_text(encoding="utf-8")
    except OSError:
        return None
    return _sandbox_record(directory, record, token)


def _clean_if_abandoned(directory: SandboxDir) -> None:
    """Remove a dead or crashed sandbox unless someone holds its lock (creating or destroying it)."""
    try:
        # Read before the lock file is made: making it would refresh the directory's mtime.
        age = time.time() - directory.path.stat().st_mtime
    except OSError:
        return
    with contextlib.suppress(OSError, ComputeSDKError), try_locked(directory.lock) as got:
        if not got or not directory.path.is_dir():
            return
        record = load(directory)
        if record is None:
            if age < STALE_AGE:
                return
        elif record.status == RUNNING and all(p.alive() for p in record.processes()):
            return
        _terminate(directory, record)


def _terminate(directory: SandboxDir, record: LocalRecord | None) -> None:
    """Kill the sandbox's processes, wait until they are gone, then remove its directory."""
    roots = record.processes() if record is not None else []
    targets = kill_tree(roots) if roots else []
    gone = wait_gone(targets, time.monotonic() + KILL_DEADLINE)
    _reap()
    if not gone:
        raise OperationTimeoutError(
            f"local: the processes of sandbox {directory.id} did not exit within {KILL_DEADLINE:g} s"
        )
    trash = directory.path.with_name(f"{_TRASH_PREFIX}{int(time.time())}-{directory.id}-{secrets.token_hex(3)}")
    os.rename(directory.path, trash)
    remove_tree(trash)


def _directories(config: Mapping[str, Any]) -> list[SandboxDir]:
    state = _state(config)
    try:
        names = sorted(os.listdir(state.sandboxes))
    except FileNotFoundError:
        return []
    now = time.time()
    for name in names:
        # Trash is renamed aside after its processes died; a remover that crashed left it behind.
        if name.startswith(_TRASH_PREFIX):
            with contextlib.suppress(ValueError, IndexError, OSError):
                if now - int(name[len(_TRASH_PREFIX) :].split("-")[0]) > STALE_AGE:
                    remove_tree(state.sandboxes / name)
    return [state.sandbox(name) for name in names if is_valid_sandbox_id(name)]


def _reap() -> None:
    with _children_lock:
        for pid, process in list(_children.items()):
            if process.poll() is not None:
                del _children[pid]


# --- values ---------------------------------------------------------------------------------


def _sandbox_record(directory: SandboxDir, record: LocalRecord, token: str) -> SandboxRecord:
    assert record.url is not None
    handle = LocalSandbox(
        id=record.id, url=record.url, token=token, dir=directory.path, isolation=record.isolation,
        network=record.network, expires_at=record.expires_at,
    )
    return SandboxRecord(
        sandbox_id=record.id, native=handle, status="running", runtime=record.runtime, created_at=record.created_at,
        timeout=record.timeout, metadata=dict(record.metadata), name=record.name, namespace=record.namespace,
    )


def _state(config: Mapping[str, Any]) -> StateDir:
    return StateDir(Path(config["home"]))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _timeout(value: float | None) -> float:
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValidationError(f"timeout must be a positive number of seconds, not {value!r}")
    return float(value)


def _envs(envs: Mapping[str, str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for key, value in envs.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise ValidationError(f"invalid environment variable name {key!r}")
        if not isinstance(value, str) or "\0" in value:
            raise ValidationError(f"the value of environment variable {key!r} must be a string without NUL")
        if key in RESERVED_ENV:
            raise ValidationError(f"the environment variable {key} is reserved for the sandbox's daemon")
        result[key] = value
    return result


def _metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    try:
        copy: dict[str, Any] = json.loads(json.dumps(dict(metadata)))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"local: metadata must be JSON-serialisable: {exc}") from None
    return copy


def _reported_expiry(data: Mapping[str, Any]) -> dt.datetime | None:
    value = data.get("expires_at")
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _log_tail(directory: SandboxDir) -> str:
    try:
        with open(directory.log, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(handle.tell() - LOG_TAIL_CHARS, 0))
            text = handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f"\n--- the end of the sandbox's log ---\n{text}" if text else ""


def _error_context(exc: ComputeSDKError) -> dict[str, Any]:
    return {key: value for key, value in vars(exc).items() if key != "message"}
