"""The configuration ``compute`` holds, and how a provider is chosen from it."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import attrs

from computesdk_core import errors
from computesdk_core.plugins import KNOWN_PACKAGES, ProviderRegistry
from computesdk_core.secrets import Secret

log = logging.getLogger(__name__)

# Auto-detection order of the seeds; providers not listed come after, by name; local is last.
DETECTION_ORDER = ("e2b", "railway", "daytona", "modal", "runloop", "vercel", "codesandbox", "blaxel", "gateway")
FALLBACK_PROVIDER = "local"
_TOP_LEVEL = ("provider", "api_key", "gateway_url")


@attrs.define
class ComputeConfig:
    """What ``set_config``/``compute(...)`` was given; provider blocks are kept as given."""

    provider: str | None = None
    api_key: Secret | None = None
    gateway_url: str | None = None
    providers: dict[str, dict[str, Any]] = attrs.field(factory=dict)

    @classmethod
    def parse(cls, registry: ProviderRegistry, options: Mapping[str, Any]) -> ComputeConfig:
        """Validate keyword options; unknown keys are an error that lists the known ones."""
        known_providers = set(KNOWN_PACKAGES) | set(registry.names())
        config = cls()
        for key, value in options.items():
            if key == "provider":
                config.provider = value.lower() if isinstance(value, str) else value
            elif key == "api_key":
                config.api_key = _secret(value)
            elif key == "gateway_url":
                config.gateway_url = value
            elif key in known_providers:
                if value is None:
                    continue
                if not isinstance(value, Mapping):
                    raise errors.ConfigurationError(f"the options of provider {key!r} must be a dict, not {type(value).__name__}")
                config.providers[key] = dict(value)
            else:
                raise errors.ConfigurationError(
                    f"unknown configuration key {key!r}; known keys: "
                    + ", ".join(list(_TOP_LEVEL) + sorted(known_providers))
                )
        return config

    def as_dict(self) -> dict[str, Any]:
        """The configuration as ``get_config`` shows it (credentials stay masked)."""
        return {"provider": self.provider, "api_key": self.api_key, "gateway_url": self.gateway_url,
                **{name: dict(block) for name, block in self.providers.items()}}


def _secret(value: Any) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(str(value))


def select_provider(registry: ProviderRegistry, config: ComputeConfig, requested: str | None,
                    environ: Mapping[str, str] | None = None) -> str:
    """The provider to use: argument, then config, then COMPUTESDK_PROVIDER, then detection, then local."""
    environ = os.environ if environ is None else environ
    for choice in (requested, config.provider, environ.get("COMPUTESDK_PROVIDER")):
        if choice:
            return choice.strip().lower()
    installed = registry.names()
    ordered = [name for name in DETECTION_ORDER if name in installed]
    ordered += sorted(set(installed) - set(ordered) - {FALLBACK_PROVIDER})
    for name in ordered:
        try:
            if registry.host(name).hook.provider_detect(environ=environ):
                return name
        except errors.ConfigurationError as exc:
            log.warning("skipping provider %r during auto-detection: %s", name, exc)
    return FALLBACK_PROVIDER


def resolve_options(registry: ProviderRegistry, config: ComputeConfig, name: str,
                    environ: Mapping[str, str] | None = None) -> Mapping[str, Any]:
    """The provider's options: its explicit block merged with the environment by the plugin."""
    environ = os.environ if environ is None else environ
    host = registry.host(name)
    explicit = dict(config.providers.get(name, {}))
    resolved = host.hook.provider_config(options=explicit, environ=environ)
    if resolved is None:
        if explicit:
            raise errors.ConfigurationError(
                f"provider {name!r} takes no options, but got: {', '.join(sorted(explicit))}"
            )
        return {}
    options: Mapping[str, Any] = resolved
    return options
