"""The core's daemon client against a real daemon on loopback: the failures a user can meet."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from computesdk_daemon.testing import DaemonProcess, wait_until_dead

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.types import DaemonEndpoint, RunOptions


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    process = DaemonProcess(tmp_path).start()
    yield process
    process.stop()


@pytest.fixture
def client(daemon: DaemonProcess) -> Iterator[DaemonClient]:
    daemon_client = DaemonClient(DaemonEndpoint(daemon.url, daemon.token), name="test")
    yield daemon_client
    daemon_client.close()


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("computesdk-ws-reader")]


def test_a_wrong_token_is_an_authentication_error_for_http_and_websocket(daemon: DaemonProcess) -> None:
    wrong = DaemonClient(DaemonEndpoint(daemon.url, "not-the-token"))
    try:
        with pytest.raises(errors.AuthenticationError):
            wrong.exists("/")
        with pytest.raises(errors.AuthenticationError):
            wrong.run_command("true", RunOptions())
    finally:
        wrong.close()


def test_a_daemon_that_died_gives_a_clear_error_at_once(daemon: DaemonProcess, client: DaemonClient) -> None:
    assert client.run_command("echo up", RunOptions()).stdout == "up\n"
    assert daemon.process is not None
    daemon.process.kill()
    daemon.process.wait(timeout=10)
    started = time.monotonic()
    with pytest.raises(errors.ConnectionLostError, match="not reachable|closed|WebSocket"):
        client.run_command("true", RunOptions())
    with pytest.raises(errors.ConnectionLostError):
        client.read_file("/etc/hostname")
    assert time.monotonic() - started < 15


def test_a_daemon_killed_while_a_command_runs_ends_the_wait(daemon: DaemonProcess, client: DaemonClient) -> None:
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            client.run_command("sleep 60", RunOptions())
        except BaseException as exc:  # collected for the assertion below
            outcome.append(exc)

    runner = threading.Thread(target=run, name="test-runner", daemon=True)
    runner.start()
    time.sleep(1)
    assert daemon.process is not None
    daemon.process.kill()
    runner.join(timeout=15)
    assert not runner.is_alive(), "run_command hung after its daemon died"
    assert outcome and isinstance(outcome[0], errors.ConnectionLostError)


def test_timeout_kills_the_tree_and_keeps_partial_output(client: DaemonClient) -> None:
    started = time.monotonic()
    with pytest.raises(errors.CommandTimeoutError) as caught:
        client.run_command("echo before; echo $$ >&2; sleep 30 & sleep 30; wait", RunOptions(timeout=1))
    assert time.monotonic() - started < 4
    assert caught.value.stdout == "before\n"
    assert isinstance(caught.value, TimeoutError)
    shell_pid = int(caught.value.stderr.strip())
    assert wait_until_dead(shell_pid)


def test_fifty_megabytes_of_output_arrive_whole_and_streamed(client: DaemonClient) -> None:
    chunks: list[int] = []
    result = client.run_command("head -c 50000000 /dev/zero | tr '\\0' x", RunOptions(on_stdout=lambda c: chunks.append(len(c))))
    assert len(result.stdout) == 50_000_000 and set(result.stdout[:1000]) == {"x"}
    assert sum(chunks) == 50_000_000 and len(chunks) > 100


def test_large_output_without_callbacks_is_not_truncated(client: DaemonClient) -> None:
    result = client.run_command("seq 1 6000000", RunOptions())
    lines = result.stdout.splitlines()
    assert len(lines) == 6_000_000 and lines[0] == "1" and lines[-1] == "6000000"


def test_closing_the_client_ends_its_reader_thread(daemon: DaemonProcess) -> None:
    before = len(_reader_threads())
    clients = [DaemonClient(DaemonEndpoint(daemon.url, daemon.token), name=f"t{i}") for i in range(3)]
    for each in clients:
        each.run_command("true", RunOptions())
    assert len(_reader_threads()) == before + 3
    for each in clients:
        each.close()
        each.close()
    assert len(_reader_threads()) == before


def test_a_dropped_client_does_not_leak_its_thread(daemon: DaemonProcess) -> None:
    import gc

    before = len(_reader_threads())
    dropped = DaemonClient(DaemonEndpoint(daemon.url, daemon.token), name="dropped")
    dropped.run_command("true", RunOptions())
    del dropped
    gc.collect()
    deadline = time.monotonic() + 5
    while len(_reader_threads()) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_reader_threads()) == before


def test_file_errors_map_to_path_not_found(client: DaemonClient) -> None:
    with pytest.raises(FileNotFoundError):
        client.read_file("/no/such/file")
    with pytest.raises(errors.PathNotFoundError):
        client.readdir("/no/such/dir")
    with pytest.raises(errors.PathNotFoundError):
        client.remove("/no/such/file")
    with pytest.raises(errors.PathNotFoundError):
        client.run_command("pwd", RunOptions(cwd="/no/such/dir"))
    assert client.exists("/no/such/file") is False


def test_a_provider_with_a_daemon_gets_files_from_the_daemon_not_from_commands(daemon: DaemonProcess) -> None:
    """Files and code go to the daemon's endpoints; the provider's own run_command is not used for them."""
    import types

    from computesdk_core import Compute, SandboxRecord, hookimpl
    from computesdk_core.plugins import ProviderRegistry

    scripts: list[str] = []

    @hookimpl
    def sandbox_create(config, options):  # type: ignore[no-untyped-def]
        return SandboxRecord(sandbox_id="with-daemon")

    @hookimpl
    def sandbox_destroy(config, sandbox_id):  # type: ignore[no-untyped-def]
        return True

    @hookimpl
    def sandbox_daemon(sandbox):  # type: ignore[no-untyped-def]
        return DaemonEndpoint(daemon.url, daemon.token)

    @hookimpl
    def sandbox_run_command(sandbox, command, options):  # type: ignore[no-untyped-def]
        scripts.append(command)
        return sandbox.daemon().run_command(command, options)

    reg = ProviderRegistry()
    reg.register("withdaemon", types.SimpleNamespace(
        sandbox_create=sandbox_create, sandbox_destroy=sandbox_destroy, sandbox_daemon=sandbox_daemon,
        sandbox_run_command=sandbox_run_command))
    with Compute(reg, provider="withdaemon").sandbox.create() as sandbox:
        payload = bytes(range(256)) * 4096
        sandbox.filesystem.write_file("big.bin", payload)
        assert sandbox.filesystem.read_bytes("big.bin") == payload
        assert [entry.name for entry in sandbox.filesystem.readdir(".")] == ["big.bin"]
        assert sandbox.filesystem.exists("big.bin")
        sandbox.filesystem.remove("big.bin")
        assert sandbox.run_code("print(6 * 7)").output == "42\n"
    assert scripts == [], "file and code calls went through run_command"


def test_closing_a_sandbox_frees_its_threads_and_a_later_call_reopens_them(daemon: DaemonProcess) -> None:
    import types

    from computesdk_core import Compute, SandboxRecord, hookimpl
    from computesdk_core.plugins import ProviderRegistry

    @hookimpl
    def sandbox_get(config, sandbox_id):  # type: ignore[no-untyped-def]
        return SandboxRecord(sandbox_id=sandbox_id)

    @hookimpl
    def sandbox_daemon(sandbox):  # type: ignore[no-untyped-def]
        return DaemonEndpoint(daemon.url, daemon.token)

    reg = ProviderRegistry()
    reg.register("reopen", types.SimpleNamespace(sandbox_get=sandbox_get, sandbox_daemon=sandbox_daemon))
    sandbox = Compute(reg, provider="reopen").sandbox.get_by_id("box")
    assert sandbox is not None
    before = len(_reader_threads())
    assert sandbox.run_command("echo one").stdout == "one\n"
    sandbox.close()
    assert len(_reader_threads()) == before
    assert sandbox.run_command("echo two").stdout == "two\n"
    sandbox.close()
    sandbox.close()
    assert len(_reader_threads()) == before


def test_the_socket_reconnects_and_resubscribes_after_a_drop(client: DaemonClient) -> None:
    from computesdk_core.daemon_client.websocket import DISCONNECTED, RECONNECTED

    seen: list[str] = []
    arrived = threading.Event()

    def sink(message: object) -> None:
        seen.append(getattr(message, "type", ""))
        if message is RECONNECTED:
            arrived.set()

    sock = client.socket
    sock.subscribe("watch:test", sink)
    first = sock._ws
    assert first is not None
    first.sock.shutdown(2)  # the network drops the connection
    assert arrived.wait(15), f"no reconnect; saw {seen}"
    assert seen[:1] == [DISCONNECTED.type]
    assert sock.connected and sock._ws is not first
    # The new connection still carries commands.
    assert client.run_command("echo again", RunOptions()).stdout == "again\n"
