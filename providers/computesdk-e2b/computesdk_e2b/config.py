"""The E2B provider's options: explicit values over the environment, validated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from computesdk_core.errors import ConfigurationError, MissingCredentialsError
from computesdk_core.secrets import Secret

KNOWN_KEYS = ("api_key", "api_url", "domain", "envd_url", "template", "timeout")

API_KEY_ENV = "E2B_API_KEY"
API_URL_ENV = "E2B_API_URL"
DOMAIN_ENV = "E2B_DOMAIN"

DEFAULT_DOMAIN = "e2b.app"
DEFAULT_TEMPLATE = "base"
# Sandbox lifetime when create() gives none; E2B itself would default to 15 s.
DEFAULT_TIMEOUT = 300.0
KEY_PREFIX = "e2b_"


def resolve_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Return ``api_key`` (a Secret), ``api_url``, ``domain``, ``envd_url``, ``template`` and ``timeout``.

    Explicit ``options`` win over ``environ``. An unknown key, a malformed value or a missing key
    raises ConfigurationError (MissingCredentialsError naming ``E2B_API_KEY`` for the key).
    """
    unknown = sorted(set(options) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for provider 'e2b': {', '.join(unknown)}; known keys: {', '.join(KNOWN_KEYS)}"
        )
    raw_key = options.get("api_key") or environ.get(API_KEY_ENV)
    if not raw_key:
        raise MissingCredentialsError(
            f"e2b: no API key; set {API_KEY_ENV} or pass e2b={{'api_key': ...}} to compute()/set_config()"
        )
    key = raw_key if isinstance(raw_key, Secret) else Secret(str(raw_key))
    if not key.reveal().startswith(KEY_PREFIX):
        raise ConfigurationError(f"e2b: the API key (option api_key / {API_KEY_ENV}) must start with {KEY_PREFIX!r}")
    domain = _text("domain", options.get("domain") or environ.get(DOMAIN_ENV) or DEFAULT_DOMAIN)
    api_url = _url("api_url", options.get("api_url") or environ.get(API_URL_ENV) or f"https://api.{domain}")
    envd_url = options.get("envd_url")
    timeout = options.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigurationError(f"e2b option 'timeout' must be a positive number of seconds, not {timeout!r}")
    return {
        "api_key": key,
        "api_url": api_url,
        "domain": domain,
        "envd_url": None if envd_url is None else _url("envd_url", envd_url),
        "template": _text("template", options.get("template") or DEFAULT_TEMPLATE),
        "timeout": float(timeout),
    }


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"e2b option {key!r} must be a non-empty string, not {value!r}")
    return value.strip()


def _url(key: str, value: Any) -> str:
    url = _text(key, value).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"e2b option {key!r} must be an http(s) URL, not {url!r}")
    return url
