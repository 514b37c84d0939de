"""The Modal provider's hookimpls (entry point ``modal`` in ``computesdk.providers``).

Every call to Modal goes through an adapter (:class:`computesdk_modal.adapter.ModalAdapter`, or
the ``adapter`` option in tests); this module only translates between computesdk and it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
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
from computesdk_modal import commands, records
from computesdk_modal import config as settings
from computesdk_modal.adapter import ModalAdapter

PROVIDER = settings.PROVIDER
_adapters: dict[tuple[str, ...], ModalAdapter] = {}
_adapters_lock = threading.Lock()


def adapter_for(conf: Mapping[str, Any]) -> Any:
    """The adapter of a configuration: the injected one, or one ModalAdapter per tokens, App and environment."""
    if conf.get("adapter") is not None:
        return conf["adapter"]
    # The key holds a digest of the secret, never the secret itself.
    digest = hashlib.sha256(conf["token_secret"].reveal().encode()).hexdigest()
    key = (conf["token_id"].reveal(), digest, conf["app_name"], conf["environment"] or "")
    with _adapters_lock:
        adapter = _adapters.get(key)
        if adapter is None:
            adapter = _adapters[key] = ModalAdapter(conf["token_id"], conf["token_secret"], conf["app_name"],
                                                    conf["environment"])
        return adapter


@hookimpl
def provider_detect(environ: Mapping[str, str]) -> bool:
    """True when ``MODAL_TOKEN_ID`` and ``MODAL_TOKEN_SECRET`` are set."""
    return settings.detect(environ)


@hookimpl
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any]:
    """``token_id``/``token_secret`` (MODAL_TOKEN_ID/MODAL_TOKEN_SECRET), ``environment``, ``app_name``..."""
    return settings.resolve(options, environ)


# --- lifecycle ------------------------------------------------------------------------------


@hookimpl
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord:
    """Create a sandbox from an image reference, an image id (snapshot or template) or the default image.

    Create options ``ports`` (TLS tunnels, added to the configured ones) and any other Modal
    ``Sandbox.create`` keyword (``cpu``, ``memory``, ``gpu``, ``idle_timeout``...) are passed on.
    """
    extra = dict(options.provider_options)
    ports = tuple(dict.fromkeys(config["ports"] + _ports(extra.pop("ports", ()))))
    image = options.snapshot_id or options.template_id or options.image or config["image"]
    tags = records.create_tags(options)
    view = adapter_for(config).create_sandbox(image=image, timeout=options.timeout, envs=options.envs, ports=ports,
                                              tags=tags, options=extra)
    return records.to_record(view)


def _ports(value: Any) -> tuple[int, ...]:
    try:
        return settings.parse_ports(value, "modal create option 'ports'")
    except errors.ConfigurationError as exc:
        raise errors.ValidationError(str(exc)) from exc


@hookimpl
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """The running sandbox, or None when Modal does not know it or it has finished."""
    view = adapter_for(config).from_id(sandbox_id)
    if view is None or not view.running:
        return None
    return records.to_record(view)


@hookimpl
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord]:
    """The running sandboxes of the configured App."""
    return [records.to_record(view) for view in adapter_for(config).list()]


@hookimpl
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool:
    """Terminate the sandbox; quietly done when it is unknown or already finished."""
    adapter_for(config).terminate(sandbox_id)
    return True


@hookimpl
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """The running sandbox whose tags hold ``(namespace, name)`` (Modal filters by tags)."""
    for view in adapter_for(config).list(records.name_tags(name, namespace)):
        if view.running:
            return records.to_record(view)
    return None


# --- one sandbox ----------------------------------------------------------------------------


@hookimpl
def sandbox_run_command(sandbox: Any, command: str, options: RunOptions) -> CommandResult:
    """``sh -c <command>`` through Modal's exec, stdout and stderr streamed apart."""
    return commands.run(adapter_for(sandbox.config), sandbox.sandbox_id, command, options)


@hookimpl
def sandbox_get_info(sandbox: Any) -> SandboxInfo:
    """The sandbox as Modal describes it now (status from its exit code, the rest from its tags)."""
    view = adapter_for(sandbox.config).from_id(sandbox.sandbox_id)
    if view is None:
        raise errors.SandboxNotFoundError(f"modal sandbox {sandbox.sandbox_id} does not exist")
    record = records.to_record(view)
    metadata = dict(record.metadata)
    if record.name is not None:
        metadata.update(name=record.name, namespace=record.namespace or records.DEFAULT_NAMESPACE)
    return SandboxInfo(id=record.sandbox_id, provider=PROVIDER, runtime=record.runtime or sandbox.record.runtime or "python",
                       status=record.status, created_at=record.created_at, timeout=record.timeout, metadata=metadata)


@hookimpl
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str:
    """``{protocol}://{tunnel host}[:{tunnel port}]`` of a port declared at create."""
    tunnels = adapter_for(sandbox.config).tunnels(sandbox.sandbox_id, sandbox.config["tunnel_timeout"])
    tunnel = tunnels.get(port)
    if tunnel is None:
        declared = ", ".join(str(p) for p in sorted(tunnels)) or "none"
        raise errors.ValidationError(
            f"modal sandbox {sandbox.sandbox_id} has no tunnel for port {port} (ports declared at create: {declared}); "
            "declare it with create(ports=[...]) or the provider option 'ports'"
        )
    default_port = 443 if protocol in ("https", "wss") else 80
    suffix = "" if tunnel.port == default_port else f":{tunnel.port}"
    return f"{protocol}://{tunnel.host}{suffix}"


@hookimpl
def sandbox_read_file(sandbox: Any, path: str) -> bytes:
    """The file's bytes through Modal's sandbox file system API."""
    return bytes(adapter_for(sandbox.config).read_file(sandbox.sandbox_id, path))


@hookimpl
def sandbox_write_file(sandbox: Any, path: str, content: bytes) -> bool:
    """Create or replace a file (parents are created)."""
    adapter_for(sandbox.config).write_file(sandbox.sandbox_id, path, content)
    return True


@hookimpl
def sandbox_mkdir(sandbox: Any, path: str) -> bool:
    """Create a directory with its parents."""
    adapter_for(sandbox.config).make_directory(sandbox.sandbox_id, path)
    return True


@hookimpl
def sandbox_readdir(sandbox: Any, path: str) -> list[FileEntry]:
    """A directory's entries; PathNotFoundError when it does not exist."""
    adapter = adapter_for(sandbox.config)
    entry = adapter.stat(sandbox.sandbox_id, path)
    if entry is None:
        raise errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}")
    if entry.type != "directory":
        raise errors.ValidationError(f"not a directory in the sandbox: {path}")
    return list(adapter.list_dir(sandbox.sandbox_id, path))


@hookimpl
def sandbox_exists(sandbox: Any, path: str) -> bool:
    """Whether anything is at ``path``."""
    return adapter_for(sandbox.config).stat(sandbox.sandbox_id, path) is not None


@hookimpl
def sandbox_remove(sandbox: Any, path: str) -> bool:
    """Remove a file or a directory tree; PathNotFoundError when nothing is there."""
    adapter = adapter_for(sandbox.config)
    entry = adapter.stat(sandbox.sandbox_id, path)
    if entry is None:
        raise errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}")
    adapter.remove(sandbox.sandbox_id, path, recursive=entry.type == "directory")
    return True


# --- file system snapshots ------------------------------------------------------------------


@hookimpl
def snapshot_create(config: Mapping[str, Any], sandbox_id: str, name: str | None) -> SnapshotInfo:
    """Snapshot the sandbox's file system into an image; its id (``im-...``) is the snapshot id."""
    image_id = adapter_for(config).snapshot_filesystem(sandbox_id, config["snapshot_timeout"])
    return SnapshotInfo(id=image_id, provider=PROVIDER, created_at=dt.datetime.now(dt.timezone.utc), name=name,
                        metadata={"source_sandbox_id": sandbox_id})
