"""The session-token and magic-link stores, with a clock the test moves (no waiting)."""

from __future__ import annotations

import datetime as dt

from computesdk_daemon.tokens import (
    EXPIRED_KEPT,
    MAGIC_LINK_LIFETIME,
    MagicLinkStore,
    SessionTokenStore,
    digest,
)


class FakeClock:
    """A clock that only moves when told."""

    def __init__(self) -> None:
        self.now = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def test_a_session_token_works_until_it_expires() -> None:
    clock = FakeClock()
    store = SessionTokenStore(clock)
    record, value = store.create("ci", 60)
    assert record.expires_at - record.created_at == dt.timedelta(seconds=60)
    clock.advance(59.9)
    assert store.authenticate(value) is record
    assert record.last_used_at == clock.now
    clock.advance(0.1)
    assert store.authenticate(value) is None, "a token is dead at its expiry instant"
    assert store.list() == [record], "an expired token stays listed so that it can be found and revoked"
    clock.advance(EXPIRED_KEPT + 1)
    assert store.list() == [], "long-expired tokens are forgotten"


def test_revoked_and_unknown_tokens_are_refused() -> None:
    store = SessionTokenStore(FakeClock())
    record, value = store.create(None, 3600)
    other, other_value = store.create(None, 3600)
    assert store.authenticate(value + "x") is None
    assert store.revoke(record.id) is True
    assert store.authenticate(value) is None
    assert store.revoke(record.id) is False
    assert store.get(record.id) is None
    assert store.authenticate(other_value) is other, "revoking one token leaves the others alone"


def test_only_digests_are_kept() -> None:
    store = SessionTokenStore(FakeClock())
    record, value = store.create("secret keeper", 3600)
    assert record.digest == digest(value) and value.encode() not in record.digest
    assert value not in repr(record) and value not in repr(store.list())
    assert value not in repr(vars(record))


def test_a_magic_link_works_once() -> None:
    store = MagicLinkStore(FakeClock())
    link, value = store.create("/play/")
    assert store.redeem(value) is link
    assert store.redeem(value) is None


def test_a_magic_link_expires_after_five_minutes() -> None:
    clock = FakeClock()
    store = MagicLinkStore(clock)
    early, early_value = store.create("/a")
    late, late_value = store.create("/b")
    assert MAGIC_LINK_LIFETIME == 300
    clock.advance(MAGIC_LINK_LIFETIME - 1)
    assert store.redeem(early_value) is early
    clock.advance(1)
    assert store.redeem(late_value) is None


def test_revocation_tells_the_watchers_of_that_token_only() -> None:
    clock = FakeClock()
    store = SessionTokenStore(clock)
    (watched, _), (other, _) = store.create(None, 60), store.create(None, 60)
    told: list[str] = []
    store.on_revoke(watched.id, lambda: told.append("watched"))
    cancel = store.on_revoke(watched.id, lambda: told.append("cancelled"))
    store.on_revoke(other.id, lambda: told.append("other"))
    cancel()
    store.revoke(watched.id)
    assert told == ["watched"]
    clock.advance(30)
    assert store.seconds_left(other) == 30
    clock.advance(31)
    assert store.seconds_left(other) == 0
