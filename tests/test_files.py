"""``sandbox.files`` against a real daemon on loopback, and end to end on the local provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from computesdk_daemon.testing import DaemonProcess

from computesdk_core import compute, errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.namespaces.files import BatchWriteResult, Files
from computesdk_core.types import DaemonEndpoint, FileInfo


@pytest.fixture
def files(daemon: DaemonProcess) -> Iterator[Files]:
    client = DaemonClient(DaemonEndpoint(daemon.url, daemon.token), name="files-test")
    yield Files(lambda: client)
    client.close()


def test_create_returns_file_info(files: Files, tmp_path: Path) -> None:
    info = files.create(str(tmp_path / "project" / "hello.txt"), "Hello, World!")
    assert isinstance(info, FileInfo)
    assert (info.name, info.path, info.size, info.is_dir) == ("hello.txt", str(tmp_path / "project" / "hello.txt"), 13, False)
    assert info.modified_at.tzinfo is not None
    assert abs((dt.datetime.now(dt.timezone.utc) - info.modified_at).total_seconds()) < 60
    assert files.create(str(tmp_path / "project" / "empty.txt")).size == 0
    assert (tmp_path / "project" / "empty.txt").read_text() == ""


def test_bytes_and_text_round_trip(files: Files, tmp_path: Path) -> None:
    files.create(str(tmp_path / "b.bin"), bytes(range(256)))
    assert (tmp_path / "b.bin").read_bytes() == bytes(range(256))
    files.create(str(tmp_path / "t.txt"), "zß中\n")
    assert files.retrieve(str(tmp_path / "t.txt")) == "zß中\n"
    files.create(str(tmp_path / "t.txt"), "overwritten")
    assert files.retrieve(str(tmp_path / "t.txt")) == "overwritten"


def test_list_exists_destroy(files: Files, tmp_path: Path) -> None:
    files.create(str(tmp_path / "d" / "a.txt"), "a")
    files.create(str(tmp_path / "d" / "sub" / "b.txt"), "bb")
    listed = files.list(str(tmp_path / "d"))
    assert [(f.name, f.is_dir) for f in listed] == [("a.txt", False), ("sub", True)]
    assert files.exists(str(tmp_path / "d" / "sub")) and files.exists(str(tmp_path / "d" / "a.txt"))
    assert not files.exists(str(tmp_path / "d" / "nope.txt"))
    files.destroy(str(tmp_path / "d"))
    assert not files.exists(str(tmp_path / "d")) and not (tmp_path / "d").exists()
    assert any(f.name == "tmp" for f in files.list())


def test_missing_paths_are_path_not_found(files: Files, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    for call in (lambda: files.retrieve(missing), lambda: files.destroy(missing), lambda: files.list(missing)):
        with pytest.raises(errors.PathNotFoundError) as caught:
            call()
        assert isinstance(caught.value, FileNotFoundError) and "missing" in str(caught.value)


def test_batch_write(files: Files, tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("old")
    results = files.batch_write([
        {"path": str(tmp_path / "new.txt"), "operation": "write", "content": "New file"},
        {"path": str(tmp_path / "old.txt"), "operation": "delete"},
        {"path": str(tmp_path / "config.txt"), "operation": "write", "content": "First version"},
        {"path": str(tmp_path / "bin.dat"), "operation": "write", "content": b"\x00\xff"},
        {"path": str(tmp_path / "config.txt"), "operation": "write", "content": "Final version"},
    ])
    assert [r.path for r in results] == sorted(str(tmp_path / n) for n in ("new.txt", "old.txt", "config.txt", "bin.dat"))
    assert all(isinstance(r, BatchWriteResult) and r.success and r.error is None for r in results)
    by_path = {r.path: r for r in results}
    written = by_path[str(tmp_path / "config.txt")].file
    assert written is not None and written.size == len("Final version")
    assert by_path[str(tmp_path / "old.txt")].file is None
    assert files.retrieve(str(tmp_path / "config.txt")) == "Final version"
    assert (tmp_path / "bin.dat").read_bytes() == b"\x00\xff"
    assert not (tmp_path / "old.txt").exists()


def test_batch_with_one_invalid_operation_applies_the_rest(files: Files, tmp_path: Path) -> None:
    results = files.batch_write([
        {"path": str(tmp_path / "a.txt"), "operation": "write", "content": "A"},
        {"path": str(tmp_path / "b.txt"), "operation": "append", "content": "B"},
        {"path": str(tmp_path / "c.txt"), "operation": "write", "content": "C"},
    ])
    outcome = {Path(r.path).name: (r.success, r.error) for r in results}
    assert outcome["a.txt"] == (True, None) and outcome["c.txt"] == (True, None)
    assert outcome["b.txt"][0] is False and "append" in (outcome["b.txt"][1] or "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "c.txt"]


def test_bad_batch_input_is_refused_before_sending(files: Files) -> None:
    for bad in ("a.txt", {"path": "a.txt"}, [{"operation": "write"}], [{"path": ""}], ["a.txt"]):
        with pytest.raises(errors.ValidationError):
            files.batch_write(bad)  # type: ignore[arg-type]


def test_files_on_a_local_sandbox() -> None:
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        info = sandbox.files.create("/project/hello.txt", "Hello, World!")
        assert (info.name, info.size) == ("hello.txt", 13)
        assert sandbox.files.retrieve("/project/hello.txt") == "Hello, World!"
        results = sandbox.files.batch_write([
            {"path": "/project/a.txt", "operation": "write", "content": "A"},
            {"path": "/project/hello.txt", "operation": "delete"},
        ])
        assert [(r.path, r.success) for r in results] == [("/project/a.txt", True), ("/project/hello.txt", True)]
        assert [f.name for f in sandbox.files.list("/project")] == ["a.txt"]
        # The sandbox's own shell sees what the files API wrote.
        assert sandbox.run_command("cat /project/a.txt").stdout == "A"
        assert not sandbox.files.exists("/project/hello.txt")
        with pytest.raises(errors.PathNotFoundError):
            sandbox.files.retrieve("/project/hello.txt")
    finally:
        sandbox.destroy()
