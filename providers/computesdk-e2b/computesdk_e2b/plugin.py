"""The ``e2b`` provider's hook implementations (entry point ``computesdk.providers: e2b``).

Lifecycle, snapshots and timeouts go to E2B's control plane; commands and files go to the
sandbox's envd (``process.Process`` stream, ``/files`` and ``filesystem.Filesystem``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.hookspecs import hookimpl
from computesdk_core.types import (
    CommandResult,
    CreateOptions,
    FileEntry,
    RunOptions,
    SandboxInfo,
    SandboxRecord,
    SnapshotInfo,
)
from computesdk_e2b import commands, files
from computesdk_e2b.api import PROVIDER, control_plane
from computesdk_e2b.config import API_KEY_ENV, resolve_config
from computesdk_e2b.handle import E2BSandbox
from computesdk_e2b.records import NAME_KEY, NAMESPACE_KEY, record_of
from computesdk_e2b.times import parse_time

# create(**provider_options) keys -> NewSandbox fields.
CREATE_OPTIONS = {"secure": "secure", "allow_internet_access": "allow_internet_access", "auto_pause": "autoPause"}


def _native(sandbox: Any) -> E2BSandbox:
    native: E2BSandbox = sandbox.record.native
    return native


@hookimpl
def provider_detect(environ: Mapping[str, str]) -> bool | None:
    """True when ``E2B_API_KEY`` is set."""
    return bool(environ.get(API_KEY_ENV))


@hookimpl
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any] | None:
    """Resolve ``api_key``, ``api_url``, ``domain``, ``envd_url``, ``template`` and ``timeout`` (see the README)."""
    return resolve_config(options, environ)


@hookimpl
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord | None:
    """``POST /sandboxes`` from ``template_id`` or ``snapshot_id`` (else the configured template).

    The lifetime is sent in whole seconds (E2B would otherwise give 15 s). Metadata values are
    sent as strings; a name and namespace are stored as the metadata keys ``computesdk_name``
    and ``computesdk_namespace``. ``secure``, ``allow_internet_access`` and ``auto_pause`` may
    be given as extra create options.
    """
    if options.image is not None:
        raise errors.UnsupportedFeatureError(
            "e2b: sandboxes start from templates or snapshots, not from images", provider=PROVIDER, feature="image")
    if options.template_id is not None and options.snapshot_id is not None:
        raise errors.ValidationError("e2b: give template_id or snapshot_id, not both")
    unknown = sorted(set(options.provider_options) - set(CREATE_OPTIONS))
    if unknown:
        raise errors.ValidationError(
            f"unknown create option(s) for provider 'e2b': {', '.join(unknown)}; known: {', '.join(CREATE_OPTIONS)}")
    timeout = float(options.timeout if options.timeout is not None else config["timeout"])
    metadata = {str(key): str(value) for key, value in options.metadata.items()}
    if options.name is not None:
        metadata[NAME_KEY] = options.name
        metadata[NAMESPACE_KEY] = options.namespace or "default"
    body: dict[str, Any] = {
        "templateID": options.snapshot_id or options.template_id or config["template"],
        "timeout": max(1, math.ceil(timeout)),
        "secure": True,
        "metadata": metadata,
        "envVars": dict(options.envs),
    }
    for key, field in CREATE_OPTIONS.items():
        if key in options.provider_options:
            body[field] = bool(options.provider_options[key])
    created = control_plane(config).create(body)
    if not isinstance(created.get("sandboxID"), str):
        raise errors.ProviderAPIError("e2b: POST /sandboxes answered without a sandboxID",
                                      status_code=None, provider=PROVIDER, request_id=None)
    record = record_of(config, created, metadata=metadata, timeout=timeout)
    record.runtime = options.runtime
    return record


@hookimpl
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """``GET /sandboxes/{id}``; None when E2B answers 404 or 410."""
    found = control_plane(config).get(sandbox_id)
    return None if found is None else record_of(config, found)


@hookimpl
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord] | None:
    """Running and paused sandboxes (``GET /v2/sandboxes``, every page)."""
    return [record_of(config, item) for item in control_plane(config).sandboxes()]


@hookimpl
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool | None:
    """``DELETE /sandboxes/{id}``; a sandbox already gone counts as destroyed."""
    control_plane(config).kill(sandbox_id)
    return True


@hookimpl
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """The sandbox whose metadata holds this name and namespace (filtered by E2B's list)."""
    wanted = {NAME_KEY: name, NAMESPACE_KEY: namespace}
    for item in control_plane(config).sandboxes(metadata=wanted):
        stored = item.get("metadata") or {}
        if all(stored.get(key) == value for key, value in wanted.items()):
            return record_of(config, item)
    return None


@hookimpl
def sandbox_extend_timeout(config: Mapping[str, Any], sandbox_id: str, duration: float) -> bool | None:
    """Push the end ``duration`` seconds further: ``POST /timeout`` with (time left + duration).

    E2B's ``/timeout`` sets the time left from now and ``/refreshes`` only guarantees a minimum,
    so the time left is read first (``GET /sandboxes/{id}``).
    """
    client = control_plane(config)
    found = client.get(sandbox_id)
    if found is None:
        raise errors.SandboxNotFoundError(f"e2b: sandbox {sandbox_id} does not exist", provider=PROVIDER)
    ends = parse_time(found.get("endAt"))
    left = max(0.0, (ends - dt.datetime.now(dt.timezone.utc)).total_seconds()) if ends else 0.0
    client.set_timeout(sandbox_id, math.ceil(left + duration))
    return True


@hookimpl
def sandbox_run_command(sandbox: Any, command: str, options: RunOptions) -> CommandResult | None:
    """Run the command through envd's ``process.Process/Start`` stream (see computesdk_e2b.commands)."""
    return commands.run_command(_native(sandbox).envd, command, options)


@hookimpl
def sandbox_read_file(sandbox: Any, path: str) -> bytes | None:
    """``GET /files`` on envd."""
    return files.read_file(_native(sandbox).envd, path)


@hookimpl
def sandbox_write_file(sandbox: Any, path: str, content: bytes) -> bool | None:
    """``POST /files`` (multipart) on envd."""
    files.write_file(_native(sandbox).envd, path, content)
    return True


@hookimpl
def sandbox_mkdir(sandbox: Any, path: str) -> bool | None:
    """``filesystem.Filesystem/MakeDir``; an existing directory is fine."""
    files.mkdir(_native(sandbox).envd, path)
    return True


@hookimpl
def sandbox_readdir(sandbox: Any, path: str) -> list[FileEntry] | None:
    """``filesystem.Filesystem/ListDir`` with depth 1."""
    return files.readdir(_native(sandbox).envd, path)


@hookimpl
def sandbox_exists(sandbox: Any, path: str) -> bool | None:
    """``filesystem.Filesystem/Stat``."""
    return files.exists(_native(sandbox).envd, path)


@hookimpl
def sandbox_remove(sandbox: Any, path: str) -> bool | None:
    """``filesystem.Filesystem/Remove`` (after ``Stat``, since envd removes a missing path silently)."""
    files.remove(_native(sandbox).envd, path)
    return True


@hookimpl
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str | None:
    """``{protocol}://{port}-{sandbox_id}.{domain}``."""
    return f"{protocol}://{_native(sandbox).get_host(port)}"


@hookimpl
def sandbox_get_info(sandbox: Any) -> SandboxInfo | None:
    """The sandbox as E2B describes it now (state running or paused); the lifetime asked at creation."""
    record: SandboxRecord = sandbox.record
    found = control_plane(sandbox.config).get(record.sandbox_id)
    if found is None:
        raise errors.SandboxNotFoundError(f"e2b: sandbox {record.sandbox_id} does not exist", provider=PROVIDER)
    live = record_of(sandbox.config, found)
    metadata = dict(live.metadata)
    if live.name is not None:
        metadata.setdefault("name", live.name)
        metadata.setdefault("namespace", live.namespace or "default")
    return SandboxInfo(
        id=record.sandbox_id, provider=PROVIDER, runtime=record.runtime or "python", status=live.status,
        created_at=live.created_at, timeout=record.timeout if record.timeout is not None else live.timeout,
        metadata=metadata,
    )


@hookimpl
def snapshot_create(config: Mapping[str, Any], sandbox_id: str, name: str | None) -> SnapshotInfo | None:
    """``POST /sandboxes/{id}/snapshots``; the id works as ``create(snapshot_id=...)``."""
    found = control_plane(config).snapshot(sandbox_id, name)
    return _snapshot(found, sandbox_id, dt.datetime.now(dt.timezone.utc))


@hookimpl
def snapshot_list(config: Mapping[str, Any]) -> list[SnapshotInfo] | None:
    """``GET /snapshots``. E2B does not say when a snapshot was made: ``created_at`` is the Unix epoch."""
    epoch = dt.datetime.fromtimestamp(0, dt.timezone.utc)
    return [_snapshot(item, None, epoch) for item in control_plane(config).snapshots()]


@hookimpl
def snapshot_delete(config: Mapping[str, Any], snapshot_id: str) -> bool | None:
    """``DELETE /templates/{id}`` (an E2B snapshot is a template); one already gone is fine."""
    control_plane(config).delete_template(snapshot_id)
    return True


def _snapshot(data: Mapping[str, Any], sandbox_id: str | None, created_at: dt.datetime) -> SnapshotInfo:
    snapshot_id = data.get("snapshotID")
    if not isinstance(snapshot_id, str):
        raise errors.ProviderAPIError("e2b: a snapshot without a snapshotID", status_code=None,
                                      provider=PROVIDER, request_id=None)
    names = [str(n) for n in data.get("names") or []]
    metadata: dict[str, Any] = {"names": names}
    if sandbox_id is not None:
        metadata["sandbox_id"] = sandbox_id
    return SnapshotInfo(id=snapshot_id, provider=PROVIDER, created_at=created_at,
                        name=names[0] if names else None, metadata=metadata)
