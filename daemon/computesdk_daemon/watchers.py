"""File watchers: watchdog (inotify) observers whose changes are published on ``watcher:<id>``.

Each watcher has its own observer (its own threads), so that two watchers of one path never
share, and stopping one never stops the other. Observer threads only hand raw events to the
event loop; the loop turns them into chokidar-style events (``add``, ``change``, ``unlink``,
``addDir``, ``unlinkDir``) and one task per watcher publishes them in order, reading the
content first when the watcher asked for it.

A file being written is reported once it is complete: at the close that ends the write
(``IN_CLOSE_WRITE``), or :data:`SETTLE_SECONDS` after its first change when nothing closes it
(a file moved in, a writer that keeps it open), so a long-lived writer is still reported
while it writes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fnmatch
import logging
import os
import secrets
import threading
from typing import Any

from aiohttp import web
from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
    FileSystemMovedEvent,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from computesdk_daemon import openapi
from computesdk_daemon.errors import ApiError
from computesdk_daemon.files import resolve
from computesdk_daemon.hub import HUB, ChannelHub
from computesdk_daemon.request_body import get_bool, get_str, read_object, require_str
from computesdk_daemon.responses import wrapped

logger = logging.getLogger(__name__)

SETTLE_SECONDS = 0.1
# Content beyond this is not sent (the event still is): the WebSocket takes 16 MiB messages.
MAX_CONTENT_BYTES = 8 * 1024 * 1024
STOP_DEADLINE = 5.0
_ENCODINGS = ("raw", "base64")
# IN_OPEN / IN_CLOSE_NOWRITE are left out: reads (ours included, for content) are no change.
_EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent, DirCreatedEvent, FileModifiedEvent, FileDeletedEvent, DirDeletedEvent,
    FileMovedEvent, DirMovedEvent, FileClosedEvent,
]


def is_ignored(path: str, root: str, patterns: list[str]) -> bool:
    """Whether ``path`` matches one of the glob ``patterns``.

    A pattern is tried against the path relative to ``root``, against the absolute path, and
    against each segment of the relative path, so ``node_modules`` also hides everything below
    it and ``*.log`` hides log files at any depth. A leading ``**/`` matches zero directories too.
    """
    relative = os.path.relpath(path, root)
    if relative == ".":
        return False
    candidates = [relative, path, *relative.split(os.sep)]
    for pattern in patterns:
        variants = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(candidate, variant) for variant in variants for candidate in candidates):
            return True
    return False


def _read_content(path: str) -> bytes | None:
    try:
        if os.path.getsize(path) > MAX_CONTENT_BYTES:
            return None
        with open(path, "rb") as handle:
            return handle.read(MAX_CONTENT_BYTES + 1)[:MAX_CONTENT_BYTES]
    except OSError:
        return None  # gone, a directory, or unreadable by now: the event goes out without it


def _as_text(path: str | bytes) -> str:
    return path if isinstance(path, str) else os.fsdecode(path)


class _Forwarder(FileSystemEventHandler):
    """Runs on the observer thread: hands every event to the event loop, nothing more."""

    def __init__(self, loop: asyncio.AbstractEventLoop, watcher: Watcher) -> None:
        self._loop = loop
        self._watcher = watcher

    def dispatch(self, event: FileSystemEvent) -> None:
        """Queue ``event`` for the loop (dropped once the loop is closed)."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._watcher.on_fs_event, event)


class Watcher:
    """One watched path: its settings, its observer, and what it still has to publish."""

    def __init__(self, hub: ChannelHub, path: str, include_content: bool, ignored: list[str], encoding: str) -> None:
        """Set up (on the event loop); nothing is watched before :meth:`start`."""
        self.id = "watcher_" + secrets.token_hex(8)
        self.channel = f"watcher:{self.id}"
        self.path = path
        self.include_content = include_content
        self.ignored = ignored
        self.encoding = encoding
        self.status = "active"
        self._hub = hub
        self._loop = asyncio.get_running_loop()
        # A watched file is watched through its directory; events of its siblings are dropped.
        self._file = None if os.path.isdir(path) else path
        self._root = path if self._file is None else os.path.dirname(path)
        self._pending: dict[str, str] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._outbox: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue()
        self._publisher = asyncio.create_task(self._publish_loop(), name=f"publish-{self.id}")
        self._observer: BaseObserver | None = None

    def describe(self) -> dict[str, Any]:
        """The Watcher object of the wire (camelCase ``includeContent``, as the protocol has it)."""
        return {"id": self.id, "path": self.path, "includeContent": self.include_content,
                "ignored": list(self.ignored), "status": self.status, "channel": self.channel,
                "encoding": self.encoding}

    def start(self) -> None:
        """Start observing. It blocks (watchdog walks the tree to watch every directory): run it off the loop."""
        observer = Observer()
        observer.name = f"watcher-{self.id}"
        observer.schedule(_Forwarder(self._loop, self), self._root, recursive=self._file is None,
                          event_filter=_EVENT_FILTER)
        for number, emitter in enumerate(observer.emitters):
            emitter.name = f"watcher-{self.id}-emitter-{number}"
        # watchdog's inotify reader is a thread of its own with a generic name; name it for `ps`.
        reader = getattr(observer, "_inotify_fd", None)
        if isinstance(reader, threading.Thread):
            reader.name = f"watcher-{self.id}-inotify"
        observer.start()
        self._observer = observer

    def stop_observer(self) -> None:
        """Stop the observer and join its threads (bounded; blocking, so run it off the loop)."""
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=STOP_DEADLINE)

    async def close(self) -> None:
        """Stop watching; events already seen are published first."""
        self.status = "stopped"
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._pending.clear()
        await asyncio.to_thread(self.stop_observer)
        self._outbox.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(self._publisher), timeout=STOP_DEADLINE)
        except asyncio.TimeoutError:
            self._publisher.cancel()

    # --- turning file-system events into watcher events (on the loop) --------------------------

    def on_fs_event(self, event: FileSystemEvent) -> None:
        """One raw watchdog event, on the event loop."""
        if self.status != "active":
            return
        source = _as_text(event.src_path)
        if isinstance(event, FileSystemMovedEvent):
            # Reported as the path going away and the new path appearing.
            self._gone(source, event.is_directory)
            destination = _as_text(event.dest_path)
            if destination and self._wanted(destination):
                self._emit("addDir" if event.is_directory else "add", destination)
            return
        if event.is_directory:
            if isinstance(event, DirCreatedEvent) and self._wanted(source):
                self._emit("addDir", source)
            elif isinstance(event, DirDeletedEvent):
                self._gone(source, True)
                if source == self._root:
                    self.status = "stopped"  # the watched directory itself is gone
            return
        if not self._wanted(source):
            return
        if isinstance(event, FileCreatedEvent):
            self._pending[source] = "add"
            self._arm(source)
        elif isinstance(event, FileModifiedEvent):
            self._pending.setdefault(source, "change")
            self._arm(source)
        elif isinstance(event, FileClosedEvent):
            self._flush(source, default="change")
        elif isinstance(event, FileDeletedEvent):
            self._gone(source, False)

    def _wanted(self, path: str) -> bool:
        if self._file is not None:
            return path == self._file
        return path == self._root or (
            path.startswith(self._root.rstrip("/") + "/") and not is_ignored(path, self._root, self.ignored)
        )

    def _gone(self, path: str, is_dir: bool) -> None:
        if not self._wanted(path):
            return
        if self._pending.get(path) == "add":
            # Created and removed before it settled: still tell about both.
            self._flush(path, default=None)
        self._drop(path)
        self._emit("unlinkDir" if is_dir else "unlink", path)

    def _arm(self, path: str) -> None:
        if path not in self._timers:
            self._timers[path] = self._loop.call_later(SETTLE_SECONDS, self._flush, path, None)

    def _drop(self, path: str) -> None:
        self._pending.pop(path, None)
        timer = self._timers.pop(path, None)
        if timer is not None:
            timer.cancel()

    def _flush(self, path: str, default: str | None) -> None:
        kind = self._pending.get(path, default)
        self._drop(path)
        if kind is not None and self.status == "active":
            self._emit(kind, path)

    def _emit(self, kind: str, path: str) -> None:
        self._outbox.put_nowait((kind, path))

    async def _publish_loop(self) -> None:
        while True:
            item = await self._outbox.get()
            if item is None:
                return
            kind, path = item
            data: dict[str, Any] = {"event": kind, "path": path}
            if self.include_content and kind in ("add", "change"):
                content = await asyncio.to_thread(_read_content, path)
                if content is not None:
                    data.update(self._encoded(content))
            try:
                await self._hub.publish(self.channel, "file:changed", data)
            except Exception:
                logger.exception("publishing a change of watcher %s failed", self.id)

    def _encoded(self, content: bytes) -> dict[str, str]:
        if self.encoding == "raw":
            try:
                return {"content": content.decode("utf-8"), "encoding": "raw"}
            except UnicodeDecodeError:
                pass  # not text: sent as base64, and the event's own encoding says so
        return {"content": base64.b64encode(content).decode("ascii"), "encoding": "base64"}


class WatcherRegistry:
    """The daemon's watchers by id."""

    def __init__(self) -> None:
        self.watchers: dict[str, Watcher] = {}

    def get(self, watcher_id: str) -> Watcher:
        """The watcher with this id; 404 when there is none."""
        try:
            return self.watchers[watcher_id]
        except KeyError:
            raise ApiError(404, f"no watcher {watcher_id}") from None

    async def close_all(self) -> None:
        """Stop every watcher (the daemon is going away): all observer threads are joined."""
        watchers, self.watchers = list(self.watchers.values()), {}
        await asyncio.gather(*(watcher.close() for watcher in watchers), return_exceptions=True)


WATCHERS = web.AppKey("watchers", WatcherRegistry)


def _string_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, f"'{key}' must be a list of strings")
    return list(value)


async def create_watcher(request: web.Request) -> web.Response:
    """POST /watchers {path, includeContent?, ignored?, encoding?}: 201 with the watcher."""
    body = await read_object(request)
    path = resolve(request, require_str(body, "path"))
    include_content = get_bool(body, "includeContent")
    ignored = _string_list(body, "ignored")
    encoding = get_str(body, "encoding", "raw") or "raw"
    if encoding not in _ENCODINGS:
        raise ApiError(400, "'encoding' must be 'raw' or 'base64'")
    if not await asyncio.to_thread(os.path.exists, path):
        raise ApiError(404, f"no such file or directory: {path}")
    watcher = Watcher(request.app[HUB], path, include_content, ignored, encoding)
    try:
        await asyncio.to_thread(watcher.start)
    except OSError as exc:
        await watcher.close()
        # ENOSPC here means the inotify watch limit, not a full disk.
        raise ApiError(500, f"cannot watch {path}: {exc.strerror or exc}") from None
    request.app[WATCHERS].watchers[watcher.id] = watcher
    await request.app[HUB].publish(watcher.channel, "watcher:created", {"id": watcher.id, "path": path})
    return wrapped("Watcher created", {**watcher.describe(), "ws_url": "/ws"}, status=201)


async def list_watchers(request: web.Request) -> web.Response:
    """GET /watchers."""
    watchers = [watcher.describe() for watcher in request.app[WATCHERS].watchers.values()]
    return wrapped("Watchers listed", {"watchers": watchers})


async def get_watcher(request: web.Request) -> web.Response:
    """GET /watchers/{id}."""
    watcher = request.app[WATCHERS].get(request.match_info["id"])
    return wrapped("Watcher found", {**watcher.describe(), "ws_url": "/ws"})


async def delete_watcher(request: web.Request) -> web.Response:
    """DELETE /watchers/{id}: stop it, publish ``watcher:destroyed``, 204."""
    registry = request.app[WATCHERS]
    watcher = registry.get(request.match_info["id"])
    del registry.watchers[watcher.id]
    await watcher.close()
    await request.app[HUB].publish(watcher.channel, "watcher:destroyed", {"id": watcher.id})
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the watcher routes; every watcher stops (threads joined) when the daemon stops."""
    registry = WatcherRegistry()
    app[WATCHERS] = registry

    async def on_shutdown(_: web.Application) -> None:
        await registry.close_all()

    app.on_shutdown.append(on_shutdown)
    app.router.add_post("/watchers", create_watcher)
    app.router.add_get("/watchers", list_watchers, allow_head=False)
    app.router.add_get("/watchers/{id}", get_watcher, allow_head=False)
    app.router.add_delete("/watchers/{id}", delete_watcher)


_ENCODING_FIELD = {"type": "string", "enum": list(_ENCODINGS), "default": "raw"}
_WATCHER = {
    "type": "object",
    "required": ["id", "path", "includeContent", "ignored", "status", "channel", "encoding"],
    "properties": {
        "id": {"type": "string"}, "path": {"type": "string"}, "includeContent": {"type": "boolean"},
        "ignored": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string", "enum": ["active", "stopped"]},
        "channel": {"type": "string", "description": "WebSocket channel of its file:changed events"},
        "encoding": _ENCODING_FIELD, "ws_url": {"type": "string"},
    },
}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _wrapped(data: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"message": {"type": "string"}, "data": data},
    }}}}


OPENAPI_PATHS: dict[str, Any] = {
    "/watchers": {
        "post": {
            "summary": "Watch a file or directory (recursively); changes go to the watcher's channel",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["path"], "properties": {
                    "path": {"type": "string"}, "includeContent": {"type": "boolean", "default": False},
                    "ignored": {"type": "array", "items": {"type": "string"},
                                "description": "Glob patterns, matched against the relative path, "
                                               "the absolute path and each path segment"},
                    "encoding": _ENCODING_FIELD}}}}},
            "responses": {"201": _wrapped(_WATCHER, "The watcher, active"),
                          **openapi.error_responses(400, 404)},
        },
        "get": {
            "summary": "List the watchers",
            "responses": {"200": _wrapped({"type": "object", "properties": {
                "watchers": {"type": "array", "items": _WATCHER}}}, "Every watcher")},
        },
    },
    "/watchers/{id}": {
        "get": {
            "summary": "One watcher",
            "parameters": [_ID],
            "responses": {"200": _wrapped(_WATCHER, "The watcher"), **openapi.error_responses(404)},
        },
        "delete": {
            "summary": "Stop and remove a watcher (publishes watcher:destroyed on its channel)",
            "parameters": [_ID],
            "responses": {"204": {"description": "Removed"}, **openapi.error_responses(404)},
        },
    },
}
