"""The Runloop provider's hookimpls (entry point ``runloop`` in ``computesdk.providers``)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.hookspecs import hookimpl
from computesdk_core.types import (
    CommandResult,
    CreateOptions,
    RunOptions,
    SandboxInfo,
    SandboxRecord,
    SnapshotInfo,
)
from computesdk_runloop import commands, config, files
from computesdk_runloop.api import GONE_STATUSES, LIVE_STATUSES, RunloopAPI, client_for
from computesdk_runloop.devbox import NAME_KEY, NAMESPACE_KEY, RunloopDevbox, create_body, created_at, to_record, wait_for

PROVIDER = config.PROVIDER


@hookimpl
def provider_detect(environ: Mapping[str, str]) -> bool:
    """True when ``RUNLOOP_API_KEY`` is set."""
    return config.detect(environ)


@hookimpl
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any]:
    """``api_key`` (RUNLOOP_API_KEY), ``api_url`` (RUNLOOP_BASE_URL) and the tuning options."""
    return config.resolve(options, environ)


# --- lifecycle ------------------------------------------------------------------------------


@hookimpl
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord:
    """Create a devbox and wait (long-polling, bounded by ``create_timeout``) until it runs."""
    api = client_for(config)
    view = api.create_devbox(create_body(options))
    try:
        view = wait_for(api, view, "running", config["create_timeout"])
    except BaseException:
        # A devbox that never became usable must not keep running (and billing) unseen.
        _shutdown_quietly(api, str(view["id"]))
        raise
    return to_record(api, view, options.runtime)


@hookimpl
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """The devbox, or None when it is unknown, shut down or failed."""
    api = client_for(config)
    view = api.get_devbox(sandbox_id)
    if view is None or view.get("status") in GONE_STATUSES:
        return None
    return to_record(api, view)


@hookimpl
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord]:
    """Every devbox that is not shut down or failed."""
    api = client_for(config)
    return [to_record(api, view) for view in _live_views(api)]


@hookimpl
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool:
    """Shut the devbox down; quietly done when it is unknown or already ended."""
    api = client_for(config)
    try:
        api.shutdown(sandbox_id)
    except errors.NotFoundError:
        return True
    except errors.ValidationError:
        # 400: it may simply be over already; anything else is a real refusal.
        view = api.get_devbox(sandbox_id)
        if view is not None and view.get("status") not in GONE_STATUSES:
            raise
    return True


@hookimpl
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """The live devbox whose computesdk metadata holds ``(namespace, name)``."""
    api = client_for(config)
    for view in _live_views(api):
        metadata = view.get("metadata") or {}
        if metadata.get(NAME_KEY) == name and metadata.get(NAMESPACE_KEY, "default") == namespace:
            return to_record(api, view)
    return None


def _live_views(api: RunloopAPI) -> Iterator[dict[str, Any]]:
    # Runloop keeps ended devboxes listed forever; asking per live status skips that history.
    seen: set[str] = set()
    for status in LIVE_STATUSES:
        for view in api.list_devboxes(status):
            if view.get("id") not in seen and view.get("status") not in GONE_STATUSES:
                seen.add(str(view.get("id")))
                yield view


def _shutdown_quietly(api: RunloopAPI, devbox_id: str) -> None:
    try:
        api.shutdown(devbox_id)
    except errors.ComputeSDKError:
        pass  # the original failure is what the caller needs to see


# --- one sandbox ----------------------------------------------------------------------------


def _api(sandbox: Any) -> RunloopAPI:
    return client_for(sandbox.config)


@hookimpl
def sandbox_run_command(sandbox: Any, command: str, options: RunOptions) -> CommandResult:
    """Run a command (execute_sync, or execute_async with the output streams)."""
    return commands.run(_api(sandbox), sandbox.sandbox_id, command, options)


@hookimpl
def sandbox_get_info(sandbox: Any) -> SandboxInfo:
    """The devbox as the API describes it now."""
    api = _api(sandbox)
    view = api.get_devbox(sandbox.sandbox_id)
    if view is None:
        raise errors.SandboxNotFoundError(f"runloop devbox {sandbox.sandbox_id} does not exist")
    record = to_record(api, view, sandbox.record.runtime)
    metadata = dict(record.metadata)
    if record.name is not None:
        metadata.update(name=record.name, namespace=record.namespace or "default")
    return SandboxInfo(id=record.sandbox_id, provider=PROVIDER, runtime=record.runtime or "python",
                       status=record.status, created_at=record.created_at, timeout=record.timeout, metadata=metadata)


@hookimpl
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str:
    """``{protocol}://{port}-{tunnel_key}.tunnel.runloop.ai``, enabling the devbox's tunnel once."""
    native = sandbox.record.native
    if not isinstance(native, RunloopDevbox):
        native = sandbox.record.native = RunloopDevbox(_api(sandbox), {"id": sandbox.sandbox_id})
    return native.url(port, protocol)


@hookimpl
def sandbox_read_file(sandbox: Any, path: str) -> bytes:
    """The file's bytes through download_file."""
    return files.read(_api(sandbox), sandbox.sandbox_id, path)


@hookimpl
def sandbox_write_file(sandbox: Any, path: str, content: bytes) -> bool:
    """Write through write_file_contents (text) or upload_file (bytes)."""
    files.write(_api(sandbox), sandbox.sandbox_id, path, content)
    return True


# --- disk snapshots -------------------------------------------------------------------------


@hookimpl
def snapshot_create(config: Mapping[str, Any], sandbox_id: str, name: str | None) -> SnapshotInfo:
    """Take a disk snapshot (asynchronously, polled until complete within ``snapshot_timeout``)."""
    api = client_for(config)
    started = api.snapshot_async(sandbox_id, name, {})
    snapshot_id = str(started["id"])
    deadline = time.monotonic() + config["snapshot_timeout"]
    pause = 0.2
    while True:
        state = api.snapshot_status(snapshot_id)
        status = state.get("status")
        if status == "complete":
            return _snapshot_info(state.get("snapshot") or started)
        if status in ("error", "deleted"):
            raise errors.ProviderAPIError(
                f"runloop snapshot {snapshot_id} of {sandbox_id} failed: {state.get('error_message') or status}",
                status_code=None, provider=PROVIDER, request_id=None,
            )
        if time.monotonic() + pause > deadline:
            raise errors.OperationTimeoutError(
                f"runloop snapshot {snapshot_id} was not complete after {config['snapshot_timeout']:g} s"
            )
        time.sleep(pause)
        pause = min(pause * 2, 5.0)


@hookimpl
def snapshot_list(config: Mapping[str, Any]) -> list[SnapshotInfo]:
    """The account's disk snapshots."""
    return [_snapshot_info(view) for view in client_for(config).list_snapshots()]


@hookimpl
def snapshot_delete(config: Mapping[str, Any], snapshot_id: str) -> bool:
    """Delete a disk snapshot; quietly done when it is unknown."""
    try:
        client_for(config).delete_snapshot(snapshot_id)
    except errors.NotFoundError:
        pass
    return True


def _snapshot_info(view: Mapping[str, Any]) -> SnapshotInfo:
    metadata = dict(view.get("metadata") or {})
    if view.get("source_devbox_id"):
        metadata.setdefault("source_devbox_id", view["source_devbox_id"])
    return SnapshotInfo(id=str(view["id"]), provider=PROVIDER, created_at=created_at(view),
                        name=view.get("name"), metadata=metadata)
