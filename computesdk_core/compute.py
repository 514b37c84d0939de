"""``compute``: configuration, provider selection and the ``sandbox``/``snapshot``/``template`` namespaces."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.config import ComputeConfig, resolve_options, select_provider
from computesdk_core.context import SandboxContext
from computesdk_core.plugins import ProviderHost, ProviderRegistry, registry
from computesdk_core.sandbox import Sandbox
from computesdk_core.types import CreateOptions, SandboxRecord, SnapshotInfo, TemplateInfo

DEFAULT_NAMESPACE = "default"
DEFAULT_EXTENSION = 900.0


class Compute:
    """A configured entry point. ``compute(...)`` makes another, independently configured one."""

    def __init__(self, _registry: ProviderRegistry | None = None, **config: Any) -> None:
        self._registry = _registry or registry
        self._lock = threading.Lock()
        self._config = ComputeConfig.parse(self._registry, config)
        self._resolved: dict[str, Mapping[str, Any]] = {}
        self.sandbox = SandboxManager(self)
        self.snapshot = SnapshotManager(self)
        self.template = TemplateManager(self)

    def __call__(self, **config: Any) -> Compute:
        """Return a new instance configured with ``config`` (like ``set_config``), independent of this one."""
        return Compute(self._registry, **config)

    def __repr__(self) -> str:
        return f"Compute(provider={self._config.provider!r})"

    def set_config(self, **config: Any) -> None:
        """Replace the configuration: ``provider``, ``api_key``, ``gateway_url`` and one dict per provider."""
        parsed = ComputeConfig.parse(self._registry, config)
        with self._lock:
            self._config = parsed
            self._resolved.clear()

    def get_config(self) -> dict[str, Any]:
        """The configuration set with ``set_config`` (credentials masked)."""
        return self._config.as_dict()

    def clear_config(self) -> None:
        """Forget ``set_config``: back to the environment and auto-detection."""
        self.set_config()

    def providers(self) -> list[str]:
        """Names of the installed provider plugins."""
        return self._registry.names()

    def capabilities(self, provider: str | None = None) -> set[str]:
        """The features ``provider`` (default: the selected one) serves."""
        return set(self._registry.host(self.selected_provider(provider)).capabilities())

    def selected_provider(self, provider: str | None = None) -> str:
        """The provider a call with ``provider=`` would use, by the selection order of the docs."""
        return select_provider(self._registry, self._config, provider)

    def _target(self, provider: str | None) -> tuple[ProviderHost, Mapping[str, Any]]:
        name = self.selected_provider(provider)
        host = self._registry.host(name)
        with self._lock:
            options = self._resolved.get(name)
        if options is None:
            options = resolve_options(self._registry, self._config, name)
            with self._lock:
                self._resolved[name] = options
        return host, options

    def _wrap(self, host: ProviderHost, options: Mapping[str, Any], record: SandboxRecord) -> Sandbox:
        return Sandbox(SandboxContext(host, options, record))


class SandboxManager:
    """``compute.sandbox``: create, find and destroy sandboxes."""

    def __init__(self, compute: Compute) -> None:
        self._compute = compute

    def create(
        self,
        *,
        timeout: float | None = None,
        template_id: str | None = None,
        snapshot_id: str | None = None,
        image: str | None = None,
        runtime: str | None = None,
        envs: Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        name: str | None = None,
        namespace: str | None = None,
        provider: str | None = None,
        **provider_options: Any,
    ) -> Sandbox:
        """Create a sandbox; ``timeout`` is its lifetime in seconds. Extra keywords go to the provider."""
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise errors.ValidationError(f"timeout must be a positive number of seconds, not {timeout!r}")
        if namespace is not None and name is None:
            raise errors.ValidationError("namespace needs a name")
        host, options = self._compute._target(provider)
        create = CreateOptions(
            timeout=timeout, template_id=template_id, snapshot_id=snapshot_id, image=image, runtime=runtime,
            envs=dict(envs or {}), metadata=dict(metadata or {}), name=name,
            namespace=(namespace or DEFAULT_NAMESPACE) if name is not None else None,
            provider_options=provider_options,
        )
        if name is not None and not host.implements("sandbox_find"):
            raise errors.UnsupportedFeatureError(
                f"provider {host.name!r} does not support named sandboxes", provider=host.name, feature="named"
            )
        record = host.call("sandbox_create", "create", config=options, options=create)
        return self._compute._wrap(host, options, record)

    def get_by_id(self, sandbox_id: str, *, provider: str | None = None) -> Sandbox | None:
        """The sandbox with this id, or None when it does not exist (or no longer does)."""
        host, options = self._compute._target(provider)
        record = host.hook.sandbox_get(config=options, sandbox_id=sandbox_id)
        return None if record is None else self._compute._wrap(host, options, record)

    def list(self, *, provider: str | None = None) -> list[Sandbox]:
        """Every live sandbox of the provider."""
        host, options = self._compute._target(provider)
        records = host.call("sandbox_list", "list", config=options)
        return [self._compute._wrap(host, options, record) for record in records]

    def destroy(self, sandbox_id: str, *, provider: str | None = None) -> None:
        """Destroy a sandbox by id; succeeds when it is already gone."""
        host, options = self._compute._target(provider)
        host.call("sandbox_destroy", "destroy", config=options, sandbox_id=sandbox_id)

    def find(self, *, name: str, namespace: str | None = None, provider: str | None = None) -> Sandbox | None:
        """The live sandbox named ``name`` in ``namespace`` (default "default"), or None."""
        if not name:
            raise errors.ValidationError("name must be a non-empty string")
        host, options = self._compute._target(provider)
        if not host.implements("sandbox_find"):
            raise errors.UnsupportedFeatureError(
                f"provider {host.name!r} does not support named sandboxes (find)", provider=host.name, feature="named"
            )
        record = host.hook.sandbox_find(config=options, name=name, namespace=namespace or DEFAULT_NAMESPACE)
        return None if record is None else self._compute._wrap(host, options, record)

    def find_or_create(self, *, name: str, namespace: str | None = None, provider: str | None = None,
                       **create_options: Any) -> Sandbox:
        """The sandbox named ``name`` in ``namespace``, created with ``create_options`` if there is none."""
        found = self.find(name=name, namespace=namespace, provider=provider)
        if found is not None:
            return found
        return self.create(name=name, namespace=namespace, provider=provider, **create_options)

    def extend_timeout(self, sandbox_id: str, *, duration: float = DEFAULT_EXTENSION, provider: str | None = None) -> None:
        """Push a sandbox's expiry ``duration`` seconds (default 900) further."""
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration <= 0:
            raise errors.ValidationError(f"duration must be a positive number of seconds, not {duration!r}")
        host, options = self._compute._target(provider)
        host.call("sandbox_extend_timeout", "extend_timeout", config=options, sandbox_id=sandbox_id, duration=duration)


class SnapshotManager:
    """``compute.snapshot``: saved file-system states of sandboxes."""

    def __init__(self, compute: Compute) -> None:
        self._compute = compute

    def create(self, sandbox_id: str, *, name: str | None = None, provider: str | None = None) -> SnapshotInfo:
        """Snapshot a sandbox."""
        host, options = self._compute._target(provider)
        info: SnapshotInfo = host.call("snapshot_create", "snapshots", config=options, sandbox_id=sandbox_id, name=name)
        return info

    def list(self, *, provider: str | None = None) -> list[SnapshotInfo]:
        """The provider's snapshots."""
        host, options = self._compute._target(provider)
        found: list[SnapshotInfo] = host.call("snapshot_list", "snapshots", config=options)
        return found

    def delete(self, snapshot_id: str, *, provider: str | None = None) -> None:
        """Delete a snapshot; succeeds when it is already gone."""
        host, options = self._compute._target(provider)
        host.call("snapshot_delete", "snapshots", config=options, snapshot_id=snapshot_id)


class TemplateManager:
    """``compute.template``: images or templates sandboxes are created from."""

    def __init__(self, compute: Compute) -> None:
        self._compute = compute

    def create(self, *, name: str, provider: str | None = None, **template_options: Any) -> TemplateInfo:
        """Create a template from provider-specific options."""
        host, options = self._compute._target(provider)
        info: TemplateInfo = host.call("template_create", "templates", config=options, name=name,
                                       options=template_options)
        return info

    def list(self, *, provider: str | None = None) -> list[TemplateInfo]:
        """The provider's templates."""
        host, options = self._compute._target(provider)
        found: list[TemplateInfo] = host.call("template_list", "templates", config=options)
        return found

    def delete(self, template_id: str, *, provider: str | None = None) -> None:
        """Delete a template; succeeds when it is already gone."""
        host, options = self._compute._target(provider)
        host.call("template_delete", "templates", config=options, template_id=template_id)


compute = Compute()
