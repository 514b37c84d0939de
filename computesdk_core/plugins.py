"""Finding and loading provider plugins: one pluggy PluginManager per provider.

Providers are advertised under the entry-point group ``computesdk.providers`` (name -> module of
hookimpls) and imported only when first used, so importing computesdk imports no provider. A
plugin that fails to load is reported by name and does not affect the others. Cross-cutting
plugins (group ``computesdk.plugins``) are added to every provider's manager.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Iterable
from typing import Any

import pluggy

from computesdk_core import errors, hookspecs
from computesdk_core.defaults import CommandDefaults, DaemonBackend, RecordDefaults

log = logging.getLogger(__name__)

PROVIDER_GROUP = "computesdk.providers"
PLUGIN_GROUP = "computesdk.plugins"

# Providers the project publishes, with the package that brings each one.
KNOWN_PACKAGES = {
    name: f"computesdk-{name}"
    for name in ("local", "e2b", "daytona", "runloop", "vercel", "blaxel", "modal", "codesandbox",
                 "railway", "gateway")
}

# Feature name -> hooks, any one of which (implemented by the provider itself) gives the feature.
DAEMON_FEATURES = ("daemon", "pty", "terminals", "watchers", "servers", "signals", "env", "files",
                   "session_tokens", "magic_links")
FEATURE_HOOKS: dict[str, tuple[str, ...]] = {
    "run_command": ("sandbox_run_command", "sandbox_daemon"),
    "run_code": ("sandbox_run_code", "sandbox_run_command", "sandbox_daemon"),
    "filesystem": ("sandbox_read_file", "sandbox_run_command", "sandbox_daemon"),
    "list": ("sandbox_list",),
    "named": ("sandbox_find",),
    "extend_timeout": ("sandbox_extend_timeout",),
    "get_url": ("sandbox_get_url",),
    "snapshots": ("snapshot_create",),
    "templates": ("template_create",),
    **{feature: ("sandbox_daemon",) for feature in DAEMON_FEATURES},
}


class ProviderHost:
    """One provider's plugin manager: its module, the core defaults and cross-cutting plugins."""

    def __init__(self, name: str, module: Any, extra_plugins: Iterable[Any] = ()) -> None:
        self.name = name
        self.module = module
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        # pluggy calls trylast hooks in registration order, after every other: the daemon backend
        # answers before the command-based defaults.
        self.pm.register(DaemonBackend(), name="computesdk-daemon-backend")
        self.pm.register(CommandDefaults(self.pm), name="computesdk-command-defaults")
        self.pm.register(RecordDefaults(), name="computesdk-record-defaults")
        for plugin in extra_plugins:
            self.pm.register(plugin)
        self.pm.register(module, name=name)
        self.pm.check_pending()
        self.hook = self.pm.hook

    def __repr__(self) -> str:
        return f"ProviderHost({self.name!r})"

    def implements(self, hook_name: str) -> bool:
        """Whether the provider's own module implements ``hook_name``."""
        caller = getattr(self.pm.hook, hook_name)
        return any(impl.plugin_name == self.name for impl in caller.get_hookimpls())

    def capabilities(self) -> frozenset[str]:
        """The features the provider serves (the names ``Sandbox.supports`` accepts)."""
        return frozenset(
            feature for feature, hooks in FEATURE_HOOKS.items() if any(self.implements(h) for h in hooks)
        )

    def call(self, hook_name: str, feature: str, **kwargs: Any) -> Any:
        """Call a hook; raise UnsupportedFeatureError naming provider and feature when none answers."""
        result = getattr(self.pm.hook, hook_name)(**kwargs)
        if result is None:
            raise errors.UnsupportedFeatureError(
                f"provider {self.name!r} does not support {feature}",
                provider=self.name, feature=feature,
            )
        return result


class ProviderRegistry:
    """The providers available to this process: installed entry points plus registered ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, ProviderHost] = {}
        self._registered: dict[str, Any] = {}

    def register(self, name: str, plugin: Any) -> None:
        """Make ``plugin`` (a module or object of hookimpls) available as provider ``name``.

        For tests and for applications that bring their own provider without packaging it.
        """
        with self._lock:
            self._registered[name] = plugin
            self._hosts.pop(name, None)

    def unregister(self, name: str) -> None:
        """Forget a provider added with :meth:`register`."""
        with self._lock:
            self._registered.pop(name, None)
            self._hosts.pop(name, None)

    def names(self) -> list[str]:
        """Names of every installed or registered provider, without importing any."""
        installed = {ep.name for ep in _entry_points(PROVIDER_GROUP)}
        with self._lock:
            return sorted(installed | set(self._registered))

    def host(self, name: str) -> ProviderHost:
        """The loaded provider ``name``; raise a ConfigurationError saying what to do otherwise."""
        with self._lock:
            if name in self._hosts:
                return self._hosts[name]
            module = self._registered.get(name)
        if module is None:
            module = self._load_entry_point(name)
        host = ProviderHost(name, module, _cross_cutting_plugins())
        with self._lock:
            return self._hosts.setdefault(name, host)

    def _load_entry_point(self, name: str) -> Any:
        matches = [ep for ep in _entry_points(PROVIDER_GROUP) if ep.name == name]
        if not matches:
            if name in KNOWN_PACKAGES:
                raise errors.ProviderNotInstalledError(
                    f"provider {name!r} is not installed: run `pip install {KNOWN_PACKAGES[name]}`",
                    package=KNOWN_PACKAGES[name],
                )
            known = ", ".join(sorted(set(KNOWN_PACKAGES) | set(self.names())))
            raise errors.UnknownProviderError(f"unknown provider {name!r}; known providers: {known}")
        try:
            return matches[0].load()
        except Exception as exc:
            raise errors.PluginLoadError(
                f"provider plugin {name!r} ({matches[0].value}) failed to load: {type(exc).__name__}: {exc}"
            ) from exc


def _entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
    return list(importlib.metadata.entry_points(group=group))


def _cross_cutting_plugins() -> list[Any]:
    plugins = []
    for ep in _entry_points(PLUGIN_GROUP):
        try:
            plugins.append(ep.load())
        except Exception as exc:  # one broken plugin must not break the providers
            log.warning("computesdk plugin %r failed to load and is skipped: %s", ep.name, exc)
    return plugins


registry = ProviderRegistry()
