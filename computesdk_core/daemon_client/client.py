"""DaemonClient: the basic sandbox interface spoken to a computesdk daemon."""

from __future__ import annotations

import base64
import queue
import shlex
import threading
import time
from typing import Any

from computesdk_core import errors
from computesdk_core.daemon_client.events import Dispatcher
from computesdk_core.daemon_client.http import DaemonHTTP
from computesdk_core.daemon_client.websocket import DISCONNECTED, SandboxSocket
from computesdk_core.protocol import Message, encode_file_path
from computesdk_core.types import CodeResult, CommandResult, DaemonEndpoint, FileEntry, FileInfo, RunOptions
from computesdk_core.wire import structure

# How much longer than a command's own timeout the client waits for the daemon to report it.
TIMEOUT_GRACE = 15.0
# Output chunks held between the socket and a slow on_stdout/on_stderr handler (64 KiB each at most).
STREAM_QUEUE_CHUNKS = 64
POLL_INTERVAL = 1.0


class DaemonClient:
    """One sandbox's daemon: an HTTP session plus, once a stream is needed, one WebSocket."""

    def __init__(self, endpoint: DaemonEndpoint, name: str = "sandbox", timeout: float = 30.0) -> None:
        self.endpoint = endpoint
        self.http = DaemonHTTP(endpoint.url, endpoint.token, timeout=timeout)
        self._socket: SandboxSocket | None = None
        self._dispatcher: Dispatcher | None = None
        self._name = name
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DaemonClient({self.endpoint.url!r})"

    @property
    def socket(self) -> SandboxSocket:
        """The sandbox's WebSocket, created on first use (connected lazily)."""
        with self._lock:
            if self._socket is None:
                self._socket = SandboxSocket(self.endpoint.url, self.endpoint.token, name=self._name)
            return self._socket

    @property
    def dispatcher(self) -> Dispatcher:
        """The thread that runs this sandbox's event handlers, created on first use."""
        with self._lock:
            if self._dispatcher is None:
                self._dispatcher = Dispatcher(self._name)
            return self._dispatcher

    def close(self) -> None:
        """Close the WebSocket and the event thread (ending both threads) and the HTTP session; idempotent."""
        with self._lock:
            sock, self._socket = self._socket, None
            dispatcher, self._dispatcher = self._dispatcher, None
        if sock is not None:
            sock.close()
        if dispatcher is not None:
            dispatcher.close()
        self.http.close()

    # --- commands -----------------------------------------------------------------------------

    def run_command(self, command: str, options: RunOptions) -> CommandResult:
        """Run a shell command string in the sandbox (see the ``sandbox_run_command`` hookspec)."""
        body: dict[str, Any] = {"command": command}
        if options.cwd is not None:
            body["cwd"] = options.cwd
        if options.env:
            body["env"] = dict(options.env)
        if options.timeout is not None:
            body["timeout"] = options.timeout
        if options.background:
            self._post_command({**body, "background": True}, timeout="default")
            return CommandResult(stdout="", stderr="", exit_code=0, duration_ms=0)
        # Foreground commands always stream over the WebSocket: output of any size arrives
        # whole (the daemon keeps only a bounded tail), and a daemon that dies is noticed at once.
        return self._stream_command(command, body, options)

    def _post_command(self, body: dict[str, Any], timeout: Any) -> dict[str, Any]:
        try:
            return self.http.data("POST", "/run/command", json=body, timeout=timeout) or {}
        except errors.NotFoundError as exc:
            raise errors.PathNotFoundError(str(exc), status_code=404, provider="daemon",
                                           request_id=None) from None

    def _stream_command(self, command: str, body: dict[str, Any], options: RunOptions) -> CommandResult:
        sock = self.socket
        sock.connect()
        started = time.monotonic()
        pending = self._post_command({**body, "stream": True}, timeout="default")
        cmd_id, channel = pending.get("cmd_id"), pending.get("channel")
        if not cmd_id or not channel:
            raise errors.ProviderAPIError(
                "the daemon did not return cmd_id and channel for a streaming command",
                status_code=None, provider="daemon", request_id=None,
            )
        inbox: queue.Queue[Message] = queue.Queue(maxsize=STREAM_QUEUE_CHUNKS)

        def sink(message: Message) -> None:
            if message is DISCONNECTED:
                # Never block on the way out: drop a chunk to make room for the news.
                while True:
                    try:
                        inbox.put_nowait(message)
                        return
                    except queue.Full:
                        try:
                            inbox.get_nowait()
                        except queue.Empty:
                            pass
            if isinstance(message.data, dict) and message.data.get("cmd_id") == cmd_id:
                inbox.put(message)

        sock.subscribe(channel, sink)
        stdout: list[str] = []
        stderr: list[str] = []
        deadline = None if options.timeout is None else started + options.timeout + TIMEOUT_GRACE
        try:
            sock.send(Message("command:start", data={"cmd_id": cmd_id}))
            while True:
                wait = POLL_INTERVAL if deadline is None else max(0.0, min(POLL_INTERVAL, deadline - time.monotonic()))
                try:
                    message = inbox.get(timeout=wait)
                except queue.Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise _timeout_error(command, options.timeout, "".join(stdout), "".join(stderr)) from None
                    continue
                if message is DISCONNECTED:
                    raise errors.ConnectionLostError(
                        "the sandbox's WebSocket closed while the command ran; the sandbox may be gone"
                    )
                data = message.data
                if message.type == "command:stdout":
                    stdout.append(data.get("output", ""))
                    if options.on_stdout:
                        options.on_stdout(data.get("output", ""))
                elif message.type == "command:stderr":
                    stderr.append(data.get("output", ""))
                    if options.on_stderr:
                        options.on_stderr(data.get("output", ""))
                elif message.type == "command:error":
                    raise errors.ProviderAPIError(
                        f"the command failed to run: {data.get('error') or data.get('message') or data}",
                        status_code=None, provider="daemon", request_id=None,
                    )
                elif message.type == "command:exit":
                    out, err = "".join(stdout), "".join(stderr)
                    if data.get("timed_out"):
                        raise _timeout_error(command, options.timeout, out, err)
                    duration = data.get("duration_ms") or int((time.monotonic() - started) * 1000)
                    return CommandResult(out, err, int(data.get("exit_code") or 0), int(duration))
        finally:
            sock.unsubscribe(channel, sink)

    def run_code(self, code: str, language: str) -> CodeResult:
        """Run a snippet through the daemon's ``/run/code``."""
        data = self.http.data("POST", "/run/code", json={"code": code, "language": language}, timeout=None)
        return CodeResult(
            output=data.get("output") or "",
            exit_code=int(data.get("exit_code") or 0),
            language=data.get("language") or language,
        )

    # --- files --------------------------------------------------------------------------------

    def _file_call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self.http.data(method, "/files/" + encode_file_path(path), **kwargs)
        except errors.NotFoundError:
            raise errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}",
                                           status_code=404, provider="daemon", request_id=None) from None

    def read_file(self, path: str) -> bytes:
        """Return the bytes of a file."""
        data = self._file_call("GET", path, params={"content": "true", "encoding": "base64"})
        content = data.get("content") or ""
        if data.get("encoding") == "base64":
            return base64.b64decode(content)
        # A daemon without the base64 extension sends text.
        return content.encode()

    def write_file(self, path: str, content: bytes) -> FileInfo:
        """Create or replace a file (parents are created)."""
        body = {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"}
        data = self.http.data("POST", "/files", json=body)
        return structure(data["file"], FileInfo)

    def readdir(self, path: str) -> list[FileEntry]:
        """List a directory."""
        try:
            data = self.http.data("GET", "/files", params={"path": path})
        except errors.NotFoundError:
            raise errors.PathNotFoundError(f"no such directory in the sandbox: {path}",
                                           status_code=404, provider="daemon", request_id=None) from None
        infos = [structure(item, FileInfo) for item in data.get("files", [])]
        return [
            FileEntry(name=info.name, type="directory" if info.is_dir else "file", size=info.size,
                      modified=info.modified_at)
            for info in infos
        ]

    def exists(self, path: str) -> bool:
        """Whether a path exists (HEAD); False for a missing one."""
        try:
            self.http.request("HEAD", "/files/" + encode_file_path(path))
        except errors.NotFoundError:
            return False
        return True

    def remove(self, path: str) -> None:
        """Remove a file or a directory tree."""
        self._file_call("DELETE", path)

    def mkdir(self, path: str) -> None:
        """Create a directory and its parents (the protocol has no endpoint: ``mkdir -p``)."""
        result = self.run_command(f"mkdir -p -- {shlex.quote(path)}", RunOptions(timeout=60))
        if result.exit_code != 0:
            raise errors.ValidationError(f"cannot create directory {path}: {result.stderr.strip()}")

    def extend_timeout(self, duration: float) -> dict[str, Any]:
        """Push the daemon's lifetime ``duration`` seconds further."""
        return self.http.data("POST", "/timeout/extend", json={"duration": duration}) or {}


def _timeout_error(command: str, timeout: float | None, stdout: str, stderr: str) -> errors.CommandTimeoutError:
    return errors.CommandTimeoutError(
        f"command timed out after {timeout} s and was killed: {command[:200]}",
        stdout=stdout, stderr=stderr, timeout=timeout,
    )
