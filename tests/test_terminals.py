"""sandbox.terminals against a real daemon (through DaemonClient) and end to end on the local provider."""

from __future__ import annotations

import queue
import re
import threading
import time

import pytest
from computesdk_daemon.testing import DaemonProcess

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.namespaces import terminals as terminals_module
from computesdk_core.namespaces.terminals import Terminal, TerminalInfo, Terminals

DEADLINE = 15.0


@pytest.fixture
def terminals(client: DaemonClient) -> Terminals:
    return Terminals(lambda: client)


class Collector:
    """Output handler that records text and the thread each call ran on."""

    def __init__(self) -> None:
        self.chunks: queue.Queue[str] = queue.Queue()
        self.text = ""
        self.threads: set[str] = set()

    def __call__(self, text: str) -> None:
        self.threads.add(threading.current_thread().name)
        self.chunks.put(text)

    def until(self, pattern: str, deadline: float = DEADLINE) -> str:
        end = time.monotonic() + deadline
        while not re.search(pattern, self.text):
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{pattern!r} not in the output within {deadline} s: {self.text!r}")
            try:
                self.text += self.chunks.get(timeout=remaining)
            except queue.Empty:
                continue
        return self.text


def wait_for(event: threading.Event) -> None:
    assert event.wait(DEADLINE), "the event did not come"


def test_pty_output_reaches_handlers_on_the_event_thread(terminals: Terminals) -> None:
    with terminals.create(pty=True) as terminal:
        assert terminal.pty and terminal.is_running() and terminal.channel == f"terminal:{terminal.id}"
        output = Collector()
        terminal.on("output", output)
        terminal.write("echo $((6*7))x\n")
        output.until("42x")
        assert output.threads and all(name.startswith("computesdk-events-") for name in output.threads)


def test_the_first_handler_sees_the_first_prompt(terminals: Terminals) -> None:
    with terminals.create(pty=True, shell="/bin/sh") as terminal:
        time.sleep(0.3)  # the prompt is printed before anyone listens
        output = Collector()
        terminal.on("output", output)
        output.until(r"[$#]")


def test_base64_output_arrives_as_text(terminals: Terminals) -> None:
    with terminals.create(pty=True, encoding="base64") as terminal:
        assert terminal.encoding == "base64"
        output = Collector()
        terminal.on("output", output)
        terminal.write("echo $((40+2))ü\n")
        output.until("42ü")


def test_size_and_resize_are_seen_inside(terminals: Terminals) -> None:
    with terminals.create(pty=True, cols=90, rows=20) as terminal:
        output = Collector()
        terminal.on("output", output)
        terminal.write("echo size=$(stty size)\n")
        output.until("size=20 90")
        terminal.resize(150, 50)
        terminal.write("echo size=$(stty size)\n")
        output.until("size=50 150")
        with pytest.raises(errors.ValidationError):
            terminal.resize(0, 10)


def test_destroy_ends_the_terminal_and_writing_then_fails_at_once(terminals: Terminals) -> None:
    terminal = terminals.create(pty=True)
    destroyed = threading.Event()
    terminal.on("destroyed", destroyed.set)
    terminal.destroy()
    wait_for(destroyed)
    assert not terminal.is_running() and terminal.status == "stopped"
    started = time.monotonic()
    with pytest.raises(errors.ValidationError, match="stopped"):
        terminal.write("echo hi\n")
    assert time.monotonic() - started < 1
    terminal.destroy()  # idempotent
    with pytest.raises(errors.NotFoundError):
        terminals.retrieve(terminal.id)
    with pytest.raises(errors.NotFoundError):
        terminals.destroy(terminal.id)


def test_a_shell_that_exits_is_reported_destroyed(terminals: Terminals) -> None:
    terminal = terminals.create(pty=True)
    destroyed = threading.Event()
    terminal.on("destroyed", destroyed.set)
    terminal.write("exit\n")
    wait_for(destroyed)
    assert terminal.status == "stopped"
    assert terminals.retrieve(terminal.id).status == "stopped"
    with pytest.raises(errors.ValidationError):
        terminal.write("echo hi\n")
    terminals.destroy(terminal.id)


def test_a_terminal_destroyed_elsewhere_reports_an_error(terminals: Terminals, daemon: DaemonProcess) -> None:
    terminal = terminals.create(pty=True)
    # Gone behind this client's back, before it listened: the daemon answers input with terminal:error.
    assert daemon.request("DELETE", f"/terminals/{terminal.id}").status_code == 204
    errors_seen: queue.Queue[str] = queue.Queue()
    terminal.on("error", errors_seen.put)
    terminal.write("echo hi\n")
    assert "not found" in errors_seen.get(timeout=DEADLINE)
    end = time.monotonic() + DEADLINE
    while terminal.is_running() and time.monotonic() < end:
        time.sleep(0.02)
    with pytest.raises(errors.ValidationError, match="stopped"):
        terminal.write("echo hi\n")


def test_retrieve_and_list(terminals: Terminals) -> None:
    pty = terminals.create(pty=True)
    exec_terminal = terminals.create()
    try:
        listed = {info.id: info for info in terminals.list()}
        assert isinstance(listed[pty.id], TerminalInfo)
        assert listed[pty.id].pty and listed[pty.id].channel == pty.channel
        assert not listed[exec_terminal.id].pty and listed[exec_terminal.id].channel is None
        again = terminals.retrieve(pty.id)
        assert isinstance(again, Terminal) and again.id == pty.id and again.pty
        output = Collector()
        again.on("output", output)
        again.write("echo $((2*21))y\n")
        output.until("42y")
    finally:
        pty.destroy()
        exec_terminal.destroy()
    assert pty.id not in {info.id for info in terminals.list()}


def test_modes_refuse_the_other_modes_methods(terminals: Terminals) -> None:
    with terminals.create(pty=True) as pty, terminals.create(pty=False) as exec_terminal:
        with pytest.raises(errors.ValidationError):
            _ = pty.command
        with pytest.raises(errors.ValidationError):
            exec_terminal.write("ls\n")
        with pytest.raises(errors.ValidationError):
            exec_terminal.on("output", print)
    with pytest.raises(errors.ValidationError):
        terminals.create(encoding="hex")
    with pytest.raises(errors.ValidationError):
        terminals.create(pty=True, shell="/no/such/shell")


def test_exec_foreground_commands(terminals: Terminals) -> None:
    with terminals.create() as terminal:
        ok = terminal.command.run("echo out; echo err >&2")
        assert (ok.stdout, ok.stderr, ok.exit_code, ok.status) == ("out\n", "err\n", 0, "completed")
        assert ok.terminal_id == terminal.id and ok.duration_ms is not None and ok.finished_at is not None
        assert ok.started_at is not None and ok.started_at.tzinfo is not None
        failed = terminal.command.run("exit 3")
        assert (failed.status, failed.exit_code) == ("failed", 3)
        listed = terminal.command.list()
        assert [c.id for c in listed] == [ok.id, failed.id]
        assert listed[0].stdout == ""  # list items carry no output
        assert listed[0].refresh().stdout == "out\n"
        assert terminal.command.retrieve(failed.id).exit_code == 3
        with pytest.raises(errors.NotFoundError):
            terminal.command.retrieve("cmd_nope")


def test_exec_background_wait_and_timeout(terminals: Terminals, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small slices: the wait below spans several long polls.
    monkeypatch.setattr(terminals_module, "MAX_WAIT_SLICE", 0.3)
    with terminals.create() as terminal:
        command = terminal.command.run("sleep 1; echo done", background=True)
        assert command.status == "running" and command.exit_code is None
        assert command.refresh().status == "running"
        assert command.wait(30) is command
        assert (command.status, command.stdout, command.exit_code) == ("completed", "done\n", 0)
        slow = terminal.command.run("sleep 300", background=True)
        started = time.monotonic()
        with pytest.raises(errors.OperationTimeoutError):
            slow.wait(0.5)
        assert time.monotonic() - started < 10
    # Destroying the terminal killed it.
    assert slow.status == "running"
    with pytest.raises(errors.NotFoundError):
        slow.refresh()


def test_unknown_terminal_ids(terminals: Terminals) -> None:
    with pytest.raises(errors.NotFoundError):
        terminals.retrieve("term_nope")
    with pytest.raises(errors.NotFoundError):
        terminals.destroy("term_nope")
    with pytest.raises(errors.ValidationError):
        terminals.retrieve("")


def test_local_sandbox_end_to_end_and_close_ends_its_threads() -> None:
    from computesdk_core import compute

    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        before = set(threading.enumerate())
        terminal = sandbox.terminals.create(pty=True)
        output = Collector()
        terminal.on("output", output)
        terminal.write("echo $((6*7))z\n")
        output.until("42z", deadline=30)
        assert all(name.startswith("computesdk-events-") for name in output.threads)
        exec_terminal = sandbox.terminals.create()
        assert exec_terminal.command.run("echo hi").stdout == "hi\n"
        started = set(threading.enumerate()) - before
        assert started, "the PTY terminal should have started the socket and event threads"
        sandbox.close()
        end = time.monotonic() + DEADLINE
        while any(t.is_alive() for t in started) and time.monotonic() < end:
            time.sleep(0.05)
        assert not [t.name for t in started if t.is_alive()], "sandbox.close() left threads running"
        # The sandbox lives on: a new client sees the terminals.
        ids = {info.id for info in sandbox.terminals.list()}
        assert {terminal.id, exec_terminal.id} <= ids
        sandbox.terminals.destroy(terminal.id)
    finally:
        sandbox.destroy()

