"""The ``daytona`` provider's options: explicit values first, then Daytona's own environment variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from computesdk_core.errors import ConfigurationError, MissingCredentialsError
from computesdk_core.secrets import Secret
from computesdk_daytona.api import DaytonaAPI

DEFAULT_API_URL = "https://app.daytona.io/api"
API_KEY_ENV = "DAYTONA_API_KEY"
API_URL_ENVS = ("DAYTONA_API_URL", "DAYTONA_SERVER_URL")  # the second is Daytona's deprecated alias
TARGET_ENV = "DAYTONA_TARGET"
ORGANIZATION_ENV = "DAYTONA_ORGANIZATION_ID"
DEFAULT_START_TIMEOUT = 180.0

KNOWN_KEYS = ("api_key", "api_url", "target", "organization_id", "start_timeout")


def _text(options: Mapping[str, Any], key: str, environ: Mapping[str, str], *envs: str) -> str | None:
    value = options.get(key)
    if value is None:
        value = next((environ[name] for name in envs if environ.get(name)), None)
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(f"daytona: option {key!r} must be a string")
    return value or None


def resolve_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Validate ``options``, fill the rest from ``environ`` and build the API client.

    The result holds ``api_key`` (a :class:`Secret`), ``api_url``, ``target``,
    ``organization_id``, ``start_timeout`` (seconds) and ``client`` (:class:`DaytonaAPI`).
    """
    unknown = sorted(set(options) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigurationError(
            f"daytona: unknown option(s) {', '.join(map(repr, unknown))}; known options: {', '.join(KNOWN_KEYS)}"
        )
    raw_key = options.get("api_key")
    if raw_key is None:
        raw_key = environ.get(API_KEY_ENV) or None
    if raw_key is None:
        raise MissingCredentialsError(
            f"daytona: no API key; set the environment variable {API_KEY_ENV} or the option daytona={{'api_key': ...}}",
            provider="daytona", variable=API_KEY_ENV,
        )
    api_key = raw_key if isinstance(raw_key, Secret) else Secret(str(raw_key))
    api_url = _text(options, "api_url", environ, *API_URL_ENVS) or DEFAULT_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"daytona: api_url must be an http(s) URL, not {api_url!r}")
    start_timeout = options.get("start_timeout", DEFAULT_START_TIMEOUT)
    if isinstance(start_timeout, bool) or not isinstance(start_timeout, (int, float)) or start_timeout <= 0:
        raise ConfigurationError("daytona: start_timeout must be a positive number of seconds")
    organization_id = _text(options, "organization_id", environ, ORGANIZATION_ENV)
    return {
        "api_key": api_key,
        "api_url": api_url.rstrip("/"),
        "target": _text(options, "target", environ, TARGET_ENV),
        "organization_id": organization_id,
        "start_timeout": float(start_timeout),
        "client": DaytonaAPI(api_url, api_key, organization_id=organization_id),
    }


def client_of(config: Mapping[str, Any]) -> DaytonaAPI:
    """The API client of a resolved configuration."""
    client: DaytonaAPI = config["client"]
    return client
