"""The Vercel provider's hookimpls (entry point ``vercel`` in ``computesdk.providers``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.hookspecs import hookimpl
from computesdk_core.types import CommandResult, CreateOptions, RunOptions, SandboxInfo, SandboxRecord, SnapshotInfo
from computesdk_vercel import commands, config, files
from computesdk_vercel.api import VercelAPI, client_for, field
from computesdk_vercel.handle import VercelSandbox
from computesdk_vercel.records import NAME_KEY, NAMESPACE_KEY, create_body, from_millis, to_record

PROVIDER = config.PROVIDER


@hookimpl
def provider_detect(environ: Mapping[str, str]) -> bool:
    """True when VERCEL_OIDC_TOKEN, or VERCEL_TOKEN with VERCEL_TEAM_ID and VERCEL_PROJECT_ID, are set."""
    return config.detect(environ)


@hookimpl
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any]:
    """``token``/``oidc_token``, ``team_id``, ``project_id``, ``api_url`` and the tuning options."""
    return config.resolve(options, environ)


# --- lifecycle ------------------------------------------------------------------------------


@hookimpl
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord:
    """Create a sandbox and wait (bounded by ``create_timeout``) until its first session runs."""
    api = client_for(config)
    answer = api.create_sandbox(create_body(options))
    record = to_record(api, answer, options.runtime)
    try:
        record.native.wait_until_running()
    except BaseException:
        # A sandbox that never became usable must not stay around unseen.
        _delete_quietly(api, record.sandbox_id)
        raise
    return record


@hookimpl
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """The sandbox (running or stopped: a stopped one resumes on the next call), or None when deleted."""
    api = client_for(config)
    answer = api.get_sandbox(sandbox_id)
    return None if answer is None else to_record(api, answer)


@hookimpl
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord]:
    """Every sandbox of the project."""
    api = client_for(config)
    return [to_record(api, {"sandbox": sandbox}) for sandbox in api.list_sandboxes()]


@hookimpl
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool:
    """Delete the sandbox (sessions, files, routes); quietly done when it is already gone."""
    api = client_for(config)
    try:
        api.delete_sandbox(sandbox_id)
    except errors.NotFoundError:
        pass
    return True


@hookimpl
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """The sandbox whose computesdk tags hold ``(namespace, name)`` (Vercel filters by tag)."""
    api = client_for(config)
    for sandbox in api.list_sandboxes({NAME_KEY: name, NAMESPACE_KEY: namespace}):
        tags = sandbox.get("tags") or {}
        if tags.get(NAME_KEY) == name and tags.get(NAMESPACE_KEY) == namespace:
            return to_record(api, {"sandbox": sandbox})
    return None


@hookimpl
def sandbox_extend_timeout(config: Mapping[str, Any], sandbox_id: str, duration: float) -> bool:
    """Push the current session's deadline ``duration`` seconds further."""
    handle = _handle_of(client_for(config), sandbox_id)
    milliseconds = max(1, round(duration * 1000))
    handle.call(lambda session_id: handle.api.extend_timeout(session_id, milliseconds))
    return True


def _delete_quietly(api: VercelAPI, name: str) -> None:
    try:
        api.delete_sandbox(name)
    except errors.ComputeSDKError:
        pass  # the original failure is what the caller needs to see


def _handle_of(api: VercelAPI, name: str) -> VercelSandbox:
    answer = api.get_sandbox(name)
    if answer is None:
        raise errors.SandboxNotFoundError(f"vercel sandbox {name} does not exist")
    return VercelSandbox(api, answer)


# --- one sandbox ----------------------------------------------------------------------------


def _native(sandbox: Any) -> VercelSandbox:
    native = sandbox.record.native
    if not isinstance(native, VercelSandbox):
        native = sandbox.record.native = _handle_of(client_for(sandbox.config), sandbox.sandbox_id)
    return native


@hookimpl
def sandbox_run_command(sandbox: Any, command: str, options: RunOptions) -> CommandResult:
    """Run ``sh -c <command>`` in the current session, output streamed as NDJSON."""
    return commands.run(_native(sandbox), command, options)


@hookimpl
def sandbox_get_info(sandbox: Any) -> SandboxInfo:
    """The sandbox as the API describes it now."""
    native = _native(sandbox)
    native.refresh()
    record = to_record(native.api, {"sandbox": native.sandbox}, sandbox.record.runtime)
    metadata = dict(record.metadata)
    if record.name is not None:
        metadata.update(name=record.name, namespace=record.namespace or "default")
    return SandboxInfo(id=record.sandbox_id, provider=PROVIDER, runtime=record.runtime or "python",
                       status=record.status, created_at=record.created_at, timeout=record.timeout, metadata=metadata)


@hookimpl
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str:
    """The route of ``port`` (declared at create with ``ports=[...]``), with ``protocol``."""
    return _native(sandbox).url(port, protocol)


@hookimpl
def sandbox_read_file(sandbox: Any, path: str) -> bytes:
    """The file's bytes through ``fs/read``."""
    return files.read(_native(sandbox), path)


@hookimpl
def sandbox_write_file(sandbox: Any, path: str, content: bytes) -> bool:
    """Write through ``fs/write`` (a gzipped tar)."""
    files.write(_native(sandbox), path, content)
    return True


# --- snapshots ------------------------------------------------------------------------------


@hookimpl
def snapshot_create(config: Mapping[str, Any], sandbox_id: str, name: str | None) -> SnapshotInfo:
    """Snapshot the sandbox's file system. Vercel stops the session doing so; the next call resumes it.

    Vercel snapshots carry no name, so ``name`` is not kept.
    """
    handle = _handle_of(client_for(config), sandbox_id)
    answer = handle.call(handle.api.snapshot)
    return _snapshot_info(field(answer, "snapshot", "POST snapshot"))


@hookimpl
def snapshot_list(config: Mapping[str, Any]) -> list[SnapshotInfo]:
    """The project's snapshots."""
    return [_snapshot_info(view) for view in client_for(config).list_snapshots()]


@hookimpl
def snapshot_delete(config: Mapping[str, Any], snapshot_id: str) -> bool:
    """Delete a snapshot; quietly done when it is gone (404, or 410 snapshot_not_found)."""
    try:
        client_for(config).delete_snapshot(snapshot_id)
    except errors.NotFoundError:
        pass
    return True


def _snapshot_info(view: Mapping[str, Any]) -> SnapshotInfo:
    metadata = {key: view[key] for key in ("sourceSessionId", "sourceSandboxName", "status", "sizeBytes", "expiresAt")
                if key in view}
    return SnapshotInfo(id=str(view["id"]), provider=PROVIDER, created_at=from_millis(view.get("createdAt")),
                        metadata=metadata)
