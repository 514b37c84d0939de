"""The local provider's options: resolution from explicit values and the environment, and validation."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from typing import Any

import platformdirs

from computesdk_core.errors import ConfigurationError, ValidationError

ISOLATIONS = ("bwrap", "none")
NETWORKS = ("host", "none")
KNOWN_KEYS = ("home", "isolation", "network", "python")
# Per-sandbox options that ``create(**provider_options)`` may override.
SANDBOX_KEYS = ("isolation", "network")

HOME_ENV = "COMPUTESDK_LOCAL_HOME"
ISOLATION_ENV = "COMPUTESDK_LOCAL_ISOLATION"
NETWORK_ENV = "COMPUTESDK_LOCAL_NETWORK"


def default_home() -> str:
    """The state directory used when neither the options nor ``COMPUTESDK_LOCAL_HOME`` name one."""
    return os.path.join(platformdirs.user_state_dir("computesdk"), "local")


def resolve_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the provider's config as a plain dict with the keys ``home``, ``isolation``, ``network``, ``python``.

    Explicit ``options`` win over ``environ``; unknown keys and bad values raise ConfigurationError.
    """
    unknown = sorted(set(options) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for provider 'local': {', '.join(unknown)}; known keys: {', '.join(KNOWN_KEYS)}"
        )
    home = options.get("home") or environ.get(HOME_ENV) or default_home()
    if not isinstance(home, (str, os.PathLike)):
        raise ConfigurationError(f"local option 'home' must be a path, not {type(home).__name__}")
    isolation = _choice("isolation", options.get("isolation") or environ.get(ISOLATION_ENV) or "bwrap", ISOLATIONS)
    network = _choice("network", options.get("network") or environ.get(NETWORK_ENV) or "host", NETWORKS)
    return {
        "home": os.path.abspath(os.fspath(home)),
        "isolation": isolation,
        "network": network,
        "python": _interpreter(options.get("python") or sys.executable),
    }


def sandbox_settings(config: Mapping[str, Any], provider_options: Mapping[str, Any]) -> dict[str, str]:
    """Return ``isolation`` and ``network`` for one sandbox: the create call's options over ``config``.

    Raises ValidationError for an option the local provider does not take at create time.
    """
    unknown = sorted(set(provider_options) - set(SANDBOX_KEYS))
    if unknown:
        raise ValidationError(
            f"unknown create option(s) for provider 'local': {', '.join(unknown)}; "
            f"known: {', '.join(SANDBOX_KEYS)}"
        )
    try:
        isolation = _choice("isolation", provider_options.get("isolation", config["isolation"]), ISOLATIONS)
        network = _choice("network", provider_options.get("network", config["network"]), NETWORKS)
    except ConfigurationError as exc:
        raise ValidationError(exc.message) from None
    return {"isolation": isolation, "network": network}


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(
            f"local option {key!r} must be one of {', '.join(repr(a) for a in allowed)}, not {value!r}"
        )
    return str(value)


def _interpreter(value: Any) -> str:
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigurationError(f"local option 'python' must be a path, not {type(value).__name__}")
    path = os.fspath(value)
    found = path if os.path.isabs(path) else shutil.which(path)
    if not found or not os.access(found, os.X_OK) or os.path.isdir(found):
        raise ConfigurationError(f"local option 'python': no executable interpreter at {path!r}")
    # The literal path (not its realpath) is kept: a venv's python is a symlink whose location matters.
    return os.path.abspath(found)
