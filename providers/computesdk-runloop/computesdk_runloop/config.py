"""The Runloop provider's options, resolved from explicit values and the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from computesdk_core.errors import ConfigurationError, MissingCredentialsError
from computesdk_core.secrets import Secret

PROVIDER = "runloop"
API_KEY_ENV = "RUNLOOP_API_KEY"
BASE_URL_ENV = "RUNLOOP_BASE_URL"
DEFAULT_API_URL = "https://api.runloop.ai"
DEFAULT_TUNNEL_DOMAIN = "tunnel.runloop.ai"
TUNNEL_AUTH_MODES = ("open", "authenticated")

# Option -> default; api_key and api_url come from the environment when not given.
DEFAULTS: dict[str, Any] = {
    "api_key": None,
    "api_url": None,
    # Deadline of one ordinary API call, in seconds.
    "request_timeout": 60.0,
    # How long create (and resume) may wait for the devbox to reach "running", in seconds.
    "create_timeout": 600.0,
    # Deadline of a disk snapshot, in seconds.
    "snapshot_timeout": 900.0,
    # Retries of idempotent calls after a 429, a 5xx or a broken connection.
    "max_retries": 3,
    "tunnel_auth_mode": "open",
    "tunnel_domain": DEFAULT_TUNNEL_DOMAIN,
}
KNOWN_KEYS = tuple(DEFAULTS)
_SECONDS = ("request_timeout", "create_timeout", "snapshot_timeout")


def detect(environ: Mapping[str, str]) -> bool:
    """Whether ``environ`` holds a Runloop API key."""
    return bool(environ.get(API_KEY_ENV, "").strip())


def resolve(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The provider's config: ``options`` over ``environ`` over defaults, validated.

    Raises ConfigurationError for an unknown key or a bad value, and MissingCredentialsError
    naming ``RUNLOOP_API_KEY`` when there is no key.
    """
    unknown = sorted(set(options) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for provider 'runloop': {', '.join(unknown)}; known keys: {', '.join(KNOWN_KEYS)}"
        )
    config = {**DEFAULTS, **{key: value for key, value in options.items() if value is not None}}
    key = config["api_key"]
    if isinstance(key, Secret):
        secret = key
    elif isinstance(key, str) and key.strip():
        secret = Secret(key.strip())
    elif key is None and environ.get(API_KEY_ENV, "").strip():
        secret = Secret(environ[API_KEY_ENV].strip())
    else:
        raise MissingCredentialsError(
            f"provider 'runloop' needs an API key: set {API_KEY_ENV} or pass runloop={{'api_key': ...}}"
        )
    if not secret:
        raise MissingCredentialsError(f"provider 'runloop' got an empty API key; set {API_KEY_ENV}")
    config["api_key"] = secret
    url = config["api_url"] or environ.get(BASE_URL_ENV, "").strip() or DEFAULT_API_URL
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"runloop option 'api_url' must be an http(s) URL, not {url!r}")
    config["api_url"] = url.rstrip("/")
    for name in _SECONDS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigurationError(f"runloop option {name!r} must be a positive number of seconds, not {value!r}")
        config[name] = float(value)
    retries = config["max_retries"]
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(f"runloop option 'max_retries' must be an integer >= 0, not {retries!r}")
    if config["tunnel_auth_mode"] not in TUNNEL_AUTH_MODES:
        raise ConfigurationError(
            f"runloop option 'tunnel_auth_mode' must be one of {', '.join(TUNNEL_AUTH_MODES)}, "
            f"not {config['tunnel_auth_mode']!r}"
        )
    if not isinstance(config["tunnel_domain"], str) or not config["tunnel_domain"]:
        raise ConfigurationError("runloop option 'tunnel_domain' must be a non-empty host name")
    return config
