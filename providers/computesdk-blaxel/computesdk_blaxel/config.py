"""The Blaxel provider's options, resolved from explicit values and the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from computesdk_core.errors import ConfigurationError, MissingCredentialsError
from computesdk_core.secrets import Secret

PROVIDER = "blaxel"
API_KEY_ENV = "BL_API_KEY"
WORKSPACE_ENV = "BL_WORKSPACE"
API_URL_ENV = "BL_API_URL"
REGION_ENV = "BL_REGION"
DEFAULT_API_URL = "https://api.blaxel.ai/v0"
DEFAULT_IMAGE = "blaxel/base-image:latest"
# Images ComputeSDK picks for a runtime when no image is asked for.
RUNTIME_IMAGES = {"python": "blaxel/py-app:latest", "node": "blaxel/ts-app:latest"}

# Option -> default; api_key, workspace, api_url and region come from the environment when not given.
DEFAULTS: dict[str, Any] = {
    "api_key": None,
    "workspace": None,
    "api_url": None,
    "region": None,
    "image": DEFAULT_IMAGE,
    # Memory of a sandbox in MB (Blaxel sizes sandboxes by memory only).
    "memory": 4096,
    # Deadline of one ordinary API call, in seconds.
    "request_timeout": 60.0,
    # How long create may wait for a sandbox to be DEPLOYED, in seconds.
    "create_timeout": 300.0,
    # Retries of idempotent calls after a 429, a 5xx or a broken connection.
    "max_retries": 3,
    # Whether previews made by get_url are public; private ones carry a preview token in the URL.
    "public_previews": True,
    # Lifetime of a private preview's token, in seconds.
    "preview_token_ttl": 86400.0,
}
KNOWN_KEYS = tuple(DEFAULTS)
_SECONDS = ("request_timeout", "create_timeout", "preview_token_ttl")


def detect(environ: Mapping[str, str]) -> bool:
    """Whether ``environ`` holds both a Blaxel API key and a workspace."""
    return bool(environ.get(API_KEY_ENV, "").strip() and environ.get(WORKSPACE_ENV, "").strip())


def _credential(value: Any, environ: Mapping[str, str], env: str, what: str, option: str) -> str:
    if isinstance(value, Secret):
        value = value.reveal()
    if value is None:
        value = environ.get(env, "")
    if not isinstance(value, str) or not value.strip():
        raise MissingCredentialsError(
            f"provider 'blaxel' needs {what}: set {env} or pass blaxel={{'{option}': ...}}"
        )
    return value.strip()


def resolve(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The provider's config: ``options`` over ``environ`` over defaults, validated.

    Raises ConfigurationError for an unknown key or a bad value, and MissingCredentialsError
    naming ``BL_API_KEY`` or ``BL_WORKSPACE`` when one is missing.
    """
    unknown = sorted(set(options) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for provider 'blaxel': {', '.join(unknown)}; known keys: {', '.join(KNOWN_KEYS)}"
        )
    config = {**DEFAULTS, **{key: value for key, value in options.items() if value is not None}}
    config["api_key"] = Secret(_credential(config["api_key"], environ, API_KEY_ENV, "an API key", "api_key"))
    config["workspace"] = _credential(config["workspace"], environ, WORKSPACE_ENV, "a workspace", "workspace")
    url = config["api_url"] or environ.get(API_URL_ENV, "").strip() or DEFAULT_API_URL
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"blaxel option 'api_url' must be an http(s) URL, not {url!r}")
    config["api_url"] = url.rstrip("/")
    region = config["region"] or environ.get(REGION_ENV, "").strip() or None
    if region is not None and not isinstance(region, str):
        raise ConfigurationError(f"blaxel option 'region' must be a region name such as 'us-pdx-1', not {region!r}")
    config["region"] = region
    for name in _SECONDS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigurationError(f"blaxel option {name!r} must be a positive number of seconds, not {value!r}")
        config[name] = float(value)
    for name, low in (("max_retries", 0), ("memory", 1)):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigurationError(f"blaxel option {name!r} must be an integer >= {low}, not {value!r}")
    if not isinstance(config["image"], str) or not config["image"]:
        raise ConfigurationError("blaxel option 'image' must be a non-empty image reference")
    if not isinstance(config["public_previews"], bool):
        raise ConfigurationError("blaxel option 'public_previews' must be True or False")
    return config
