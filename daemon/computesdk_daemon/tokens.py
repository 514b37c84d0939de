"""Delegated credentials: session tokens and the one-time magic links that mint them.

Only sha256 digests of token values are kept (in memory); a value exists in clear only in the
response that hands it out. The clock is injected so that expiry can be tested without waiting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

Clock = Callable[[], dt.datetime]

# Seconds a session token lives unless its creator says otherwise (7 days).
DEFAULT_SESSION_LIFETIME = 604800
# Seconds a magic link can be redeemed, and the lifetime of the session it opens.
MAGIC_LINK_LIFETIME = 300
MAGIC_SESSION_LIFETIME = 604800
# Expired tokens stay listed (callers look for them to revoke them) for this many seconds more.
EXPIRED_KEPT = 86400


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


def digest(value: str) -> bytes:
    """The sha256 digest a token value is stored as."""
    return hashlib.sha256(value.encode("utf-8")).digest()


class _Digested(Protocol):
    digest: bytes


R = TypeVar("R", bound=_Digested)


def find_by_value(records: Iterable[R], value: str) -> R | None:
    """The record whose digest is that of ``value``.

    Every record is compared, each in constant time, so the timing tells nothing about them.
    """
    presented = digest(value)
    found = None
    for record in records:
        if hmac.compare_digest(record.digest, presented):
            found = record
    return found


@dataclass
class SessionToken:
    """A session token's record (never its value)."""

    id: str
    digest: bytes
    description: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    expires_in: float
    last_used_at: dt.datetime | None = None

    def __repr__(self) -> str:
        return f"SessionToken(id={self.id!r}, expires_at={self.expires_at.isoformat()!r})"


@dataclass
class MagicLink:
    """A magic link's record: where it sends the browser, and until when it works."""

    digest: bytes
    redirect_url: str
    expires_at: dt.datetime

    def __repr__(self) -> str:
        return f"MagicLink(redirect_url={self.redirect_url!r}, expires_at={self.expires_at.isoformat()!r})"


class SessionTokenStore:
    """The session tokens of one daemon."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._tokens: dict[str, SessionToken] = {}
        self._on_revoke: dict[str, list[Callable[[], None]]] = {}

    def create(self, description: str | None, expires_in: float) -> tuple[SessionToken, str]:
        """A new token living ``expires_in`` seconds; returns its record and its value (once)."""
        self._prune()
        value = "st_" + secrets.token_urlsafe(32)
        now = self._clock()
        record = SessionToken(
            id="token_" + secrets.token_hex(8),
            digest=digest(value),
            description=description,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=expires_in),
            expires_in=expires_in,
        )
        self._tokens[record.id] = record
        return record, value

    def authenticate(self, value: str) -> SessionToken | None:
        """The live token whose value this is (its use is recorded), else None."""
        found = find_by_value(self._tokens.values(), value)
        if found is None or not self.is_live(found):
            return None
        found.last_used_at = self._clock()
        return found

    def is_live(self, record: SessionToken) -> bool:
        """Whether the token is neither revoked nor expired."""
        return self._tokens.get(record.id) is record and self._clock() < record.expires_at

    def list(self) -> list[SessionToken]:
        """Every token not revoked, oldest first (recently expired ones included)."""
        self._prune()
        return list(self._tokens.values())

    def get(self, token_id: str) -> SessionToken | None:
        """A token by id, or None."""
        return self._tokens.get(token_id)

    def revoke(self, token_id: str) -> bool:
        """Forget a token at once and tell its watchers; False if there was no such token."""
        for callback in self._on_revoke.pop(token_id, []):
            callback()
        return self._tokens.pop(token_id, None) is not None

    def on_revoke(self, token_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` when the token is revoked; returns a function that cancels it."""
        self._on_revoke.setdefault(token_id, []).append(callback)

        def cancel() -> None:
            callbacks = self._on_revoke.get(token_id, [])
            if callback in callbacks:
                callbacks.remove(callback)
            if not callbacks:
                self._on_revoke.pop(token_id, None)

        return cancel

    def seconds_left(self, record: SessionToken) -> float:
        """Seconds until the token expires (0 once it has)."""
        return max(0.0, (record.expires_at - self._clock()).total_seconds())

    def _prune(self) -> None:
        horizon = self._clock() - dt.timedelta(seconds=EXPIRED_KEPT)
        for record in [r for r in self._tokens.values() if r.expires_at < horizon]:
            del self._tokens[record.id]


class MagicLinkStore:
    """Pending magic links: each works once, within :data:`MAGIC_LINK_LIFETIME` seconds."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock
        self._links: list[MagicLink] = []

    def create(self, redirect_url: str) -> tuple[MagicLink, str]:
        """A new link; returns its record and the value to put in its URL (once)."""
        self._prune()
        value = secrets.token_urlsafe(32)
        link = MagicLink(digest(value), redirect_url, self._clock() + dt.timedelta(seconds=MAGIC_LINK_LIFETIME))
        self._links.append(link)
        return link, value

    def redeem(self, value: str) -> MagicLink | None:
        """The link, used up by this call; None if unknown, already used or expired."""
        link = find_by_value(self._links, value)
        if link is None:
            return None
        self._links.remove(link)
        return link if self._clock() < link.expires_at else None

    def _prune(self) -> None:
        now = self._clock()
        self._links = [link for link in self._links if link.expires_at > now]
