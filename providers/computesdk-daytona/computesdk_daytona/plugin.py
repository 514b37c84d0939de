"""The ``daytona`` provider's hook implementations (entry point ``computesdk.providers: daytona``).

Lifecycle, labels and preview links go to Daytona's control plane; commands and files to the
toolbox of each sandbox, found at the ``toolboxProxyUrl`` the control plane returns with it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.hookspecs import hookimpl
from computesdk_core.types import (
    CodeResult,
    CommandResult,
    CreateOptions,
    FileEntry,
    RunOptions,
    SandboxInfo,
    SandboxRecord,
    SnapshotInfo,
)
from computesdk_daytona import commands, files
from computesdk_daytona.config import API_KEY_ENV, client_of, resolve_config
from computesdk_daytona.handle import DaytonaSandbox
from computesdk_daytona.records import create_body, labels_filter, parse_time, status_of, to_record

# States from which ``start`` brings a sandbox back.
_RESTARTABLE = frozenset({"stopped", "archived", "paused"})


def _record(config: Mapping[str, Any], data: dict[str, Any]) -> SandboxRecord:
    return to_record(client_of(config), data, config["start_timeout"])


def _box(sandbox: Any) -> DaytonaSandbox:
    native: DaytonaSandbox = sandbox.record.native
    return native


@hookimpl
def provider_detect(environ: Mapping[str, str]) -> bool | None:
    """Claim the environment when ``DAYTONA_API_KEY`` is set."""
    return bool(environ.get(API_KEY_ENV))


@hookimpl
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any] | None:
    """Resolve ``api_key``, ``api_url``, ``target``, ``organization_id`` and ``start_timeout``."""
    return resolve_config(options, environ)


@hookimpl
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord | None:
    """``POST /sandbox``, then wait until the sandbox is ``started`` (see ``records.create_body``)."""
    client = client_of(config)
    data = client.create_sandbox(create_body(options, config.get("target")))
    data = client.wait_until_started(str(data["id"]), config["start_timeout"], data=data)
    return _record(config, data)


@hookimpl
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """The sandbox, started again first when it was stopped, paused or archived; None when gone."""
    client = client_of(config)
    data = client.get_sandbox(sandbox_id)
    if data is None:
        return None
    if data.get("state") in _RESTARTABLE:
        client.action(sandbox_id, "start")
        data = client.wait_until_started(sandbox_id, config["start_timeout"])
    return _record(config, data)


@hookimpl
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord] | None:
    """Every sandbox not destroyed, in any state (page after page)."""
    return [_record(config, item) for item in client_of(config).list_sandboxes()]


@hookimpl
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool | None:
    """``DELETE /sandbox/{id}``; a sandbox already gone is no error."""
    client_of(config).delete_sandbox(sandbox_id)
    return True


@hookimpl
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """The live sandbox whose ``computesdk.io/name`` and ``computesdk.io/namespace`` labels match."""
    for item in client_of(config).list_sandboxes(labels=labels_filter(name, namespace)):
        return sandbox_get(config=config, sandbox_id=str(item["id"]))
    return None


@hookimpl
def sandbox_extend_timeout(config: Mapping[str, Any], sandbox_id: str, duration: float) -> bool | None:
    """Count now as activity, and raise the auto-stop interval to ``duration`` when it is shorter.

    Daytona stops a sandbox after ``autoStopInterval`` minutes without activity; there is no
    absolute deadline to move.
    """
    client = client_of(config)
    data = client.get_sandbox(sandbox_id)
    if data is None:
        raise errors.SandboxNotFoundError(f"daytona: sandbox {sandbox_id} does not exist")
    client.touch(sandbox_id)
    minutes = max(1, math.ceil(duration / 60))
    current = data.get("autoStopInterval")
    if isinstance(current, (int, float)) and 0 < current < minutes:
        client.action(sandbox_id, f"autostop/{minutes}")
    return True


def _snapshot_info(data: dict[str, Any]) -> SnapshotInfo:
    return SnapshotInfo(id=str(data["id"]), provider="daytona", created_at=parse_time(data.get("createdAt")),
                        name=data.get("name"), metadata={"state": data.get("state"), "general": data.get("general")})


@hookimpl
def snapshot_create(config: Mapping[str, Any], sandbox_id: str, name: str | None) -> SnapshotInfo | None:
    """Save the sandbox as a Daytona snapshot and wait until the snapshot is ``active``.

    The sandbox is ``snapshotting`` meanwhile and comes back ``started``; ``create(snapshot_id=...)``
    takes the returned id (or the name).
    """
    client = client_of(config)
    name = name or f"computesdk-{sandbox_id[:8]}-{uuid.uuid4().hex[:8]}"
    client.snapshot_sandbox(sandbox_id, name)
    client.wait_until_started(sandbox_id, config["start_timeout"])
    return _snapshot_info(client.wait_until_active(name, config["start_timeout"]))


@hookimpl
def snapshot_list(config: Mapping[str, Any]) -> list[SnapshotInfo] | None:
    """Every snapshot of the organization, Daytona's general ones included (``metadata["general"]``)."""
    return [_snapshot_info(item) for item in client_of(config).list_snapshots()]


@hookimpl
def snapshot_delete(config: Mapping[str, Any], snapshot_id: str) -> bool | None:
    """``DELETE /snapshots/{id}``; a snapshot already gone is no error."""
    client_of(config).delete_snapshot(snapshot_id)
    return True


@hookimpl
def sandbox_run_command(sandbox: Any, command: str, options: RunOptions) -> CommandResult | None:
    """Run a command in a Daytona session of its own (see ``commands``)."""
    return commands.run_command(_box(sandbox), command, options)


@hookimpl
def sandbox_run_code(sandbox: Any, code: str, language: str) -> CodeResult | None:
    """Run a snippet through ``/process/execute`` (combined output)."""
    return commands.run_code(_box(sandbox), code, language)


@hookimpl
def sandbox_get_info(sandbox: Any) -> SandboxInfo | None:
    """Describe the sandbox from a fresh ``GET /sandbox/{id}``."""
    box = _box(sandbox).refresh()
    record = to_record(box.client, box.data, box.start_timeout)
    metadata = dict(record.metadata)
    if record.name is not None:
        metadata.setdefault("name", record.name)
        metadata.setdefault("namespace", record.namespace or "default")
    return SandboxInfo(id=record.sandbox_id, provider=sandbox.provider, runtime=record.runtime or "python",
                       status=status_of(box.state), created_at=record.created_at, timeout=record.timeout,
                       metadata=metadata)


@hookimpl
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str | None:
    """The port's Daytona preview URL (``https://{port}-{id}.{proxy domain}``) with ``protocol`` as scheme.

    Unless the sandbox is public, a client must also send the link's token; the native handle's
    ``preview_link(port)`` returns both, ``signed_preview_url(port)`` a URL that needs no header.
    """
    url = _box(sandbox).preview_link(port).url
    scheme, sep, rest = url.partition("://")
    return f"{protocol}://{rest}" if sep and protocol else url


@hookimpl
def sandbox_read_file(sandbox: Any, path: str) -> bytes | None:
    """``GET /files/download``."""
    return files.read_file(_box(sandbox), path)


@hookimpl
def sandbox_write_file(sandbox: Any, path: str, content: bytes) -> bool | None:
    """``POST /files/folder`` for the parent, then ``POST /files/upload``."""
    files.write_file(_box(sandbox), path, content)
    return True


@hookimpl
def sandbox_mkdir(sandbox: Any, path: str) -> bool | None:
    """``POST /files/folder``."""
    files.mkdir(_box(sandbox), path)
    return True


@hookimpl
def sandbox_readdir(sandbox: Any, path: str) -> list[FileEntry] | None:
    """``GET /files``."""
    return files.readdir(_box(sandbox), path)


@hookimpl
def sandbox_exists(sandbox: Any, path: str) -> bool | None:
    """``GET /files/info`` (404: does not exist)."""
    return files.exists(_box(sandbox), path)


@hookimpl
def sandbox_remove(sandbox: Any, path: str) -> bool | None:
    """``DELETE /files?recursive=true``."""
    files.remove(_box(sandbox), path)
    return True
