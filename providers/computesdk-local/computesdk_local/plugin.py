"""The ``local`` provider's hook implementations (entry point ``computesdk.providers: local``).

Commands, files, terminals and the rest reach a local sandbox through its daemon: this module
answers the lifecycle hooks and says where the daemon is (``sandbox_daemon``); the core does
everything else over that endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from computesdk_core.errors import UnsupportedFeatureError, ValidationError
from computesdk_core.hookspecs import hookimpl
from computesdk_core.types import CreateOptions, DaemonEndpoint, SandboxRecord
from computesdk_local import registry
from computesdk_local.config import resolve_config
from computesdk_local.records import LocalSandbox

_URL_SCHEMES = {"http": "http", "https": "http", "ws": "ws", "wss": "ws"}


@hookimpl
def provider_detect(environ: Mapping[str, str]) -> bool | None:
    """Never claim the environment: ``local`` is the fallback the core selects last."""
    return False


@hookimpl
def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any] | None:
    """Resolve ``home``, ``isolation``, ``network`` and ``python`` (see the package README)."""
    return resolve_config(options, environ)


@hookimpl
def sandbox_create(config: Mapping[str, Any], options: CreateOptions) -> SandboxRecord | None:
    """Start a sandbox (bubblewrap process tree running the daemon) and wait until it answers.

    ``options.timeout`` defaults to 1800 s; ``options.provider_options`` may set ``isolation`` and
    ``network``. For a named sandbox, a live one with the same ``(namespace, name)`` is returned
    instead of creating a second one. A local sandbox is a view of this machine, so there is
    no template, image or snapshot to start from: asking for one is refused rather than ignored.
    """
    for field, feature in (("template_id", "templates"), ("image", "images"), ("snapshot_id", "snapshots")):
        if getattr(options, field) is not None:
            raise UnsupportedFeatureError(
                f"local: sandboxes run this machine's own system and cannot start from a {field}",
                provider="local", feature=feature,
            )
    if options.runtime not in (None, "python", "node"):
        raise ValidationError(f"local: runtime must be 'python' or 'node', not {options.runtime!r}")
    return registry.create(config, options)


@hookimpl
def sandbox_get(config: Mapping[str, Any], sandbox_id: str) -> SandboxRecord | None:
    """Return the live sandbox ``sandbox_id`` (from any process), or None."""
    return registry.get(config, sandbox_id)


@hookimpl
def sandbox_list(config: Mapping[str, Any]) -> list[SandboxRecord] | None:
    """Return the live sandboxes of this state directory, oldest first."""
    return registry.list_live(config)


@hookimpl
def sandbox_destroy(config: Mapping[str, Any], sandbox_id: str) -> bool | None:
    """Kill every process of the sandbox and delete its files; True also for an unknown id."""
    return registry.destroy(config, sandbox_id)


@hookimpl
def sandbox_find(config: Mapping[str, Any], name: str, namespace: str) -> SandboxRecord | None:
    """Return the live sandbox created with ``(namespace, name)``, or None."""
    return registry.find(config, name, namespace)


@hookimpl
def sandbox_extend_timeout(config: Mapping[str, Any], sandbox_id: str, duration: float) -> bool | None:
    """Make the sandbox live ``duration`` seconds longer than it would have."""
    return registry.extend_timeout(config, sandbox_id, duration)


@hookimpl
def sandbox_daemon(sandbox: Any) -> DaemonEndpoint | None:
    """The daemon's loopback URL and access token."""
    handle: LocalSandbox = sandbox.record.native
    return DaemonEndpoint(url=handle.url, token=handle.token)


@hookimpl
def sandbox_get_url(sandbox: Any, port: int, protocol: str) -> str | None:
    """``http://127.0.0.1:<port>`` (``ws://`` for "ws"/"wss"): the sandbox shares the host's network.

    There is no TLS locally, so "https" gives an http URL and "wss" a ws URL. A sandbox created
    with network "none" has no port reachable from the host.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValidationError(f"port must be an integer from 1 to 65535, not {port!r}")
    scheme = _URL_SCHEMES.get(protocol)
    if scheme is None:
        raise ValidationError(f"protocol must be one of {', '.join(_URL_SCHEMES)}, not {protocol!r}")
    handle: LocalSandbox = sandbox.record.native
    if handle.network == "none":
        raise UnsupportedFeatureError(
            f"local: sandbox {handle.id} was created with network 'none'; its ports are not reachable from the host",
            provider="local",
            feature="get_url",
        )
    return f"{scheme}://127.0.0.1:{port}"
