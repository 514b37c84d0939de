"""The one error tree of computesdk: every failure a user can catch derives from ComputeSDKError.

Several classes also derive from the matching built-in (``FileNotFoundError``,
``TimeoutError``, ``ConnectionError``, ``ValueError``, ``NotImplementedError``) so that code
written against the standard library keeps working.
"""

from __future__ import annotations

import builtins
from typing import Any

from computesdk_core.secrets import redact


class ComputeSDKError(Exception):
    """Base of every error raised by computesdk. Its message never contains a secret."""

    def __init__(self, message: str, **context: Any) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        for key, value in context.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return self.message


class ConfigurationError(ComputeSDKError, ValueError):
    """The library or a provider is configured wrongly (bad option, missing credential...)."""


class MissingCredentialsError(ConfigurationError):
    """A provider needs a credential that is neither configured nor in the environment."""


class UnknownProviderError(ConfigurationError):
    """A provider name that no installed plugin and no known package answers to."""


class ProviderNotInstalledError(UnknownProviderError):
    """A known provider whose package is not installed; ``package`` names what to pip install."""

    package: str


class PluginLoadError(ConfigurationError):
    """An installed provider plugin failed to import or is malformed."""


class AuthenticationError(ComputeSDKError):
    """The credential was refused (HTTP 401)."""


class PermissionDeniedError(AuthenticationError, PermissionError):
    """The credential is valid but may not do this (HTTP 403), e.g. a session token managing tokens."""


class NotFoundError(ComputeSDKError):
    """A sandbox, terminal, watcher or other resource that does not exist (HTTP 404)."""


class SandboxNotFoundError(NotFoundError):
    """The sandbox does not exist any more, or never did."""


class PathNotFoundError(NotFoundError, FileNotFoundError):
    """A path inside the sandbox that does not exist."""


class OperationTimeoutError(ComputeSDKError, builtins.TimeoutError):
    """A deadline passed before the operation finished."""


class CommandTimeoutError(OperationTimeoutError):
    """A command ran past its ``timeout``; it was killed. ``stdout``/``stderr`` hold what it printed."""

    stdout: str
    stderr: str
    timeout: float


class UnsupportedFeatureError(ComputeSDKError, NotImplementedError):
    """The provider cannot serve this call; ``provider`` and ``feature`` say which."""

    provider: str
    feature: str


class ValidationError(ComputeSDKError, ValueError):
    """An argument was refused before or by the provider (HTTP 400)."""


class ConnectionLostError(ComputeSDKError, ConnectionError):
    """The sandbox's endpoint did not answer: it died, or the network is down."""


class ProviderAPIError(ComputeSDKError):
    """A provider or daemon answered with an error; ``status_code`` and the provider's message are kept."""

    status_code: int | None
    provider: str | None
    request_id: str | None


class RateLimitError(ProviderAPIError):
    """HTTP 429; ``retry_after`` is in seconds when the provider said."""

    retry_after: float | None
