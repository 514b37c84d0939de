"""``sandbox.watchers`` against a real daemon on loopback (real file events), and on the local provider."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from computesdk_core import compute, errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.namespaces.watchers import FileChangeEvent, FileWatcher, WatcherInfo, Watchers

DEADLINE = 10.0


@pytest.fixture
def watchers(client: DaemonClient) -> Watchers:
    return Watchers(lambda: client)


class Collector:
    """A handler that records what it gets, with a bounded wait for the next one."""

    def __init__(self) -> None:
        self.events: queue.Queue[Any] = queue.Queue()
        self.threads: set[str] = set()

    def __call__(self, *args: Any) -> None:
        self.threads.add(threading.current_thread().name)
        self.events.put(args[0] if args else None)

    def next(self, timeout: float = DEADLINE) -> Any:
        return self.events.get(timeout=timeout)

    def take(self, count: int) -> list[Any]:
        return [self.next() for _ in range(count)]


def test_changes_reach_handlers_as_values(watchers: Watchers, tmp_path: Path) -> None:
    with watchers.create(str(tmp_path)) as watcher:
        seen = Collector()
        watcher.on("change", seen)
        # A write shortly after create is seen: the channel is subscribed before create returns.
        time.sleep(0.2)
        (tmp_path / "src").mkdir()
        assert seen.next() == FileChangeEvent("addDir", str(tmp_path / "src"))
        app = tmp_path / "src" / "app.py"
        app.write_text("x = 1")
        assert seen.next() == FileChangeEvent("add", str(app))
        app.write_text("x = 2")
        assert seen.next() == FileChangeEvent("change", str(app))
        app.unlink()
        assert seen.next() == FileChangeEvent("unlink", str(app))
        assert all(name.startswith("computesdk-events-") for name in seen.threads), seen.threads


def test_attributes_and_lookups(watchers: Watchers, tmp_path: Path) -> None:
    watcher = watchers.create(str(tmp_path), ignored=["*.test.ts"], include_content=True)
    try:
        assert watcher.id.startswith("watcher_") and watcher.channel == f"watcher:{watcher.id}"
        assert (watcher.path, watcher.status, watcher.include_content, watcher.ignored, watcher.encoding) == (
            str(tmp_path), "active", True, ["*.test.ts"], "raw")
        assert watcher.is_active()
        info = watchers.retrieve(watcher.id)
        assert info == WatcherInfo(watcher.id, str(tmp_path), True, ("*.test.ts",), "active", watcher.channel, "raw")
        assert info in watchers.list()
    finally:
        watcher.destroy()
    assert watcher.status == "stopped" and not watcher.is_active()
    assert all(w.id != watcher.id for w in watchers.list())


@pytest.mark.parametrize("encoding", ["raw", "base64"])
def test_content_is_decoded(watchers: Watchers, tmp_path: Path, encoding: Any) -> None:
    with watchers.create(str(tmp_path), include_content=True, encoding=encoding) as watcher:
        seen = Collector()
        watcher.on("change", seen)
        (tmp_path / "config.json").write_text('{"a": "é"}')
        (tmp_path / "blob.bin").write_bytes(b"\x89PNG\xff\x00")
        text, blob = seen.take(2)
        assert text == FileChangeEvent("add", str(tmp_path / "config.json"), '{"a": "é"}')
        assert blob == FileChangeEvent("add", str(tmp_path / "blob.bin"), b"\x89PNG\xff\x00")


def test_ignored_patterns(watchers: Watchers, tmp_path: Path) -> None:
    (tmp_path / "node_modules").mkdir()
    with watchers.create(str(tmp_path), ignored=["node_modules", ".git", "*.log", "dist"]) as watcher:
        seen = Collector()
        watcher.on("change", seen)
        (tmp_path / "node_modules" / "x.js").write_text("x")
        (tmp_path / "error.log").write_text("x")
        (tmp_path / "dist").mkdir()
        (tmp_path / "dist" / "bundle.js").write_text("x")
        (tmp_path / "index.ts").write_text("x")
        assert seen.next() == FileChangeEvent("add", str(tmp_path / "index.ts"))


def test_off_and_multiple_handlers(watchers: Watchers, tmp_path: Path) -> None:
    with watchers.create(str(tmp_path)) as watcher:
        first, second = Collector(), Collector()
        watcher.on("change", first)
        watcher.on("change", second)
        (tmp_path / "one.txt").write_text("1")
        assert first.next().path == second.next().path == str(tmp_path / "one.txt")
        watcher.off("change", first)
        watcher.off("change", lambda event: None)  # never registered: no effect, no error
        (tmp_path / "two.txt").write_text("2")
        assert second.next().path == str(tmp_path / "two.txt")
        with pytest.raises(queue.Empty):
            first.next(timeout=0.5)
        with pytest.raises(errors.ValidationError):
            watcher.on("bogus", first)  # type: ignore[arg-type]


def test_destroyed_fires_once_for_either_way_of_destroying(watchers: Watchers, tmp_path: Path) -> None:
    for by_id in (False, True):
        watcher = watchers.create(str(tmp_path))
        destroyed, changes = Collector(), Collector()
        watcher.on("destroyed", destroyed)
        watcher.on("change", changes)
        if by_id:
            watchers.destroy(watcher.id)
        else:
            watcher.destroy()
        assert destroyed.next() is None
        deadline = time.monotonic() + DEADLINE
        while watcher.is_active():  # by id, the news comes over the WebSocket
            assert time.monotonic() < deadline
            time.sleep(0.02)
        watcher.destroy()  # idempotent
        (tmp_path / f"after-{by_id}.txt").write_text("x")
        with pytest.raises(queue.Empty):
            changes.next(timeout=0.5)
        assert destroyed.events.empty()
        with pytest.raises(errors.NotFoundError):
            watchers.destroy(watcher.id)


def test_unknown_ids_and_missing_paths(watchers: Watchers, tmp_path: Path) -> None:
    with pytest.raises(errors.NotFoundError):
        watchers.retrieve("watcher_nope")
    with pytest.raises(errors.NotFoundError):
        watchers.destroy("watcher_nope")
    with pytest.raises(errors.PathNotFoundError):
        watchers.create(str(tmp_path / "does-not-exist"))
    with pytest.raises(errors.ValidationError):
        watchers.create(str(tmp_path), encoding="hex")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError):
        watchers.create(str(tmp_path), ignored=[1])  # type: ignore[list-item]


def test_watching_on_a_local_sandbox() -> None:
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        sandbox.filesystem.mkdir("/project/src")
        watcher: FileWatcher = sandbox.watchers.create("/project", ignored=["node_modules"], include_content=True)
        seen = Collector()
        watcher.on("change", seen)
        time.sleep(0.2)
        # Changes made inside the sandbox, by its own processes, are seen.
        sandbox.run_command("mkdir -p /project/node_modules && echo dep > /project/node_modules/d.js"
                            " && printf hi > /project/src/app.ts")
        assert seen.next() == FileChangeEvent("add", "/project/src/app.ts", "hi")
        sandbox.files.create("/project/src/app.ts", "bye")
        assert seen.next() == FileChangeEvent("change", "/project/src/app.ts", "bye")
        assert [w.id for w in sandbox.watchers.list()] == [watcher.id]
        watcher.destroy()
        assert sandbox.watchers.list() == []
        with pytest.raises(errors.NotFoundError):
            sandbox.watchers.retrieve(watcher.id)
    finally:
        sandbox.destroy()
