"""``sandbox.session_tokens`` and ``sandbox.magic_links``: delegated access to a sandbox.

Both need the sandbox's access token; called with a session token they raise
:class:`~computesdk_core.errors.PermissionDeniedError`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import attrs

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.secrets import Secret
from computesdk_core.wire import parse_datetime

__all__ = ["MagicLink", "MagicLinks", "SessionToken", "SessionTokenInfo", "SessionTokens"]

DEFAULT_EXPIRES_IN = 604800
DEFAULT_REDIRECT_URL = "/play/"


@attrs.frozen
class SessionToken:
    """A session token just created: the only time its value (``token``) is available."""

    id: str
    token: str = attrs.field(repr=False)
    description: str | None
    created_at: dt.datetime
    expires_at: dt.datetime


@attrs.frozen
class SessionTokenInfo:
    """What can be known of a session token after its creation (never its value)."""

    id: str
    description: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    last_used_at: dt.datetime | None = None


@attrs.frozen
class MagicLink:
    """A one-time login URL for a browser, valid until ``expires_at`` (5 minutes) or its first use."""

    # The URL logs in whoever opens it first, so it stays out of reprs and logs.
    url: str = attrs.field(repr=False)
    expires_at: dt.datetime
    redirect_url: str


def _optional_datetime(value: Any) -> dt.datetime | None:
    return parse_datetime(value) if value else None


class SessionTokens:
    """Session tokens: delegated credentials that work for everything but managing credentials."""

    def __init__(self, daemon: Callable[[], DaemonClient]) -> None:
        """``daemon`` returns the sandbox's current daemon client (called for every operation)."""
        self._daemon = daemon

    def __repr__(self) -> str:
        return "SessionTokens()"

    def create(self, description: str | None = None, expires_in: float = DEFAULT_EXPIRES_IN) -> SessionToken:
        """A new session token living ``expires_in`` seconds (default 7 days).

        Keep ``token`` now: no later call returns it. Use it as the token of a daemon endpoint
        (or as ``?token=`` on a WebSocket URL) to act on the sandbox without the access token.
        """
        body: dict[str, Any] = {"expiresIn": expires_in}
        if description is not None:
            body["description"] = description
        data = self._daemon().http.data("POST", "/auth/session_tokens", json=body)
        value = data["token"]
        # Known to the redaction of error messages from here on, like every other credential.
        Secret(value)
        return SessionToken(
            id=data["id"],
            token=value,
            description=data.get("description"),
            created_at=parse_datetime(data["createdAt"]),
            expires_at=parse_datetime(data["expiresAt"]),
        )

    def list(self) -> list[SessionTokenInfo]:
        """Every session token not revoked (expired ones too, for a day), oldest first."""
        data = self._daemon().http.data("GET", "/auth/session_tokens")
        return [
            SessionTokenInfo(
                id=item["id"],
                description=item.get("description"),
                created_at=parse_datetime(item["created_at"]),
                expires_at=parse_datetime(item["expires_at"]),
                last_used_at=_optional_datetime(item.get("last_used_at")),
            )
            for item in data["tokens"]
        ]

    def retrieve(self, token_id: str) -> SessionTokenInfo:
        """One session token by id (``last_used_at`` is only reported by :meth:`list`).

        Raises :class:`~computesdk_core.errors.NotFoundError` for an unknown or revoked id.
        """
        data = self._daemon().http.data("GET", "/auth/session_tokens/" + quote(token_id, safe=""))
        return SessionTokenInfo(
            id=data["id"],
            description=data.get("description"),
            created_at=parse_datetime(data["createdAt"]),
            expires_at=parse_datetime(data["expiresAt"]),
        )

    def revoke(self, token_id: str) -> None:
        """Make a session token stop working at once; an unknown or already revoked id is no error."""
        try:
            self._daemon().http.request("DELETE", "/auth/session_tokens/" + quote(token_id, safe=""))
        except errors.NotFoundError:
            return


class MagicLinks:
    """One-time URLs that log a browser into the sandbox (with a 7-day session cookie)."""

    def __init__(self, daemon: Callable[[], DaemonClient]) -> None:
        """``daemon`` returns the sandbox's current daemon client (called for every operation)."""
        self._daemon = daemon

    def __repr__(self) -> str:
        return "MagicLinks()"

    def create(self, redirect_url: str = DEFAULT_REDIRECT_URL) -> MagicLink:
        """A link that works once within 5 minutes, then sends the browser to ``redirect_url``.

        ``redirect_url`` must be a path on the sandbox (or a URL of the sandbox's own host);
        anything else raises :class:`~computesdk_core.errors.ValidationError`.
        """
        data = self._daemon().http.data("POST", "/auth/magic-links", json={"redirectUrl": redirect_url})
        return MagicLink(
            url=data["magic_url"],
            expires_at=parse_datetime(data["expires_at"]),
            redirect_url=data["redirect_url"],
        )
