"""The Vercel provider's options, resolved from explicit values and the environment.

Credentials come in two shapes: an access token with a team id and a project id, or an OIDC
token (a JWT) whose payload names the team (``owner_id``) and the project (``project_id``).
An access token, given or from ``VERCEL_TOKEN``, wins over an OIDC token.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from computesdk_core.errors import ConfigurationError, MissingCredentialsError
from computesdk_core.secrets import Secret

PROVIDER = "vercel"
TOKEN_ENV = "VERCEL_TOKEN"
OIDC_TOKEN_ENV = "VERCEL_OIDC_TOKEN"
TEAM_ENV = "VERCEL_TEAM_ID"
PROJECT_ENV = "VERCEL_PROJECT_ID"
DEFAULT_API_URL = "https://api.vercel.com"

# Option -> default; credentials, team and project come from the environment when not given.
DEFAULTS: dict[str, Any] = {
    "token": None,
    "oidc_token": None,
    "team_id": None,
    "project_id": None,
    "api_url": None,
    # Deadline of one ordinary API call, in seconds.
    "request_timeout": 60.0,
    # How long create, resume and a stopping session may take to become usable, in seconds.
    "create_timeout": 300.0,
    # Retries of idempotent calls after a 429, a 5xx or a broken connection.
    "max_retries": 2,
}
KNOWN_KEYS = tuple(DEFAULTS)
_SECONDS = ("request_timeout", "create_timeout")


def detect(environ: Mapping[str, str]) -> bool:
    """Whether ``environ`` holds usable credentials (an OIDC token, or a token with team and project)."""
    if _env(environ, OIDC_TOKEN_ENV):
        return True
    return all(_env(environ, name) for name in (TOKEN_ENV, TEAM_ENV, PROJECT_ENV))


def resolve(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The provider's config: ``options`` over ``environ`` over defaults, validated.

    Raises ConfigurationError for an unknown key or a bad value, and MissingCredentialsError
    naming the environment variable that is missing.
    """
    unknown = sorted(set(options) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for provider 'vercel': {', '.join(unknown)}; known keys: {', '.join(KNOWN_KEYS)}"
        )
    config = {**DEFAULTS, **{key: value for key, value in options.items() if value is not None}}
    token = _secret(config["token"]) or (Secret(_env(environ, TOKEN_ENV)) if _env(environ, TOKEN_ENV) else None)
    claims: dict[str, Any] = {}
    if token is None:
        token = _secret(config["oidc_token"]) or (
            Secret(_env(environ, OIDC_TOKEN_ENV)) if _env(environ, OIDC_TOKEN_ENV) else None)
        if token is None:
            raise MissingCredentialsError(
                f"provider 'vercel' needs credentials: set {TOKEN_ENV} (with {TEAM_ENV} and {PROJECT_ENV}) "
                f"or {OIDC_TOKEN_ENV}, or pass vercel={{'token': ..., 'team_id': ..., 'project_id': ...}}"
            )
        claims = oidc_claims(token)
    config["token"] = token
    config["oidc_token"] = None
    for key, env, claim in (("team_id", TEAM_ENV, "owner_id"), ("project_id", PROJECT_ENV, "project_id")):
        value = config[key] or _env(environ, env) or claims.get(claim)
        if not isinstance(value, str) or not value.strip():
            raise MissingCredentialsError(
                f"provider 'vercel' needs a {key.replace('_', ' ')}: set {env} or pass vercel={{'{key}': ...}}"
            )
        config[key] = value.strip()
    url = config["api_url"] or DEFAULT_API_URL
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"vercel option 'api_url' must be an http(s) URL, not {url!r}")
    config["api_url"] = url.rstrip("/")
    for name in _SECONDS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigurationError(f"vercel option {name!r} must be a positive number of seconds, not {value!r}")
        config[name] = float(value)
    retries = config["max_retries"]
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(f"vercel option 'max_retries' must be an integer >= 0, not {retries!r}")
    return config


def oidc_claims(token: Secret) -> dict[str, Any]:
    """The payload of an OIDC token, read without verifying it (Vercel verifies; we only need ids)."""
    parts = token.reveal().split(".")
    if len(parts) != 3:
        raise ConfigurationError("vercel OIDC token is not a JWT (expected three dot-separated parts)")
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError as exc:
        raise ConfigurationError("vercel OIDC token has a payload that is not base64url JSON") from exc
    if not isinstance(payload, dict):
        raise ConfigurationError("vercel OIDC token payload is not a JSON object")
    return payload


def _secret(value: Any) -> Secret | None:
    if isinstance(value, Secret):
        return value if value else None
    if isinstance(value, str) and value.strip():
        return Secret(value.strip())
    if value is not None and not isinstance(value, str):
        raise ConfigurationError("vercel credentials must be strings")
    return None


def _env(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()
