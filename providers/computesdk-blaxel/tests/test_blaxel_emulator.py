"""Blaxel-specific behaviour through the emulator: the CDN cut, lost create answers, previews, names, lifetimes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from blaxel_helpers import API_KEY, WORKSPACE, assert_no_violations, compute_for, emulator  # noqa: F401
from emulator_blaxel import BlaxelEmulator

from computesdk_core import compute, errors
from computesdk_core.testing.support import ChunkRecorder

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def blaxel(emulator: BlaxelEmulator) -> Any:  # noqa: F811
    """A compute instance bound to the module's emulator."""
    return compute_for(emulator)


@pytest.fixture
def box(blaxel: Any) -> Iterator[Any]:
    """A sandbox of the test's own."""
    sandbox = blaxel.sandbox.create(timeout=300)
    try:
        yield sandbox
    finally:
        blaxel.sandbox.destroy(sandbox.sandbox_id)


@pytest.fixture
def cut_box(emulator: BlaxelEmulator, blaxel: Any) -> Iterator[Any]:  # noqa: F811
    """A sandbox whose CDN ends every request after 2 s."""
    emulator.cut = 2.0
    try:
        sandbox = blaxel.sandbox.create(timeout=300)
    finally:
        emulator.cut = None
    try:
        yield sandbox
    finally:
        blaxel.sandbox.destroy(sandbox.sandbox_id)


def test_a_command_longer_than_the_cdn_cut_finishes_by_polling(cut_box: Any, emulator: BlaxelEmulator) -> None:  # noqa: F811
    """A 4 s command behind a 2 s cut: the stream is cut, polling follows it to its exit code and whole output."""
    out, err = ChunkRecorder(), ChunkRecorder()
    result = cut_box.run_command("echo early; echo warn >&2; sleep 4; echo late; exit 7", timeout=30,
                                 on_stdout=out, on_stderr=err)
    assert (result.exit_code, result.stdout, result.stderr) == (7, "early\nlate\n", "warn\n")
    # Output before the cut came from the stream, the rest from polling: handlers got all of it, once.
    assert out.text == "early\nlate\n" and err.text == "warn\n"
    server = emulator.servers[cut_box.sandbox_id]
    assert any(method == "GET" and path.startswith("/process/computesdk-") for method, path in server.requests)


def test_a_timeout_past_the_cdn_cut_kills_the_command(cut_box: Any) -> None:
    """timeout=3 on a command that would run 6 s, behind a 2 s cut: killed, partial output kept."""
    started = time.monotonic()
    with pytest.raises(errors.CommandTimeoutError) as caught:
        cut_box.run_command("echo begun; sleep 6; echo never", timeout=3)
    assert time.monotonic() - started < 10
    assert caught.value.stdout == "begun\n" and caught.value.timeout == 3
    assert cut_box.run_command("echo alive", timeout=30).stdout == "alive\n"


def test_live_output_arrives_while_the_command_runs(box: Any) -> None:
    """on_stdout sees the first line well before the command ends (NDJSON streaming)."""
    recorder = ChunkRecorder()
    started = time.monotonic()
    box.run_command("echo first; sleep 2; echo second", timeout=30, on_stdout=recorder)
    first = recorder.first_time_containing("first")
    assert first is not None and first - started < 1.5


def test_cwd_env_and_exit_code_reach_the_process_request(box: Any) -> None:
    """workingDir and env are sent natively; quoting survives."""
    result = box.run_command('pwd; printf "%s" "$X"', cwd="/tmp", env={"X": "a 'b' $HOME"}, timeout=30)
    assert result.stdout == "/tmp\na 'b' $HOME" and result.exit_code == 0


def test_a_create_answer_lost_at_the_cdn_is_found_by_name(emulator: BlaxelEmulator, blaxel: Any) -> None:  # noqa: F811
    """A 504 on create while the sandbox deploys: the provider polls the name and gets the sandbox."""
    emulator.gateway_timeout_on_create = True
    emulator.deploy_delay = 0.3
    try:
        sandbox = blaxel.sandbox.create(timeout=300)
    finally:
        emulator.deploy_delay = 0.0
    try:
        assert sandbox.run_command("echo up", timeout=30).stdout == "up\n"
        assert sum(1 for method, path in emulator.requests if method == "POST" and path == "/v0/sandboxes") >= 1
    finally:
        blaxel.sandbox.destroy(sandbox.sandbox_id)


def test_previews_are_made_once_per_port_and_reused(emulator: BlaxelEmulator, box: Any) -> None:  # noqa: F811
    """get_url makes one preview per port; asking again (another protocol too) reuses it."""
    first = box.get_url(3000)
    again = box.get_url(3000, protocol="http")
    assert first.startswith("https://") and again == "http://" + first.split("://", 1)[1]
    assert "3000" in first
    made = [key for key in emulator.previews if key[0] == box.sandbox_id]
    assert made == [(box.sandbox_id, "computesdk-port-3000-public")]


def test_private_previews_carry_a_token(emulator: BlaxelEmulator) -> None:  # noqa: F811
    """public_previews=False gives a URL with bl_preview_token, made through the tokens endpoint."""
    private = compute_for(emulator, public_previews=False)
    sandbox = private.sandbox.create(timeout=300)
    try:
        link = sandbox.get_url(8080)
        preview = emulator.previews[(sandbox.sandbox_id, "computesdk-port-8080-private")]
        assert preview["spec"]["public"] is False
        assert link.endswith("bl_preview_token=" + preview["_tokens"][0]["spec"]["token"])
    finally:
        private.sandbox.destroy(sandbox.sandbox_id)


def test_named_sandboxes_live_in_labels(emulator: BlaxelEmulator, blaxel: Any) -> None:  # noqa: F811
    """A named sandbox gets a generated Blaxel name and its (namespace, name) as labels; find sees it."""
    sandbox = blaxel.sandbox.create(timeout=300, name="web", namespace="team-a", metadata={"k": "v"})
    try:
        labels = emulator.sandboxes[sandbox.sandbox_id]["metadata"]["labels"]
        assert labels == {"k": "v", "computesdk_name": "web", "computesdk_namespace": "team-a"}
        assert sandbox.sandbox_id.startswith("computesdk-")
        found = blaxel.sandbox.find(name="web", namespace="team-a")
        assert found is not None and found.sandbox_id == sandbox.sandbox_id
        assert blaxel.sandbox.find(name="web", namespace="team-b") is None
    finally:
        blaxel.sandbox.destroy(sandbox.sandbox_id)


def test_extend_timeout_lengthens_the_ttl(emulator: BlaxelEmulator, box: Any, blaxel: Any) -> None:  # noqa: F811
    """extend_timeout(60) turns ttl 300s into 360s and the sandbox keeps working."""
    blaxel.sandbox.extend_timeout(box.sandbox_id, duration=60)
    assert emulator.sandboxes[box.sandbox_id]["spec"]["runtime"]["ttl"] == "360s"
    assert box.get_info().timeout == 360


def test_an_expired_sandbox_is_gone(emulator: BlaxelEmulator, blaxel: Any) -> None:  # noqa: F811
    """Past its ttl a sandbox is terminated: get_by_id is None and it leaves the list."""
    sandbox = blaxel.sandbox.create(timeout=1)
    time.sleep(1.2)
    assert blaxel.sandbox.get_by_id(sandbox.sandbox_id) is None
    assert sandbox.sandbox_id not in [s.sandbox_id for s in blaxel.sandbox.list()]
    blaxel.sandbox.destroy(sandbox.sandbox_id)


def test_list_follows_the_cursor(emulator: BlaxelEmulator, blaxel: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """With a page size of 1 every sandbox still comes back."""
    import computesdk_blaxel.api as api_module

    monkeypatch.setattr(api_module, "LIST_PAGE", 1)
    made = [blaxel.sandbox.create(timeout=300) for _ in range(3)]
    try:
        listed = {s.sandbox_id for s in blaxel.sandbox.list()}
        assert {s.sandbox_id for s in made} <= listed
    finally:
        for sandbox in made:
            blaxel.sandbox.destroy(sandbox.sandbox_id)


def test_a_wrong_key_is_an_authentication_error(emulator: BlaxelEmulator) -> None:  # noqa: F811
    """The control plane answers 401 to a wrong key; the key never shows in the error."""
    wrong = compute(provider="blaxel", blaxel={"api_key": "bl_wrong_key_987654", "workspace": WORKSPACE,
                                               "api_url": emulator.url})
    with pytest.raises(errors.AuthenticationError) as caught:
        wrong.sandbox.list()
    assert "bl_wrong_key_987654" not in str(caught.value) and API_KEY not in str(caught.value)


def test_files_with_absolute_paths_travel_percent_encoded(emulator: BlaxelEmulator, box: Any) -> None:  # noqa: F811
    """Absolute paths go out as one encoded segment (/filesystem/%2Ftmp%2F...), as the sandbox API reads them."""
    box.filesystem.write_file("/tmp/enc dir/a.txt", "x")
    assert box.filesystem.read_file("/tmp/enc dir/a.txt") == "x"
    raw = [path for method, path in emulator.servers[box.sandbox_id].requests if path.startswith("/filesystem/")]
    assert "/filesystem/%2Ftmp%2Fenc%20dir%2Fa.txt" in raw


def test_zz_sandbox_api_traffic_matches_the_spec(emulator: BlaxelEmulator) -> None:  # noqa: F811
    """Everything this module sent to sandbox APIs matched the sandbox API's OpenAPI document."""
    assert_no_violations(emulator)
