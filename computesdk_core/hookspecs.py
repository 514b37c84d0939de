"""The Sandbox interface as pluggy hookspecs: what a provider plugin implements.

A provider package exposes a module of ``@hookimpl`` functions under the entry-point group
``computesdk.providers``. Every hook is ``firstresult``: the provider answers first and the
core's defaults (``trylast``) answer what it leaves out, so a provider that implements only
the lifecycle hooks and ``sandbox_run_command`` (or ``sandbox_daemon``) still gets the whole
basic interface. Times are in seconds everywhere.

Lifecycle hooks receive ``config``: the provider's resolved options (see ``provider_config``).
Hooks on one sandbox receive ``sandbox``: a :class:`computesdk_core.context.SandboxContext`
with ``sandbox.record`` (what the provider returned), ``sandbox.config`` and ``sandbox.provider``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pluggy

from computesdk_core.types import (
    CodeResult,
    CommandResult,
    CreateOptions,
    DaemonEndpoint,
    FileEntry,
    RunOptions,
    SandboxInfo,
    SandboxRecord,
    SnapshotInfo,
    TemplateInfo,
)

PROJECT = "computesdk"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# --- provider description and credentials ---------------------------------------------------


@hookspec(firstresult=True)
def provider_detect(environ: Mapping[str, str]) -> bool | None:
    """Say whether ``environ`` holds this provider's credentials (for auto-selection).

    Return True when every variable the provider needs is set and non-empty.
    """


@hookspec(firstresult=True)
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any] | None:
    """Resolve the provider's options from explicit ``options`` and ``environ``.

    Explicit values win over the environment. Wrap credentials in
    :class:`computesdk_core.secrets.Secret`. Raise
    :class:`~computesdk_core.errors.ConfigurationError` listing the known keys for an unknown
    key, and :class:`~computesdk_core.errors.MissingCredentialsError` naming the environment
    variable when a credential is missing.
    """


# --- lifecycle ------------------------------------------------------------------------------


@hookspec(firstresult=True)
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord | None:
    """Create a sandbox and return its record once it accepts commands."""


@hookspec(firstresult=True)
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """Return the record of a live sandbox, or None when it does not exist (never raise for that)."""


@hookspec(firstresult=True)
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord] | None:
    """Return the records of every live sandbox this configuration can see."""


@hookspec(firstresult=True)
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool | None:
    """Destroy a sandbox with every process and file; succeed quietly when it is already gone.

    Return True once done.
    """


@hookspec(firstresult=True)
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """Return the live sandbox created with this ``(namespace, name)``, or None.

    A provider implementing this hook must also store ``options.name`` and
    ``options.namespace`` in ``sandbox_create``; ``find_or_create`` is built on the two.
    """


@hookspec(firstresult=True)
def sandbox_extend_timeout(config: Mapping[str, Any], sandbox_id: str, duration: float) -> bool | None:
    """Push the sandbox's expiry ``duration`` seconds further; return True once done."""


# --- one sandbox ----------------------------------------------------------------------------


@hookspec(firstresult=True)
def sandbox_daemon(sandbox: Any) -> DaemonEndpoint | None:
    """Return where the sandbox's computesdk daemon answers, if it runs one.

    A provider that returns an endpoint gets commands, files, terminals, watchers, servers,
    signals and tokens through the daemon for every hook it does not implement itself.
    """


@hookspec(firstresult=True)
def sandbox_run_command(sandbox: Any, command: str, options: RunOptions) -> CommandResult | None:
    """Run one shell command string and return its result.

    Honour ``options.cwd``, ``options.env`` and ``options.timeout`` (kill the process tree and
    raise :class:`~computesdk_core.errors.CommandTimeoutError` with the partial output).
    Call ``options.on_stdout``/``options.on_stderr`` with chunks while the command runs. With
    ``options.background`` return at once with exit code 0.
    """


@hookspec(firstresult=True)
def sandbox_run_code(sandbox: Any, code: str, language: str) -> CodeResult | None:
    """Run a snippet of ``language`` ("python" or "node"; already detected by the core)."""


@hookspec(firstresult=True)
def sandbox_get_info(sandbox: Any) -> SandboxInfo | None:
    """Describe the sandbox as it is now."""


@hookspec(firstresult=True)
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str | None:
    """Return the URL at which ``port`` inside the sandbox is reachable."""


@hookspec(firstresult=True)
def sandbox_read_file(sandbox: Any, path: str) -> bytes | None:
    """Return a file's bytes; raise PathNotFoundError when it does not exist."""


@hookspec(firstresult=True)
def sandbox_write_file(sandbox: Any, path: str, content: bytes) -> bool | None:
    """Write (create or replace) a file, creating missing parent directories."""


@hookspec(firstresult=True)
def sandbox_mkdir(sandbox: Any, path: str) -> bool | None:
    """Create a directory with its parents; succeed when it is already there."""


@hookspec(firstresult=True)
def sandbox_readdir(sandbox: Any, path: str) -> list[FileEntry] | None:
    """List a directory; raise PathNotFoundError when it does not exist."""


@hookspec(firstresult=True)
def sandbox_exists(sandbox: Any, path: str) -> bool | None:
    """Say whether a path exists; never raise for a missing one."""


@hookspec(firstresult=True)
def sandbox_remove(sandbox: Any, path: str) -> bool | None:
    """Remove a file or a directory tree; raise PathNotFoundError when it does not exist."""


# --- snapshots and templates ----------------------------------------------------------------


@hookspec(firstresult=True)
def snapshot_create(config: Mapping[str, Any], sandbox_id: str, name: str | None) -> SnapshotInfo | None:
    """Save the sandbox's file system as a snapshot that ``create(snapshot_id=...)`` accepts."""


@hookspec(firstresult=True)
def snapshot_list(config: Mapping[str, Any]) -> list[SnapshotInfo] | None:
    """List the snapshots this configuration can see."""


@hookspec(firstresult=True)
def snapshot_delete(config: Mapping[str, Any], snapshot_id: str) -> bool | None:
    """Delete a snapshot; succeed quietly when it is already gone."""


@hookspec(firstresult=True)
def template_create(config: Mapping[str, Any], name: str, options: Mapping[str, Any]) -> TemplateInfo | None:
    """Create a template (image) from provider-specific ``options``."""


@hookspec(firstresult=True)
def template_list(config: Mapping[str, Any]) -> list[TemplateInfo] | None:
    """List the templates this configuration can see."""


@hookspec(firstresult=True)
def template_delete(config: Mapping[str, Any], template_id: str) -> bool | None:
    """Delete a template; succeed quietly when it is already gone."""
