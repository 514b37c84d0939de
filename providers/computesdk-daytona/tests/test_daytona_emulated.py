"""What the conformance suite does not cover, against the Daytona emulator: auth, paging, state
changes of the native handle, preview links, timeouts of background commands, run_code."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from computesdk_daytona import DaytonaSandbox
from emulator_daytona import EmulatorProcess

from computesdk_core import compute
from computesdk_core.errors import AuthenticationError, ComputeSDKError, PathNotFoundError
from computesdk_core.testing.support import wait_until


@pytest.fixture(scope="module")
def daytona(emulator: EmulatorProcess) -> Any:
    """A compute instance bound to the emulator."""
    return compute(provider="daytona", daytona={"api_key": emulator.api_key, "api_url": emulator.url})


@pytest.fixture(scope="module")
def box(daytona: Any) -> Iterator[Any]:
    """One sandbox for the module."""
    sandbox = daytona.sandbox.create(timeout=120, metadata={"owner": "tests", "count": 3})
    try:
        yield sandbox
    finally:
        daytona.sandbox.destroy(sandbox.sandbox_id)


def test_wrong_key_is_refused(emulator: EmulatorProcess) -> None:
    """A key the API does not know gives AuthenticationError, which does not show the key."""
    wrong = "dtn_wrong_key_for_the_emulator_42"
    instance = compute(provider="daytona", daytona={"api_key": wrong, "api_url": emulator.url})
    with pytest.raises(AuthenticationError) as caught:
        instance.sandbox.list()
    assert wrong not in str(caught.value)


def test_metadata_is_kept_in_labels_as_strings(box: Any) -> None:
    """Metadata travels as Daytona labels; values that are not strings come back JSON-encoded."""
    assert box.get_info().metadata == {"owner": "tests", "count": "3"}
    assert box.get_info().timeout == 120


def test_list_pages_through_every_sandbox(daytona: Any, box: Any) -> None:
    """The client follows ``nextCursor`` across pages of one."""
    other = daytona.sandbox.create(timeout=60)
    try:
        client = box.get_instance().client
        ids = [item["id"] for item in client.list_sandboxes(page_size=1)]
        assert {box.sandbox_id, other.sandbox_id} <= set(ids) and len(ids) == len(set(ids))
    finally:
        other.destroy()


def test_stop_then_get_by_id_starts_it_again(daytona: Any, box: Any) -> None:
    """A stopped sandbox refuses toolbox calls; get_by_id starts it and its files are still there."""
    box.filesystem.write_file("/tmp/kept.txt", "still here")
    native: DaytonaSandbox = box.get_instance()
    assert native.stop().state == "stopped"
    with pytest.raises(ComputeSDKError):
        box.run_command("true", timeout=10)
    again = daytona.sandbox.get_by_id(box.sandbox_id)
    assert again is not None and again.get_instance().state == "started"
    assert again.filesystem.read_file("/tmp/kept.txt") == "still here"


def test_pause_resume_and_archive(box: Any) -> None:
    """The native handle pauses, resumes, archives a stopped sandbox and starts it from the archive."""
    native: DaytonaSandbox = box.get_instance()
    assert native.pause().state == "paused"
    assert native.resume().state == "started"
    native.stop()
    assert native.archive().state == "archived"
    assert native.start().state == "started"
    assert box.run_command("echo back", timeout=30).stdout == "back\n"


def test_preview_link_has_a_token_and_get_url_takes_the_protocol(box: Any) -> None:
    """``preview_link`` gives the URL with its token header; ``get_url`` the same URL with the scheme asked."""
    link = box.get_instance().preview_link(3000)
    assert "3000" in link.url and link.token and link.headers == {"x-daytona-preview-token": link.token}
    assert link.token not in repr(link)
    assert box.get_url(3000, protocol="http") == "http://" + link.url.split("://", 1)[1]
    signed = box.get_instance().signed_preview_url(3000, expires_in=120)
    assert signed.startswith("https://3000-") and signed != link.url


def test_extend_timeout_raises_the_auto_stop_interval(daytona: Any, box: Any) -> None:
    """Extending past the current interval raises ``autoStopInterval`` (in whole minutes)."""
    daytona.sandbox.extend_timeout(box.sandbox_id, duration=1500)
    assert box.get_info().timeout == 1500


def test_background_command_is_killed_at_its_timeout(box: Any) -> None:
    """A background command's ``timeout`` ends it: it never writes what it would after the deadline."""
    box.run_command("rm -f /tmp/late", timeout=30)
    box.run_command("echo started > /tmp/early; sleep 3; echo late > /tmp/late", background=True, timeout=1)
    assert wait_until(lambda: box.filesystem.exists("/tmp/early"), timeout=10)
    time.sleep(4)
    assert not box.filesystem.exists("/tmp/late")


def test_run_code_output_interleaves_stdout_and_stderr(box: Any) -> None:
    """``run_code`` goes through ``/process/execute``: one output, in the order it was printed."""
    result = box.run_code("import sys\nprint('one', flush=True)\nprint('two', file=sys.stderr, flush=True)\nprint('three')",
                          language="python")
    assert (result.exit_code, result.output) == (0, "one\ntwo\nthree\n")


def test_reading_a_directory_or_missing_file(box: Any) -> None:
    """A missing path raises PathNotFoundError; ``readdir`` of a file-free directory is empty."""
    box.filesystem.mkdir("/tmp/empty-dir")
    assert box.filesystem.readdir("/tmp/empty-dir") == []
    with pytest.raises(PathNotFoundError):
        box.filesystem.read_file("/tmp/empty-dir/none.txt")


def test_snapshot_round_trip(daytona: Any, box: Any) -> None:
    """A snapshot keeps the sandbox's files: a sandbox created from it sees them; deleted, it is gone."""
    box.filesystem.write_file("/home/daytona-snapshot/state.txt", "saved state")
    snapshot = daytona.snapshot.create(box.sandbox_id, name="computesdk-test-snapshot")
    assert snapshot.name == "computesdk-test-snapshot" and snapshot.provider == "daytona"
    assert snapshot.id in [s.id for s in daytona.snapshot.list()]
    assert box.run_command("echo still-running", timeout=30).stdout == "still-running\n"
    with daytona.sandbox.create(timeout=60, snapshot_id=snapshot.id) as restored:
        assert restored.filesystem.read_file("/home/daytona-snapshot/state.txt") == "saved state"
    daytona.snapshot.delete(snapshot.id)
    daytona.snapshot.delete(snapshot.id)
    assert snapshot.id not in [s.id for s in daytona.snapshot.list()]


def test_no_traffic_broke_daytonas_specs(emulator: EmulatorProcess, box: Any) -> None:
    """Everything sent and answered in this module matched Daytona's documents."""
    validating, violations = emulator.report()
    if not validating:
        pytest.skip("shared/vendor-specs/daytona is not present")
    assert violations == []
