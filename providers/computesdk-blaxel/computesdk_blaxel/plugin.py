"""The Blaxel provider's hookimpls (entry point ``blaxel`` in ``computesdk.providers``)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping
from typing import Any

from computesdk_blaxel import commands, config, files, previews
from computesdk_blaxel.api import BlaxelAPI, client_for
from computesdk_blaxel.sandboxes import (
    GONE_STATUSES,
    NAME_KEY,
    NAMESPACE_KEY,
    create_body,
    duration_seconds,
    new_name,
    parse_time,
    sandbox_url,
    to_record,
    wait_deployed,
)
from computesdk_core import errors
from computesdk_core.hookspecs import hookimpl
from computesdk_core.types import CommandResult, CreateOptions, FileEntry, RunOptions, SandboxInfo, SandboxRecord

PROVIDER = config.PROVIDER


@hookimpl
def provider_detect(environ: Mapping[str, str]) -> bool:
    """True when ``BL_API_KEY`` and ``BL_WORKSPACE`` are set."""
    return config.detect(environ)


@hookimpl
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any]:
    """``api_key`` (BL_API_KEY), ``workspace`` (BL_WORKSPACE), ``api_url`` (BL_API_URL), ``region`` (BL_REGION)..."""
    return config.resolve(options, environ)


# --- lifecycle ------------------------------------------------------------------------------


@hookimpl
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord:
    """Create a sandbox under a generated name and wait (bounded by ``create_timeout``) until it is DEPLOYED."""
    api = client_for(config)
    name = new_name()
    body = create_body(config, options, name)
    try:
        answer: dict[str, Any] | None = api.create_sandbox(body)
    except (errors.ConnectionLostError, errors.OperationTimeoutError):
        answer = None  # the answer was lost, not necessarily the sandbox: look it up by name
    except errors.ProviderAPIError as exc:
        # A CDN gateway timeout while the sandbox keeps deploying behind it.
        if getattr(exc, "status_code", None) not in (502, 504):
            raise
        answer = None
    try:
        sandbox = wait_deployed(api, name, answer, config["create_timeout"])
    except BaseException:
        # A sandbox that never became usable must not keep running (and billing) unseen.
        _delete_quietly(api, name)
        raise
    return to_record(config, sandbox, options.runtime)


@hookimpl
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """The sandbox, or None when it is unknown or being deleted."""
    sandbox = client_for(config).get_sandbox(sandbox_id)
    if sandbox is None or sandbox.get("status") in GONE_STATUSES:
        return None
    return to_record(config, sandbox)


@hookimpl
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord]:
    """Every sandbox of the workspace that is not gone."""
    return [to_record(config, sandbox) for sandbox in _live(client_for(config))]


@hookimpl
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool:
    """Delete the sandbox; quietly done when it is already gone."""
    try:
        client_for(config).delete_sandbox(sandbox_id)
    except errors.NotFoundError:
        pass
    return True


@hookimpl
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """The live sandbox whose computesdk labels hold ``(namespace, name)``."""
    for sandbox in _live(client_for(config)):
        labels = (sandbox.get("metadata") or {}).get("labels") or {}
        if labels.get(NAME_KEY) == name and labels.get(NAMESPACE_KEY, "default") == namespace:
            return to_record(config, sandbox)
    return None


@hookimpl
def sandbox_extend_timeout(config: Mapping[str, Any], sandbox_id: str, duration: float) -> bool:
    """Lengthen ``spec.runtime.ttl`` by ``duration`` seconds (Blaxel has no other way to extend)."""
    api = client_for(config)
    sandbox = api.get_sandbox(sandbox_id)
    if sandbox is None or sandbox.get("status") in GONE_STATUSES:
        raise errors.SandboxNotFoundError(f"blaxel sandbox {sandbox_id} does not exist")
    spec = dict(sandbox.get("spec") or {})
    runtime = dict(spec.get("runtime") or {})
    current = duration_seconds(runtime.get("ttl"))
    if current is None:
        # No lifetime yet: count from creation, so the sandbox lives ``duration`` more from now.
        created = parse_time((sandbox.get("metadata") or {}).get("createdAt")) or dt.datetime.now(dt.timezone.utc)
        current = max(0.0, (dt.datetime.now(dt.timezone.utc) - created).total_seconds())
    runtime["ttl"] = f"{math.ceil(current + duration)}s"
    spec["runtime"] = runtime
    api.update_sandbox(sandbox_id, {"metadata": sandbox.get("metadata") or {"name": sandbox_id}, "spec": spec})
    return True


def _live(api: BlaxelAPI) -> Iterator[dict[str, Any]]:
    for sandbox in api.list_sandboxes():
        if isinstance(sandbox, dict) and sandbox.get("status") not in GONE_STATUSES:
            yield sandbox


def _delete_quietly(api: BlaxelAPI, name: str) -> None:
    try:
        api.delete_sandbox(name)
    except errors.ComputeSDKError:
        pass  # the original failure is what the caller needs to see


# --- one sandbox ----------------------------------------------------------------------------


def _target(sandbox: Any) -> tuple[BlaxelAPI, str]:
    """The client and the base URL of the sandbox's own API."""
    api = client_for(sandbox.config)
    native = sandbox.record.native
    if not isinstance(native, dict) or not (native.get("metadata") or {}).get("url"):
        fresh = api.get_sandbox(sandbox.sandbox_id)
        if fresh is None:
            raise errors.SandboxNotFoundError(f"blaxel sandbox {sandbox.sandbox_id} does not exist")
        native = sandbox.record.native = fresh
    return api, sandbox_url(sandbox.config, native)


@hookimpl
def sandbox_run_command(sandbox: Any, command: str, options: RunOptions) -> CommandResult:
    """Run a command through ``POST /process`` (NDJSON output, polling past the CDN's cut)."""
    api, base = _target(sandbox)
    return commands.run(api, base, command, options)


@hookimpl
def sandbox_get_info(sandbox: Any) -> SandboxInfo:
    """The sandbox as the control plane describes it now."""
    fresh = client_for(sandbox.config).get_sandbox(sandbox.sandbox_id)
    if fresh is None:
        raise errors.SandboxNotFoundError(f"blaxel sandbox {sandbox.sandbox_id} does not exist")
    sandbox.record.native = fresh
    record = to_record(sandbox.config, fresh, sandbox.record.runtime)
    metadata = dict(record.metadata)
    if record.name is not None:
        metadata.update(name=record.name, namespace=record.namespace or "default")
    return SandboxInfo(id=record.sandbox_id, provider=PROVIDER, runtime=record.runtime or "python",
                       status=record.status, created_at=record.created_at, timeout=record.timeout, metadata=metadata)


@hookimpl
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str:
    """The URL of the port's preview (made once per port, then reused)."""
    return previews.url(client_for(sandbox.config), sandbox.sandbox_id, port, protocol)


@hookimpl
def sandbox_read_file(sandbox: Any, path: str) -> bytes:
    """A file's bytes (``GET /filesystem/{path}``)."""
    return files.read(*_target(sandbox), path)


@hookimpl
def sandbox_write_file(sandbox: Any, path: str, content: bytes) -> bool:
    """Write a file (``PUT /filesystem/{path}``), parents included."""
    files.write(*_target(sandbox), path, content)
    return True


@hookimpl
def sandbox_mkdir(sandbox: Any, path: str) -> bool:
    """Create a directory with its parents."""
    files.mkdir(*_target(sandbox), path)
    return True


@hookimpl
def sandbox_readdir(sandbox: Any, path: str) -> list[FileEntry]:
    """List a directory."""
    return files.readdir(*_target(sandbox), path)


@hookimpl
def sandbox_exists(sandbox: Any, path: str) -> bool:
    """Whether a path exists."""
    return files.exists(*_target(sandbox), path)


@hookimpl
def sandbox_remove(sandbox: Any, path: str) -> bool:
    """Remove a file or directory tree."""
    files.remove(*_target(sandbox), path)
    return True
