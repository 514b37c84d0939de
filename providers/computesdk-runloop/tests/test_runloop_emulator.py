"""Runloop-specific behaviour through the emulator: long-polls, stream resumption, tunnels,
suspend/resume, disk snapshots, named devboxes and the create request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_runloop import RunloopEmulator
from runloop_helpers import API_KEY, assert_no_violations, compute_for, emulator  # noqa: F401 - fixture

from computesdk_core import errors
from computesdk_core.testing.support import ChunkRecorder, unique

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def runloop(emulator: RunloopEmulator) -> Any:  # noqa: F811 - the imported fixture
    """A compute instance bound to the module's emulator."""
    return compute_for(emulator)


@pytest.fixture
def devbox(runloop: Any) -> Iterator[Any]:
    """A devbox of the test's own."""
    box = runloop.sandbox.create(timeout=300)
    try:
        yield box
    finally:
        box.destroy()


@pytest.fixture
def knobs(emulator: RunloopEmulator) -> Iterator[RunloopEmulator]:  # noqa: F811
    """The emulator, with its test knobs put back afterwards."""
    try:
        yield emulator
    finally:
        emulator.max_hold = None
        emulator.boot_delay = 0.0
        emulator.drop_streams_after = None


def _count(server: RunloopEmulator, suffix: str) -> int:
    return sum(1 for _, path in server.requests if path.endswith(suffix))


def test_create_waits_through_408_answers_until_the_devbox_runs(runloop: Any, knobs: RunloopEmulator) -> None:
    """A devbox that boots for longer than one long-poll hold is awaited over several 408s."""
    knobs.max_hold, knobs.boot_delay = 1.0, 2.5
    before = _count(knobs, "/wait_for_status")
    with runloop.sandbox.create(timeout=120) as box:
        assert box.get_info().status == "running"
        assert box.run_command("echo up", timeout=30).stdout == "up\n"
    assert _count(knobs, "/wait_for_status") - before >= 3


def test_create_gives_up_at_create_timeout_and_shuts_the_devbox_down(emulator: RunloopEmulator,  # noqa: F811
                                                                     knobs: RunloopEmulator) -> None:
    """Past ``create_timeout`` create raises a TimeoutError and leaves no devbox running."""
    knobs.max_hold, knobs.boot_delay = 1.0, 4.0
    impatient = compute_for(emulator, create_timeout=1.5)
    known = set(emulator.devboxes)
    with pytest.raises(errors.OperationTimeoutError):
        impatient.sandbox.create(timeout=60)
    (new,) = set(emulator.devboxes) - known
    assert emulator.devboxes[new]["status"] == "shutdown"


def test_command_longer_than_one_hold_completes(devbox: Any, knobs: RunloopEmulator) -> None:
    """A command outlasting the execution long-poll is waited for across several polls."""
    knobs.max_hold = 1.0
    result = devbox.run_command("sleep 2.5; echo done", timeout=30)
    assert (result.exit_code, result.stdout) == (0, "done\n")


def test_a_dropped_stream_resumes_at_the_received_offset(devbox: Any, knobs: RunloopEmulator) -> None:
    """When a stream connection ends early, it is reopened where it stopped: nothing lost or doubled."""
    knobs.drop_streams_after = 1
    recorder = ChunkRecorder()
    result = devbox.run_command("for i in 1 2 3 4 5; do echo line-$i; sleep 0.2; done", timeout=30,
                                on_stdout=recorder)
    expected = "".join(f"line-{i}\n" for i in range(1, 6))
    assert result.stdout == recorder.text == expected
    resumed = [offset for _, which, offset in knobs.stream_opens if which == "stdout" and offset > 0]
    assert resumed and set(resumed) <= {len(expected[:i]) for i in range(len(expected) + 1)}


def test_plain_runs_use_execute_sync_and_keep_the_whole_output(devbox: Any, emulator: RunloopEmulator) -> None:  # noqa: F811
    """Without timeout or handlers one execute_sync call runs it; more than 100 lines all arrive."""
    before = _count(emulator, "/execute_sync")
    result = devbox.run_command("seq 1 500; echo err >&2; exit 4")
    assert _count(emulator, "/execute_sync") == before + 1
    assert result.stdout.splitlines() == [str(i) for i in range(1, 501)]
    assert (result.stderr, result.exit_code) == ("err\n", 4)


def test_streamed_runs_keep_more_than_the_last_100_lines(devbox: Any) -> None:
    """The output streams carry every line, where the status answers keep only the last 100."""
    result = devbox.run_command("seq 1 1000", timeout=30)
    assert result.stdout.splitlines() == [str(i) for i in range(1, 1001)]


def test_a_handler_that_raises_is_reported_after_the_command(devbox: Any) -> None:
    """An exception in ``on_stdout`` reaches the caller once the command has ended."""
    def broken(chunk: str) -> None:
        raise RuntimeError("handler broke")

    with pytest.raises(RuntimeError, match="handler broke"):
        devbox.run_command("echo x", timeout=30, on_stdout=broken)
    assert devbox.run_command("echo still-fine", timeout=30).stdout == "still-fine\n"


def test_get_url_twice_and_from_another_handle_reuses_the_one_tunnel(runloop: Any, devbox: Any,
                                                                     emulator: RunloopEmulator) -> None:  # noqa: F811
    """The tunnel is enabled once; a second call, and a fresh handle (whose enable gets 400), reuse it."""
    first = devbox.get_url(3000)
    assert devbox.get_url(3000) == first
    other = runloop.sandbox.get_by_id(devbox.sandbox_id)
    key = emulator.devboxes[devbox.sandbox_id]["tunnel"]["tunnel_key"]
    assert other.get_url(8080, protocol="http") == f"http://8080-{key}.tunnel.runloop.ai"
    assert first == f"https://3000-{key}.tunnel.runloop.ai"


def test_authenticated_tunnel_exposes_its_token_on_the_native_handle(emulator: RunloopEmulator) -> None:  # noqa: F811
    """With ``tunnel_auth_mode="authenticated"`` the bearer token callers need is on get_instance()."""
    with compute_for(emulator, tunnel_auth_mode="authenticated").sandbox.create(timeout=120) as box:
        box.get_url(3000)
        native = box.get_instance()
        assert native.tunnel_auth_token == emulator.devboxes[box.sandbox_id]["tunnel"]["auth_token"]


def test_suspend_and_resume_keep_the_files(devbox: Any) -> None:
    """A suspended devbox refuses commands; resumed, it runs them again with its files intact."""
    devbox.filesystem.write_file("/home/user/kept.txt", "kept")
    native = devbox.get_instance()
    native.suspend(timeout=30)
    assert native.status == "suspended" and devbox.get_info().status == "suspended"
    with pytest.raises(errors.ComputeSDKError):
        devbox.run_command("true", timeout=10)
    native.resume(timeout=30)
    assert devbox.filesystem.read_file("/home/user/kept.txt") == "kept"


def test_disk_snapshot_starts_a_new_devbox_with_the_files(runloop: Any, devbox: Any) -> None:
    """A snapshot of the home directory seeds a devbox created with ``snapshot_id``; delete is idempotent."""
    devbox.filesystem.write_file("project/state.txt", "from the snapshot")
    snapshot = runloop.snapshot.create(devbox.sandbox_id, name="conformance")
    assert snapshot.id.startswith("snp_") and snapshot.name == "conformance"
    assert snapshot.id in [item.id for item in runloop.snapshot.list()]
    with runloop.sandbox.create(timeout=120, snapshot_id=snapshot.id) as copy:
        assert copy.filesystem.read_file("/home/user/project/state.txt") == "from the snapshot"
    runloop.snapshot.delete(snapshot.id)
    runloop.snapshot.delete(snapshot.id)
    assert snapshot.id not in [item.id for item in runloop.snapshot.list()]


def test_named_devbox_keeps_its_key_in_metadata_and_shows_it_in_info(runloop: Any, emulator: RunloopEmulator) -> None:  # noqa: F811
    """The (namespace, name) pair is stored as Runloop metadata and named in get_info, not as raw keys."""
    name = unique("app")
    box = runloop.sandbox.create(timeout=120, name=name, namespace="team", metadata={"k": "v"})
    try:
        stored = emulator.devboxes[box.sandbox_id]
        assert stored["name"] == name
        assert stored["metadata"] == {"k": "v", "computesdk_name": name, "computesdk_namespace": "team"}
        info = box.get_info()
        assert dict(info.metadata) == {"k": "v", "name": name, "namespace": "team"}
        assert info.timeout == 120
    finally:
        box.destroy()


def test_template_id_is_routed_by_its_prefix(runloop: Any, emulator: RunloopEmulator) -> None:  # noqa: F811
    """``bpt_...`` is a blueprint id; other names are blueprint names (the emulator echoes the id)."""
    with runloop.sandbox.create(timeout=60, template_id="bpt_123") as box:
        assert emulator.devboxes[box.sandbox_id]["blueprint_id"] == "bpt_123"


def test_create_refuses_what_runloop_cannot_do(runloop: Any) -> None:
    """An image reference, a lifetime past 48 h, two sources or an unknown option fail before any request."""
    with pytest.raises(errors.UnsupportedFeatureError):
        runloop.sandbox.create(image="python:3.12")
    with pytest.raises(errors.ValidationError):
        runloop.sandbox.create(timeout=3 * 86400)
    with pytest.raises(errors.ValidationError):
        runloop.sandbox.create(template_id="bpt_1", snapshot_id="snp_1")
    with pytest.raises(errors.ValidationError, match="known"):
        runloop.sandbox.create(colour="blue")


def test_a_wrong_key_is_an_authentication_error_without_the_key(emulator: RunloopEmulator) -> None:  # noqa: F811
    """The emulator refuses another key with 401; the error never shows the key."""
    wrong = "rl_wrong_key_abcdef123456"
    other = compute_for(emulator, api_key=wrong)
    with pytest.raises(errors.AuthenticationError) as caught:
        other.sandbox.list()
    assert wrong not in str(caught.value) and API_KEY not in str(caught.value)


def test_zz_traffic_matches_the_runloop_spec(emulator: RunloopEmulator) -> None:  # noqa: F811
    """Every request and JSON answer of this module matched Runloop's OpenAPI document."""
    assert_no_violations(emulator)
