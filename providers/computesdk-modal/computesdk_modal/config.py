"""The Modal provider's options, resolved from explicit values and the environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from computesdk_core.errors import ConfigurationError, MissingCredentialsError
from computesdk_core.secrets import Secret

PROVIDER = "modal"
TOKEN_ID_ENV = "MODAL_TOKEN_ID"
TOKEN_SECRET_ENV = "MODAL_TOKEN_SECRET"
ENVIRONMENT_ENV = "MODAL_ENVIRONMENT"
DEFAULT_APP_NAME = "computesdk-modal"
# ComputeSDK's default image for Modal: Debian with Node.js and Python 3.
DEFAULT_IMAGE = "node:20"

# Option -> default; the tokens and the environment come from the environment when not given.
DEFAULTS: dict[str, Any] = {
    "token_id": None,
    "token_secret": None,
    # The Modal App every sandbox of this configuration belongs to (created when missing).
    "app_name": DEFAULT_APP_NAME,
    # The Modal environment (workspace section); None means the account's default.
    "environment": None,
    # Registry image used when create() names no image, template or snapshot.
    "image": DEFAULT_IMAGE,
    # Container ports given a TLS tunnel at every create (create's own ``ports`` add to these).
    "ports": (),
    # How long get_url may wait for Modal to publish the tunnels, in seconds.
    "tunnel_timeout": 50.0,
    # How long a file system snapshot may take, in seconds.
    "snapshot_timeout": 55.0,
    # For tests only: an object with ModalAdapter's methods used instead of the real Modal client.
    "adapter": None,
}
KNOWN_KEYS = tuple(DEFAULTS)
_SECONDS = ("tunnel_timeout", "snapshot_timeout")


def detect(environ: Mapping[str, str]) -> bool:
    """Whether ``environ`` holds both Modal tokens."""
    return bool(environ.get(TOKEN_ID_ENV, "").strip() and environ.get(TOKEN_SECRET_ENV, "").strip())


def resolve(options: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The provider's config: ``options`` over ``environ`` over defaults, validated.

    Raises ConfigurationError for an unknown key or a bad value, and MissingCredentialsError
    naming the variable when a token is missing (not needed when a test ``adapter`` is given).
    """
    unknown = sorted(set(options) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) for provider 'modal': {', '.join(unknown)}; known keys: {', '.join(KNOWN_KEYS)}"
        )
    config = {**DEFAULTS, **{key: value for key, value in options.items() if value is not None}}
    if config["adapter"] is None:
        config["token_id"] = _token(config["token_id"], "token_id", TOKEN_ID_ENV, environ)
        config["token_secret"] = _token(config["token_secret"], "token_secret", TOKEN_SECRET_ENV, environ)
    config["environment"] = config["environment"] or environ.get(ENVIRONMENT_ENV, "").strip() or None
    for name in ("app_name", "image"):
        if not isinstance(config[name], str) or not config[name].strip():
            raise ConfigurationError(f"modal option {name!r} must be a non-empty string, not {config[name]!r}")
    if config["environment"] is not None and not isinstance(config["environment"], str):
        raise ConfigurationError(f"modal option 'environment' must be a string, not {config['environment']!r}")
    config["ports"] = parse_ports(config["ports"], "modal option 'ports'")
    for name in _SECONDS:
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigurationError(f"modal option {name!r} must be a positive number of seconds, not {value!r}")
        config[name] = float(value)
    return config


def parse_ports(value: Any, what: str) -> tuple[int, ...]:
    """``value`` as a tuple of TCP ports; ConfigurationError naming ``what`` otherwise."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ConfigurationError(f"{what} must be a list of ports, not {value!r}")
    ports = tuple(value)
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigurationError(f"{what} must hold ports from 1 to 65535, not {port!r}")
    return ports


def _token(value: Any, key: str, env: str, environ: Mapping[str, str]) -> Secret:
    if isinstance(value, Secret):
        secret = value
    elif isinstance(value, str):
        secret = Secret(value.strip())
    elif value is None:
        secret = Secret(environ.get(env, "").strip())
    else:
        raise ConfigurationError(f"modal option {key!r} must be a string")
    if not secret:
        raise MissingCredentialsError(
            f"provider 'modal' needs {env}: set it or pass modal={{'{key}': ...}} "
            f"(Modal tokens come in pairs: {TOKEN_ID_ENV} and {TOKEN_SECRET_ENV})"
        )
    return secret
