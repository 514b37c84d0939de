"""What the conformance suite does not cover, through the emulator: pause/resume, snapshots, expiry,
timeouts, pagination, auth and the envd wiring."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from computesdk_e2b import E2BSandbox, plugin
from e2b_fixtures import emulator
from emulator_e2b import E2BEmulator

from computesdk_core import compute, errors
from computesdk_core.testing.support import wait_until

__all__ = ["emulator"]


@pytest.fixture(scope="module")
def e2b(emulator: E2BEmulator) -> Any:
    """A compute instance on the emulator."""
    return compute(provider="e2b", e2b=emulator.config)


@pytest.fixture
def box(e2b: Any) -> Iterator[Any]:
    """A sandbox of the test's own."""
    sandbox = e2b.sandbox.create(timeout=300)
    try:
        yield sandbox
    finally:
        e2b.sandbox.destroy(sandbox.sandbox_id)


def _end_at(emulator: E2BEmulator, sandbox_id: str) -> dt.datetime:
    box = emulator.state.live(sandbox_id)
    assert box is not None
    return box.end_at


def test_pause_and_resume_through_the_native_handle(e2b: Any, box: Any) -> None:
    """A paused sandbox reports "paused" and refuses commands; resumed, it has kept its files."""
    box.filesystem.write_file("/home/user/kept.txt", "still here")
    native = box.get_instance()
    assert isinstance(native, E2BSandbox)
    native.pause()
    assert box.get_info().status == "paused"
    with pytest.raises(errors.SandboxNotFoundError):
        box.run_command("true", timeout=10)
    with pytest.raises(errors.ProviderAPIError) as caught:
        native.pause()
    assert caught.value.status_code == 409
    native.resume(timeout=120)
    assert box.get_info().status == "running"
    assert box.filesystem.read_file("/home/user/kept.txt") == "still here"


def test_snapshot_create_start_from_list_and_delete(e2b: Any, box: Any) -> None:
    """A snapshot keeps the sandbox's files; a sandbox created from it has them; deleting forgets it."""
    box.run_command("mkdir -p /home/user/proj && echo saved > /home/user/proj/state.txt", timeout=30)
    snapshot = e2b.snapshot.create(box.sandbox_id, name="proj")
    assert snapshot.provider == "e2b" and snapshot.name == snapshot.id
    assert snapshot.id in [s.id for s in e2b.snapshot.list()]
    with e2b.sandbox.create(timeout=120, snapshot_id=snapshot.id) as restored:
        assert restored.filesystem.read_file("/home/user/proj/state.txt") == "saved\n"
    e2b.snapshot.delete(snapshot.id)
    e2b.snapshot.delete(snapshot.id)
    assert snapshot.id not in [s.id for s in e2b.snapshot.list()]


def test_extend_timeout_pushes_the_end_by_the_duration(emulator: E2BEmulator, e2b: Any, box: Any) -> None:
    """extend_timeout(d) moves E2B's endAt d seconds later (not merely to d seconds from now)."""
    before = _end_at(emulator, box.sandbox_id)
    box.extend_timeout(duration=600)
    moved = (_end_at(emulator, box.sandbox_id) - before).total_seconds()
    assert 598 <= moved <= 602


def test_an_expired_sandbox_is_gone(emulator: E2BEmulator, e2b: Any) -> None:
    """Past its lifetime a sandbox is None for get_by_id and missing from list."""
    short = e2b.sandbox.create(timeout=1)
    assert wait_until(lambda: e2b.sandbox.get_by_id(short.sandbox_id) is None, timeout=10)
    assert short.sandbox_id not in [s.sandbox_id for s in e2b.sandbox.list()]


def test_list_follows_pages(emulator: E2BEmulator, e2b: Any) -> None:
    """With pages of two, list still returns every sandbox."""
    made = [e2b.sandbox.create(timeout=120) for _ in range(3)]
    emulator.state.page_size = 2
    try:
        listed = {s.sandbox_id for s in e2b.sandbox.list()}
    finally:
        emulator.state.page_size = 100
        for sandbox in made:
            sandbox.destroy()
    assert {s.sandbox_id for s in made} <= listed


def test_wrong_api_key_is_an_authentication_error(emulator: E2BEmulator) -> None:
    """E2B answers 401 to a key it does not know; the key stays out of the message."""
    other = compute(provider="e2b", e2b={**emulator.config, "api_key": "e2b_wrong_key_000000"})
    with pytest.raises(errors.AuthenticationError) as caught:
        other.sandbox.list()
    assert "e2b_wrong_key_000000" not in str(caught.value)


def test_envd_refuses_a_wrong_access_token(emulator: E2BEmulator, e2b: Any, box: Any) -> None:
    """Secure sandboxes need their envd access token: a handle with another one is refused."""
    native = box.get_instance()
    config = plugin.provider_config(options=emulator.config, environ={})
    forged = E2BSandbox(config, native.sandbox_id, native.domain, "not-the-token")
    with pytest.raises(errors.AuthenticationError):
        forged.envd.download("/etc/hostname")


def test_get_url_is_e2b_host_format(box: Any) -> None:
    """``get_url(port)`` is ``https://{port}-{id}.{domain}``."""
    assert box.get_url(3000) == f"https://3000-{box.sandbox_id}.e2b.app"


def test_background_process_can_still_be_signalled(emulator: E2BEmulator, box: Any) -> None:
    """A background command keeps running after its stream is closed, visible to later commands."""
    box.run_command("sleep 30 & echo $! > /tmp/bg.pid; wait", background=True)
    assert wait_until(lambda: box.run_command("test -s /tmp/bg.pid", timeout=10).exit_code == 0, timeout=10)
    assert box.run_command("kill -0 $(cat /tmp/bg.pid) && echo alive", timeout=10).stdout == "alive\n"


def test_a_timeout_longer_than_the_command_changes_nothing(box: Any) -> None:
    """A command that ends in time returns normally, with its exit code, even with slow output."""
    began = time.monotonic()
    result = box.run_command("sleep 1; echo late; exit 4", timeout=20)
    assert (result.stdout, result.exit_code) == ("late\n", 4)
    assert time.monotonic() - began < 15


def test_no_traffic_departed_from_the_specs(emulator: E2BEmulator) -> None:
    """Every request and answer of this module matched E2B's OpenAPI documents and protos."""
    if not emulator.validating:
        pytest.skip("shared/vendor-specs/e2b is not present: nothing to validate against")
    assert emulator.violations == []
