"""``sandbox.watchers``: watch files and directories in the sandbox and get their changes as events.

Changes reach the client only over the sandbox's WebSocket, on the watcher's channel. The
socket is opened before the watcher is created and the channel subscribed right after, so
only a change the daemon reports before the subscription frame reaches it (the first
milliseconds after ``create`` returns) can be missed. A reconnecting socket resubscribes by
itself; changes made while it was down are not replayed.
"""

from __future__ import annotations

import base64
import builtins
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

import attrs

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient, SandboxSocket
from computesdk_core.daemon_client.events import EventEmitter, Handler
from computesdk_core.protocol import Message

__all__ = ["FileChangeEvent", "FileWatcher", "WatcherInfo", "Watchers"]

ChangeKind = Literal["add", "change", "unlink", "addDir", "unlinkDir"]
WatcherEvent = Literal["change", "destroyed"]
_ENCODINGS = ("raw", "base64")


@attrs.frozen
class FileChangeEvent:
    """One change: ``event`` is add, change, unlink, addDir or unlinkDir; ``path`` is absolute.

    ``content`` is there only for a watcher made with ``include_content=True`` (and a file that
    could still be read): text as ``str``, or ``bytes`` when the file is not UTF-8.
    """

    event: ChangeKind
    path: str
    content: str | bytes | None = None


@attrs.frozen
class WatcherInfo:
    """A watcher as the daemon describes it (``status`` is ``active`` or ``stopped``)."""

    id: str
    path: str
    include_content: bool
    ignored: tuple[str, ...]
    status: str
    channel: str
    encoding: str


def _info(data: dict[str, Any]) -> WatcherInfo:
    return WatcherInfo(
        id=str(data["id"]),
        path=str(data.get("path", "")),
        include_content=bool(data.get("includeContent", False)),
        ignored=tuple(data.get("ignored") or ()),
        status=str(data.get("status", "active")),
        channel=str(data.get("channel") or f"watcher:{data['id']}"),
        encoding=str(data.get("encoding") or "raw"),
    )


def _decoded(content: Any, encoding: Any) -> str | bytes:
    raw = base64.b64decode(content) if encoding == "base64" else content
    if isinstance(raw, (bytes, bytearray)):
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(raw)
    return str(raw)


def change_event(data: dict[str, Any]) -> FileChangeEvent:
    """The FileChangeEvent of a ``file:changed`` message's data, its content decoded."""
    content = data.get("content")
    return FileChangeEvent(
        event=data.get("event", "change"),
        path=str(data.get("path", "")),
        content=None if content is None else _decoded(content, data.get("encoding")),
    )


def _watcher_url(watcher_id: str) -> str:
    if not isinstance(watcher_id, str) or not watcher_id:
        raise errors.ValidationError("a watcher id must be a non-empty string")
    return "/watchers/" + quote(watcher_id, safe="")


class FileWatcher:
    """A live watcher: ``on("change", handler)`` gets a :class:`FileChangeEvent` per change.

    Handlers run on the sandbox's event thread, in the order the changes happened. ``destroy()``
    (or leaving the ``with`` block) stops the watcher in the sandbox, calls the ``destroyed``
    handlers once, and drops every handler.
    """

    def __init__(self, daemon: Callable[[], DaemonClient], info: WatcherInfo, client: DaemonClient) -> None:
        """Wrap a watcher the daemon just created and subscribe to its channel at once."""
        self._daemon = daemon
        self._info = info
        self._status = info.status
        self._lock = threading.Lock()
        self._ended = False
        self._emitter = EventEmitter(client.dispatcher, events=("change", "destroyed"))
        self._socket: SandboxSocket = client.socket
        self._socket.subscribe(info.channel, self._sink)

    def __repr__(self) -> str:
        return f"FileWatcher(id={self.id!r}, path={self.path!r}, status={self.status!r})"

    @property
    def id(self) -> str:
        """The watcher's id (``watcher_...``)."""
        return self._info.id

    @property
    def path(self) -> str:
        """The watched path, absolute."""
        return self._info.path

    @property
    def status(self) -> str:
        """``active``, or ``stopped`` once destroyed."""
        return self._status

    @property
    def channel(self) -> str:
        """The WebSocket channel its events come on."""
        return self._info.channel

    @property
    def include_content(self) -> bool:
        """Whether change events carry the file's content."""
        return self._info.include_content

    @property
    def ignored(self) -> builtins.list[str]:
        """The glob patterns of paths it does not report."""
        return list(self._info.ignored)

    @property
    def encoding(self) -> str:
        """How the daemon sends content: ``raw`` or ``base64`` (events carry it decoded either way)."""
        return self._info.encoding

    def is_active(self) -> bool:
        """Whether it is still watching."""
        return self._status == "active"

    def on(self, event: WatcherEvent, handler: Handler) -> None:
        """Call ``handler(FileChangeEvent)`` for each ``change``, or ``handler()`` once when ``destroyed``."""
        self._emitter.on(event, handler)

    def off(self, event: WatcherEvent, handler: Handler | None = None) -> None:
        """Stop calling ``handler`` (every handler of ``event`` when None); unknown handlers are ignored."""
        self._emitter.off(event, handler)

    def destroy(self) -> None:
        """Stop watching and unsubscribe; idempotent (also after ``watchers.destroy(id)``)."""
        if self._ended:
            return
        try:
            self._daemon().http.request("DELETE", _watcher_url(self.id))
        except errors.NotFoundError:
            pass  # already gone in the sandbox; what is left is the local end
        self._end()

    def _sink(self, message: Message) -> None:
        """Runs on the socket's reader thread: only hands events on."""
        if message.type == "file:changed" and isinstance(message.data, dict):
            self._emitter.emit("change", change_event(message.data))
        elif message.type == "watcher:destroyed":
            self._end()

    def _end(self) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self._status = "stopped"
        # Queued after every change already emitted, so "destroyed" comes last.
        self._emitter.emit("destroyed")
        self._emitter.off("change")
        self._emitter.off("destroyed")
        self._socket.unsubscribe(self.channel, self._sink)

    def __enter__(self) -> FileWatcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.destroy()


class Watchers:
    """The sandbox's file watchers: ``create``, ``list``, ``retrieve``, ``destroy``."""

    def __init__(self, daemon: Callable[[], DaemonClient]) -> None:
        """``daemon`` returns the sandbox's current daemon client (called for every operation)."""
        self._daemon = daemon

    def __repr__(self) -> str:
        return "Watchers()"

    def create(self, path: str, ignored: Iterable[str] | None = None, include_content: bool = False,
               encoding: Literal["raw", "base64"] = "raw") -> FileWatcher:
        """Watch a directory (recursively) or a file; PathNotFoundError when it does not exist.

        ``ignored`` holds glob patterns matched against the path relative to ``path``, the
        absolute path, and each path segment (``"node_modules"``, ``"*.log"``, ``".git"``).
        ``include_content`` adds the content of added and changed files to their events.
        """
        if not isinstance(path, str) or not path:
            raise errors.ValidationError("path must be a non-empty string")
        if encoding not in _ENCODINGS:
            raise errors.ValidationError("encoding must be 'raw' or 'base64'")
        patterns = [] if ignored is None else [ignored] if isinstance(ignored, str) else list(ignored)
        if not all(isinstance(pattern, str) for pattern in patterns):
            raise errors.ValidationError("ignored must be a list of glob patterns (strings)")
        client = self._daemon()
        # Open the socket first, so the subscription after the POST is one frame, not a handshake.
        client.socket.connect()
        body = {"path": path, "includeContent": bool(include_content), "ignored": patterns, "encoding": encoding}
        try:
            data = client.http.data("POST", "/watchers", json=body)
        except errors.NotFoundError as exc:
            raise errors.PathNotFoundError(f"cannot watch {path}: no such file or directory in the sandbox",
                                           status_code=404, provider="daemon", request_id=None) from exc
        info = _info(data)
        try:
            return FileWatcher(self._daemon, info, client)
        except errors.ComputeSDKError:
            # Nobody could ever hear this watcher: do not leave it running in the sandbox.
            try:
                client.http.request("DELETE", _watcher_url(info.id))
            except errors.ComputeSDKError:
                pass
            raise

    def list(self) -> builtins.list[WatcherInfo]:
        """Every watcher of the sandbox."""
        data = self._daemon().http.data("GET", "/watchers")
        return [_info(item) for item in data.get("watchers", [])]

    def retrieve(self, watcher_id: str) -> WatcherInfo:
        """One watcher; NotFoundError for an unknown id."""
        return _info(self._daemon().http.data("GET", _watcher_url(watcher_id)))

    def destroy(self, watcher_id: str) -> None:
        """Stop a watcher by id; NotFoundError when there is none (also when already destroyed)."""
        self._daemon().http.request("DELETE", _watcher_url(watcher_id))
