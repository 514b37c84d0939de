"""Vercel-specific behaviour through the emulator: quoting, live NDJSON output, timeouts, sessions, files, routes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from computesdk_vercel import VercelSandbox
from emulator_vercel import VercelEmulator
from vercel_helpers import compute_for, start_emulator, stop_emulator

from computesdk_core import errors
from computesdk_core.testing.support import wait_until

pytestmark = pytest.mark.timeout(120)

NASTY = [
    "it's \"quoted\" and $HOME is not expanded by us",
    "back\\slash \\n and `backticks` and $(subshell) and ;&|<>",
    "line one\nline two\ttab",
    "unicode: héllo wörld ✓ 日本",
    "-n",
    "",
]


@pytest.fixture(scope="module")
def emulator() -> Iterator[VercelEmulator]:
    """One emulator for the module."""
    server, backend = start_emulator()
    try:
        yield server
    finally:
        stop_emulator(server, backend)


@pytest.fixture(scope="module")
def box(emulator: VercelEmulator) -> Iterator[Any]:
    """One sandbox with two declared ports, shared by the module."""
    sandbox = compute_for(emulator).sandbox.create(timeout=600, ports=[3000, 8080], envs={"GREETING": "hi there"})
    yield sandbox
    sandbox.destroy()


@pytest.mark.parametrize("text", NASTY)
def test_shell_strings_arrive_whole_as_the_argument_of_sh_c(box: Any, emulator: VercelEmulator, text: str) -> None:
    """printf of a quoted nasty string prints it back byte for byte; the wire carries ['-c', command]."""
    import shlex

    command = f"printf '%s' {shlex.quote(text)}"
    result = box.run_command(command, timeout=30)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == text
    sent = [c for c in emulator.commands.values() if c.args == ["-c", command]]
    assert sent and sent[-1].name == "sh"


def test_cwd_env_and_create_envs_reach_the_command(box: Any) -> None:
    """cwd and env are request fields; create envs are the sandbox's defaults."""
    box.run_command("mkdir -p /home/user/sub", timeout=30)
    result = box.run_command('pwd; echo "$ONE|$GREETING"', cwd="/home/user/sub", env={"ONE": "a b'c"}, timeout=30)
    assert result.stdout == "/home/user/sub\na b'c|hi there\n"


def test_exit_code_and_separate_streams(box: Any) -> None:
    """The finished line's exit code and stdout/stderr kept apart."""
    result = box.run_command("echo out; echo err >&2; exit 7", timeout=30)
    assert (result.stdout, result.stderr, result.exit_code) == ("out\n", "err\n", 7)


def test_output_is_delivered_while_the_command_runs(box: Any) -> None:
    """The command waits for a file the stdout handler writes on its first chunk: only live output lets it end."""
    flag = "/home/user/live-flag"
    box.run_command(f"rm -f {flag}", timeout=30)
    seen: list[str] = []

    def on_stdout(chunk: str) -> None:
        seen.append(chunk)
        if "ready" in chunk:
            box.filesystem.write_file(flag, "go")

    result = box.run_command(f"echo ready; while [ ! -f {flag} ]; do sleep 0.05; done; echo done", timeout=30,
                             on_stdout=on_stdout)
    assert result.stdout == "ready\ndone\n"
    assert "".join(seen) == result.stdout


def test_timeout_kills_the_command_and_keeps_partial_output(box: Any, emulator: VercelEmulator) -> None:
    """Past its timeout the command is killed on the server and CommandTimeoutError has what it printed."""
    with pytest.raises(errors.CommandTimeoutError) as caught:
        box.run_command("echo partial; echo warn >&2; sleep 60; echo never", timeout=1.5)
    assert caught.value.stdout == "partial\n" and caught.value.stderr == "warn\n"
    command = next(c for c in emulator.commands.values() if "echo never" in c.args[-1])
    assert wait_until(lambda: command.exit_code is not None, timeout=10), "the command was not killed"


def test_background_returns_at_once_and_the_command_goes_on(box: Any) -> None:
    """wait=false: exit code 0 at once, the command finishes on its own."""
    box.run_command("rm -f /home/user/bg", timeout=30)
    result = box.run_command("sleep 0.5; echo later > /home/user/bg", background=True)
    assert result.exit_code == 0 and result.stdout == ""
    assert wait_until(lambda: box.filesystem.exists("/home/user/bg"), timeout=15)
    assert box.filesystem.read_file("/home/user/bg") == "later\n"


def test_a_broken_stream_is_picked_up_from_the_logs_without_repeats(box: Any, emulator: VercelEmulator) -> None:
    """The stream ends after one output line; the rest comes from /logs, each chunk delivered once."""
    chunks: list[str] = []
    emulator.break_streams_after = 1
    try:
        result = box.run_command("for i in 1 2 3; do echo line$i; sleep 0.2; done; echo tail >&2", timeout=30,
                                 on_stdout=chunks.append)
    finally:
        emulator.break_streams_after = None
    assert result.stdout == "line1\nline2\nline3\n" and result.stderr == "tail\n" and result.exit_code == 0
    assert "".join(chunks) == result.stdout


def test_a_stopped_session_is_resumed_and_the_call_repeated(emulator: VercelEmulator) -> None:
    """stop() on the native handle ends the session (410 afterwards); the next call resumes, files kept."""
    with compute_for(emulator).sandbox.create(timeout=600) as sandbox:
        sandbox.filesystem.write_file("/home/user/keep.txt", "kept")
        native = sandbox.get_instance()
        assert isinstance(native, VercelSandbox)
        first = native.session_id
        assert first is not None
        native.stop()
        assert emulator.sessions[first]["status"] == "stopped"
        assert sandbox.run_command("cat /home/user/keep.txt", timeout=30).stdout == "kept"
        now = native.session_id
        assert now is not None and now != first and emulator.sessions[now]["status"] == "running"
        assert compute_for(emulator).sandbox.get_by_id(sandbox.sandbox_id) is not None


def test_an_expired_session_resumes_on_the_next_call(emulator: VercelEmulator) -> None:
    """A session past its timeout answers 410; the command still runs, in a new session."""
    with compute_for(emulator).sandbox.create(timeout=1) as sandbox:
        first = sandbox.get_instance().session_id
        assert wait_until(lambda: emulator.sessions[first]["startedAt"] + 1000 < time.time() * 1000, timeout=5)
        assert sandbox.run_command("echo again", timeout=30).stdout == "again\n"
        assert sandbox.get_instance().session_id != first


def test_concurrent_calls_after_a_stop_resume_once(emulator: VercelEmulator) -> None:
    """Several threads hitting a stopped session end up in one new session."""
    with compute_for(emulator).sandbox.create(timeout=600) as sandbox:
        native = sandbox.get_instance()
        native.stop()
        results: list[str] = []
        threads = [threading.Thread(target=lambda: results.append(sandbox.run_command("echo x", timeout=30).stdout),
                                    name=f"vercel-test-{n}", daemon=True) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert results == ["x\n"] * 4
        mine = [s for s in emulator.sessions.values() if s["_sandbox"] == sandbox.sandbox_id]
        assert len(mine) == 2


def test_create_waits_for_a_pending_session(emulator: VercelEmulator) -> None:
    """A session that is still pending at create is polled until it runs."""
    emulator.initial_status = "pending"
    try:
        with compute_for(emulator).sandbox.create(timeout=600) as sandbox:
            assert sandbox.run_command("echo up", timeout=30).stdout == "up\n"
    finally:
        emulator.initial_status = "running"


def test_get_url_uses_the_route_of_a_declared_port(box: Any, emulator: VercelEmulator) -> None:
    """Declared ports map to their route; others raise an error saying to declare them."""
    route = next(r for r in emulator.routes[box.sandbox_id] if r["port"] == 3000)
    assert box.get_url(port=3000) == route["url"]
    assert box.get_url(port=3000, protocol="http") == "http://" + route["subdomain"] + ".vercel.run"
    with pytest.raises(errors.ValidationError, match=r"ports=\[\.\.\., 5000\]"):
        box.get_url(port=5000)


def test_files_travel_as_gzipped_tar_with_parents_made(box: Any) -> None:
    """Binary content, nested new directories, relative paths from the session's cwd, missing files."""
    data = bytes(range(256)) * 10
    box.filesystem.write_file("/home/user/deep/er/bin.dat", data)
    assert box.filesystem.read_bytes("/home/user/deep/er/bin.dat") == data
    box.filesystem.write_file("relative.txt", "from cwd")
    assert box.run_command("cat /home/user/relative.txt", timeout=30).stdout == "from cwd"
    with pytest.raises(errors.PathNotFoundError):
        box.filesystem.read_file("/home/user/nope.txt")


def test_named_sandboxes_live_in_tags(emulator: VercelEmulator) -> None:
    """find_or_create finds by the computesdk tags; metadata plus name beyond 5 tags is refused."""
    vercel = compute_for(emulator)
    first = vercel.sandbox.find_or_create(name="app", namespace="team", timeout=600)
    try:
        again = vercel.sandbox.find_or_create(name="app", namespace="team", timeout=600)
        assert again.sandbox_id == first.sandbox_id
        assert emulator.sandboxes[first.sandbox_id]["tags"] == {"computesdk_name": "app", "computesdk_namespace": "team"}
        with pytest.raises(errors.ValidationError, match="at most 5"):
            vercel.sandbox.create(name="big", metadata={f"k{n}": "v" for n in range(4)})
    finally:
        first.destroy()
    assert vercel.sandbox.find(name="app", namespace="team") is None


def test_snapshot_stops_the_session_and_seeds_a_new_sandbox(emulator: VercelEmulator) -> None:
    """A snapshot keeps the working directory; the source sandbox resumes; the snapshot can be deleted twice."""
    vercel = compute_for(emulator)
    with vercel.sandbox.create(timeout=600) as source:
        source.filesystem.write_file("/home/user/saved.txt", "snap")
        snapshot = vercel.snapshot.create(source.sandbox_id)
        assert snapshot.id in [s.id for s in vercel.snapshot.list()]
        assert source.run_command("cat /home/user/saved.txt", timeout=30).stdout == "snap"
        with vercel.sandbox.create(timeout=600, snapshot_id=snapshot.id) as copy:
            assert copy.filesystem.read_file("/home/user/saved.txt") == "snap"
        assert emulator.create_bodies[-1]["source"] == {"type": "snapshot", "snapshotId": snapshot.id}
    vercel.snapshot.delete(snapshot.id)
    vercel.snapshot.delete(snapshot.id)
    assert snapshot.id not in [s.id for s in vercel.snapshot.list()]


def test_extend_timeout_adds_milliseconds_to_the_session(box: Any, emulator: VercelEmulator) -> None:
    """extend_timeout(60) adds 60000 ms to the current session's timeout."""
    session = emulator.sessions[box.get_instance().session_id]
    before = session["timeout"]
    compute_for(emulator).sandbox.extend_timeout(box.sandbox_id, duration=60)
    assert session["timeout"] == before + 60_000


def test_runtime_goes_to_v2_and_image_to_v3(emulator: VercelEmulator) -> None:
    """runtime='node' is sent as node24 to /v2/sandboxes; an image to /v3/sandboxes."""
    vercel = compute_for(emulator)
    with vercel.sandbox.create(timeout=600, runtime="node") as sandbox:
        assert emulator.create_bodies[-1]["runtime"] == "node24"
        assert sandbox.get_info().runtime == "node"
    assert ("POST", "/v2/sandboxes") in emulator.requests
    with vercel.sandbox.create(timeout=600, image="vercel/sandbox/python:3.14"):
        assert emulator.create_bodies[-1]["image"] == "vercel/sandbox/python:3.14"
    assert ("POST", "/v3/sandboxes") in emulator.requests


def test_a_wrong_token_is_an_authentication_error(emulator: VercelEmulator) -> None:
    """401 from Vercel becomes AuthenticationError, and the token is in no message."""
    with pytest.raises(errors.AuthenticationError) as caught:
        compute_for(emulator, token="wrong-token-xyz").sandbox.list()
    assert "wrong-token-xyz" not in str(caught.value)
