"""File watchers against the real daemon: real file-system events arrive on the watcher's channel."""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
from computesdk_daemon.testing import DaemonProcess, DaemonSocket
from computesdk_daemon.watchers import is_ignored

from computesdk_core.protocol import Message

EVENT_DEADLINE = 10.0


def create(daemon: DaemonProcess, path: str | Path, **options: Any) -> dict[str, Any]:
    response = daemon.request("POST", "/watchers", json={"path": str(path), **options})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def subscribed(daemon: DaemonProcess, channel: str, protocol: str = "binary") -> DaemonSocket:
    sock = daemon.ws(protocol)  # type: ignore[arg-type]
    sock.send("subscribe", channel)
    # The subscription is taken in order with the socket's frames; a round trip proves it is in.
    sock.send("no-such-type")
    assert sock.receive().type == "error"
    return sock


def changes(sock: DaemonSocket, count: int, until: float = EVENT_DEADLINE) -> list[dict[str, Any]]:
    """The next ``count`` file:changed payloads (fails past the deadline)."""
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + until
    while len(found) < count:
        left = deadline - time.monotonic()
        assert left > 0, f"only {found} arrived within {until} s"
        message = sock.receive(timeout=left)
        if message.type == "file:changed":
            found.append(dict(message.data))
    return found


def quiet(sock: DaemonSocket, seconds: float = 0.6) -> list[Message]:
    """Whatever arrives within ``seconds`` (for checking that nothing does)."""
    got: list[Message] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            got.append(sock.receive(timeout=left))
        except websocket.WebSocketTimeoutException:
            break
    return got


@pytest.fixture
def watched(tmp_path: Path) -> Path:
    root = tmp_path / "watched"
    root.mkdir()
    return root


@pytest.fixture
def cleanup(daemon: DaemonProcess) -> Iterator[list[str]]:
    ids: list[str] = []
    yield ids
    for watcher_id in ids:
        daemon.request("DELETE", f"/watchers/{watcher_id}")


def test_create_describes_the_watcher(daemon: DaemonProcess, watched: Path, cleanup: list[str]) -> None:
    data = create(daemon, watched, includeContent=True, ignored=["*.log"], encoding="base64")
    cleanup.append(data["id"])
    assert data["id"].startswith("watcher_")
    assert data == {"id": data["id"], "path": str(watched), "includeContent": True, "ignored": ["*.log"],
                    "status": "active", "channel": f"watcher:{data['id']}", "encoding": "base64", "ws_url": "/ws"}
    listed = daemon.request("GET", "/watchers").json()["data"]["watchers"]
    assert [item for item in listed if item["id"] == data["id"]] == [{k: v for k, v in data.items() if k != "ws_url"}]
    assert daemon.request("GET", f"/watchers/{data['id']}").json()["data"] == data


def test_add_change_unlink_and_directories(daemon: DaemonProcess, watched: Path, cleanup: list[str]) -> None:
    data = create(daemon, watched)
    cleanup.append(data["id"])
    sock = subscribed(daemon, data["channel"])
    try:
        (watched / "sub").mkdir()
        assert changes(sock, 1) == [{"event": "addDir", "path": str(watched / "sub")}]
        target = watched / "sub" / "a.txt"
        target.write_text("one")
        assert changes(sock, 1) == [{"event": "add", "path": str(target)}]
        target.write_text("two")
        assert changes(sock, 1) == [{"event": "change", "path": str(target)}]
        target.unlink()
        assert changes(sock, 1) == [{"event": "unlink", "path": str(target)}]
        (watched / "sub").rmdir()
        assert changes(sock, 1) == [{"event": "unlinkDir", "path": str(watched / "sub")}]
    finally:
        sock.close()


def test_content_raw_and_base64(daemon: DaemonProcess, watched: Path, cleanup: list[str]) -> None:
    raw = create(daemon, watched, includeContent=True)
    b64 = create(daemon, watched, includeContent=True, encoding="base64")
    plain = create(daemon, watched)
    cleanup.extend([raw["id"], b64["id"], plain["id"]])
    socks = [subscribed(daemon, w["channel"], "json") for w in (raw, b64, plain)]
    try:
        (watched / "t.txt").write_text("héllo")
        (watched / "b.bin").write_bytes(b"\xff\x00\xfe")
        text_raw, bin_raw = changes(socks[0], 2)
        assert text_raw == {"event": "add", "path": str(watched / "t.txt"), "content": "héllo", "encoding": "raw"}
        # Bytes that are not UTF-8 cannot travel as raw text: the event says base64.
        assert bin_raw["encoding"] == "base64" and base64.b64decode(bin_raw["content"]) == b"\xff\x00\xfe"
        text_b64, _ = changes(socks[1], 2)
        assert text_b64["encoding"] == "base64" and base64.b64decode(text_b64["content"]) == "héllo".encode()
        assert [set(event) for event in changes(socks[2], 2)] == [{"event", "path"}] * 2
    finally:
        for sock in socks:
            sock.close()


def test_ignored_patterns(daemon: DaemonProcess, watched: Path, cleanup: list[str]) -> None:
    data = create(daemon, watched, ignored=["node_modules", "*.log", ".git"])
    cleanup.append(data["id"])
    (watched / "node_modules").mkdir()
    sock = subscribed(daemon, data["channel"])
    try:
        (watched / "node_modules" / "dep.js").write_text("x")
        (watched / "debug.log").write_text("x")
        (watched / ".git").mkdir()
        (watched / ".git" / "HEAD").write_text("ref")
        (watched / "src").mkdir()
        (watched / "src" / "app.log").write_text("x")
        (watched / "src" / "app.js").write_text("x")
        # Events arrive in order, so once app.js is reported the ignored ones would have been too.
        assert changes(sock, 2) == [{"event": "addDir", "path": str(watched / "src")},
                                    {"event": "add", "path": str(watched / "src" / "app.js")}]
    finally:
        sock.close()


def test_is_ignored_matches_relative_absolute_and_segments() -> None:
    root = "/p"
    assert is_ignored("/p/node_modules/a/b.js", root, ["node_modules"])
    assert is_ignored("/p/x/y.log", root, ["*.log"])
    assert is_ignored("/p/x/y.log", root, ["**/*.log"])
    assert is_ignored("/p/dist/a.js", root, ["dist/*"])
    assert is_ignored("/p/a/b.txt", root, ["/p/a/*"])
    assert not is_ignored("/p/src/app.js", root, ["node_modules", "*.log", "dist"])
    assert not is_ignored("/p", root, ["*"])


def test_moves_are_unlink_then_add(daemon: DaemonProcess, watched: Path, cleanup: list[str]) -> None:
    (watched / "old.txt").write_text("x")
    data = create(daemon, watched)
    cleanup.append(data["id"])
    sock = subscribed(daemon, data["channel"])
    try:
        os.rename(watched / "old.txt", watched / "new.txt")
        assert changes(sock, 2) == [{"event": "unlink", "path": str(watched / "old.txt")},
                                    {"event": "add", "path": str(watched / "new.txt")}]
    finally:
        sock.close()


def test_a_single_file_can_be_watched(daemon: DaemonProcess, watched: Path, cleanup: list[str]) -> None:
    target = watched / "only.txt"
    target.write_text("0")
    data = create(daemon, target, includeContent=True)
    cleanup.append(data["id"])
    sock = subscribed(daemon, data["channel"])
    try:
        (watched / "sibling.txt").write_text("not me")
        target.write_text("1")
        assert changes(sock, 1) == [{"event": "change", "path": str(target), "content": "1", "encoding": "raw"}]
    finally:
        sock.close()


def test_a_writer_that_keeps_the_file_open_is_reported(daemon: DaemonProcess, watched: Path,
                                                       cleanup: list[str]) -> None:
    data = create(daemon, watched)
    cleanup.append(data["id"])
    sock = subscribed(daemon, data["channel"])
    try:
        with open(watched / "app.log", "w") as handle:
            handle.write("line\n")
            handle.flush()
            assert changes(sock, 1) == [{"event": "add", "path": str(watched / "app.log")}]
    finally:
        sock.close()


def test_destroy_publishes_and_stops(daemon: DaemonProcess, watched: Path) -> None:
    data = create(daemon, watched)
    sock = subscribed(daemon, data["channel"])
    try:
        assert daemon.request("DELETE", f"/watchers/{data['id']}").status_code == 204
        message = sock.receive(timeout=EVENT_DEADLINE)
        assert (message.type, message.channel, message.data) == ("watcher:destroyed", data["channel"], {"id": data["id"]})
        (watched / "after.txt").write_text("x")
        assert quiet(sock) == []
        assert daemon.request("GET", f"/watchers/{data['id']}").status_code == 404
        assert daemon.request("DELETE", f"/watchers/{data['id']}").status_code == 404
    finally:
        sock.close()


def test_deleting_the_watched_directory_stops_the_watcher(daemon: DaemonProcess, tmp_path: Path,
                                                          cleanup: list[str]) -> None:
    root = tmp_path / "doomed"
    root.mkdir()
    data = create(daemon, root)
    cleanup.append(data["id"])
    sock = subscribed(daemon, data["channel"])
    try:
        shutil.rmtree(root)
        assert changes(sock, 1) == [{"event": "unlinkDir", "path": str(root)}]
        assert daemon.request("GET", f"/watchers/{data['id']}").json()["data"]["status"] == "stopped"
    finally:
        sock.close()


def test_errors(daemon: DaemonProcess, tmp_path: Path) -> None:
    missing = daemon.request("POST", "/watchers", json={"path": str(tmp_path / "nope")})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    for body in ({}, {"path": str(tmp_path), "encoding": "hex"}, {"path": str(tmp_path), "ignored": "x"},
                 {"path": str(tmp_path), "includeContent": "yes"}):
        assert daemon.request("POST", "/watchers", json=body).status_code == 400, body
    assert daemon.request("GET", "/watchers/watcher_unknown").status_code == 404
    assert daemon.request("DELETE", "/watchers/watcher_unknown").status_code == 404


def _inotify_instances(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd) == "anon_inode:inotify"
        except OSError:
            continue  # closed while listing
    return count


def test_destroy_releases_the_observer(start_daemon: Any, tmp_path: Path) -> None:
    daemon = start_daemon()
    (tmp_path / "w").mkdir()
    pid = daemon.process.pid
    before = _inotify_instances(pid)
    ids = [create(daemon, tmp_path / "w")["id"] for _ in range(3)]
    assert _inotify_instances(pid) == before + 3, "each watcher has an observer of its own"
    for watcher_id in ids:
        assert daemon.request("DELETE", f"/watchers/{watcher_id}").status_code == 204
    assert _inotify_instances(pid) == before


def test_the_daemon_stops_cleanly_with_watchers(start_daemon: Any, tmp_path: Path) -> None:
    daemon = start_daemon()
    (tmp_path / "w").mkdir()
    for _ in range(3):
        create(daemon, tmp_path / "w")
    started = time.monotonic()
    # A clean exit (0) within the deadline: the observers were stopped and their threads joined.
    assert daemon.stop() == 0
    assert time.monotonic() - started < 10


def test_a_tree_made_at_once_is_reported_whole(daemon: DaemonProcess, watched: Path, cleanup: list[str]) -> None:
    """Files written into a directory before its watch is in place are still reported (as add)."""
    data = create(daemon, watched)
    cleanup.append(data["id"])
    sock = subscribed(daemon, data["channel"])
    try:
        (watched / "a" / "b").mkdir(parents=True)
        (watched / "a" / "b" / "f.txt").write_text("x")
        (watched / "a" / "g.txt").write_text("y")
        got = {(event["event"], event["path"]) for event in changes(sock, 4)}
        assert got == {("addDir", str(watched / "a")), ("addDir", str(watched / "a" / "b")),
                       ("add", str(watched / "a" / "b" / "f.txt")), ("add", str(watched / "a" / "g.txt"))}
        assert quiet(sock, 0.4) == [], "each path is reported once"
    finally:
        sock.close()
