"""POST /files/batch against the real daemon: last entry per path wins, sorted order, per-file results."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

from computesdk_daemon.testing import DaemonProcess


def batch(daemon: DaemonProcess, files: Any) -> tuple[int, list[dict[str, Any]]]:
    response = daemon.request("POST", "/files/batch", json={"files": files})
    body = response.json()
    assert set(body) == {"message", "data"}, body
    return response.status_code, body["data"]["results"]


def test_writes_and_deletes_in_path_order(daemon: DaemonProcess, tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("old")
    status, results = batch(daemon, [
        {"path": str(tmp_path / "c" / "new.txt"), "operation": "write", "content": "New file"},
        {"path": str(tmp_path / "old.txt"), "operation": "delete"},
        {"path": str(tmp_path / "a.bin"), "operation": "write",
         "content": base64.b64encode(b"\x00\xff").decode(), "encoding": "base64"},
    ])
    assert status == 200
    assert [r["path"] for r in results] == sorted(str(tmp_path / n) for n in ("c/new.txt", "old.txt", "a.bin"))
    assert all(r["success"] for r in results) and not any("error" in r for r in results)
    by_path = {r["path"]: r for r in results}
    assert by_path[str(tmp_path / "c" / "new.txt")]["file"]["size"] == len("New file")
    assert by_path[str(tmp_path / "a.bin")]["file"]["name"] == "a.bin"
    assert "file" not in by_path[str(tmp_path / "old.txt")]
    assert (tmp_path / "c" / "new.txt").read_text() == "New file"
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\xff"
    assert not (tmp_path / "old.txt").exists()


def test_last_operation_per_path_wins(daemon: DaemonProcess, tmp_path: Path) -> None:
    target = str(tmp_path / "config.txt")
    status, results = batch(daemon, [
        {"path": target, "operation": "write", "content": "First version"},
        {"path": target, "operation": "write", "content": "Second version"},
        {"path": target, "operation": "write", "content": "Final version"},
    ])
    assert status == 200 and len(results) == 1
    assert (tmp_path / "config.txt").read_text() == "Final version"
    status, results = batch(daemon, [
        {"path": target, "operation": "delete"},
        {"path": target, "operation": "write", "content": "back"},
    ])
    assert status == 200 and (tmp_path / "config.txt").read_text() == "back"
    status, results = batch(daemon, [
        {"path": target, "operation": "write", "content": "ignored"},
        {"path": target, "operation": "delete"},
    ])
    assert status == 200 and not (tmp_path / "config.txt").exists()


def test_one_invalid_entry_fails_alone_with_207(daemon: DaemonProcess, tmp_path: Path) -> None:
    status, results = batch(daemon, [
        {"path": str(tmp_path / "a.txt"), "operation": "write", "content": "A"},
        {"path": str(tmp_path / "b.txt"), "operation": "rename"},
        {"operation": "write", "content": "no path"},
        {"path": str(tmp_path / "missing.txt"), "operation": "delete"},
        {"path": str(tmp_path / "c.txt"), "operation": "write", "content": "!!", "encoding": "base64"},
        {"path": str(tmp_path / "d.txt"), "operation": "write", "content": "D"},
    ])
    assert status == 207
    outcome = {r["path"]: (r["success"], r.get("error", "")) for r in results}
    assert outcome[str(tmp_path / "a.txt")] == (True, "")
    assert outcome[str(tmp_path / "d.txt")] == (True, "")
    assert outcome[str(tmp_path / "b.txt")][0] is False and "rename" in outcome[str(tmp_path / "b.txt")][1]
    assert outcome[""][0] is False and "path" in outcome[""][1]
    assert outcome[str(tmp_path / "missing.txt")][0] is False and "no such file" in outcome[str(tmp_path / "missing.txt")][1]
    assert outcome[str(tmp_path / "c.txt")][0] is False and "base64" in outcome[str(tmp_path / "c.txt")][1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "d.txt"]


def test_relative_paths_resolve_against_the_workdir(daemon: DaemonProcess) -> None:
    status, results = batch(daemon, [{"path": "batch/rel.txt", "operation": "write", "content": "r"}])
    assert status == 200
    assert results[0]["path"] == "batch/rel.txt"
    assert results[0]["file"]["path"] == str(daemon.workdir / "batch" / "rel.txt")
    assert (daemon.workdir / "batch" / "rel.txt").read_text() == "r"


def test_malformed_batches_are_400(daemon: DaemonProcess) -> None:
    for body in ({}, {"files": "a.txt"}, {"files": {"path": "a"}}):
        response = daemon.request("POST", "/files/batch", json=body)
        assert response.status_code == 400 and "files" in response.json()["error"], body


def test_concurrent_batches_never_interleave(daemon: DaemonProcess, tmp_path: Path) -> None:
    """Each batch writes its own tag into every file; afterwards all files carry one tag."""
    names = [str(tmp_path / f"f{i:02d}.txt") for i in range(20)]
    problems: list[str] = []

    def run(tag: str) -> None:
        for _ in range(5):
            response = daemon.request("POST", "/files/batch", json={
                "files": [{"path": name, "operation": "write", "content": tag * 20000} for name in names]})
            if response.status_code != 200:
                problems.append(response.text)

    threads = [threading.Thread(target=run, args=(tag,), name=f"batch-{tag}", daemon=True) for tag in "xyz"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not problems
    contents = {Path(name).read_text() for name in names}
    assert len(contents) == 1, "a batch's files were mixed with another batch's"
