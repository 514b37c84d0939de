"""Conformance tests of ``sandbox.filesystem``."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Collection
from typing import Any, ClassVar

import pytest

from computesdk_core.errors import PathNotFoundError
from computesdk_core.testing.support import require
from computesdk_core.types import FileEntry

# Each operation that must refuse a missing path, applied to (filesystem, path).
MISSING_PATH_OPERATIONS: dict[str, Callable[[Any, str], Any]] = {
    "read_file": lambda fs, path: fs.read_file(path),
    "read_bytes": lambda fs, path: fs.read_bytes(path),
    "readdir": lambda fs, path: fs.readdir(path),
    "remove": lambda fs, path: fs.remove(path),
}


class FilesystemTests:
    """read/write (text and bytes), mkdir, readdir, exists, remove and missing paths."""

    provider: ClassVar[str]

    @pytest.fixture
    def fs(self, sandbox: Any, capabilities: Collection[str]) -> Any:
        """The shared sandbox's filesystem; skips when the provider has none."""
        require(capabilities, "filesystem", self.provider)
        return sandbox.filesystem

    def test_text_round_trip(self, fs: Any, scratch: str) -> None:
        """Text written is read back identically, newlines and non-ASCII included."""
        text = "hello\nwörld ✓ 日本\r\n\ttabs and trailing spaces  \n"
        fs.write_file(f"{scratch}/note.txt", text)
        assert fs.read_file(f"{scratch}/note.txt") == text

    def test_write_replaces_the_whole_file(self, fs: Any, scratch: str) -> None:
        """Writing a shorter content over a file leaves nothing of the old one."""
        path = f"{scratch}/log.txt"
        fs.write_file(path, "first entry, quite long")
        fs.write_file(path, "second")
        assert fs.read_file(path) == "second"

    def test_empty_file_round_trip(self, fs: Any, scratch: str) -> None:
        """An empty file exists and reads back as empty."""
        fs.write_file(f"{scratch}/empty", "")
        assert fs.exists(f"{scratch}/empty")
        assert fs.read_file(f"{scratch}/empty") == ""
        assert fs.read_bytes(f"{scratch}/empty") == b""

    def test_every_byte_value_round_trips_through_read_bytes(self, fs: Any, scratch: str) -> None:
        """All 256 byte values (NUL, invalid UTF-8...) come back unchanged from ``read_bytes``."""
        data = bytes(range(256)) * 4
        fs.write_file(f"{scratch}/all-bytes.bin", data)
        assert fs.read_bytes(f"{scratch}/all-bytes.bin") == data

    def test_large_binary_file_round_trips(self, fs: Any, scratch: str) -> None:
        """A 2 MB random binary file comes back byte for byte."""
        data = os.urandom(2 * 1024 * 1024 + 7)
        fs.write_file(f"{scratch}/large.bin", data)
        assert fs.read_bytes(f"{scratch}/large.bin") == data

    def test_bytes_written_are_read_as_utf8_text(self, fs: Any, scratch: str) -> None:
        """Bytes of UTF-8 text written with ``write_file`` read back as that text."""
        text = "naïve café ✓ 🚀"
        fs.write_file(f"{scratch}/utf8.txt", text.encode("utf-8"))
        assert fs.read_file(f"{scratch}/utf8.txt") == text

    def test_write_file_creates_missing_parent_directories(self, fs: Any, scratch: str) -> None:
        """Writing below directories that do not exist yet creates them."""
        fs.write_file(f"{scratch}/new/deeper/file.txt", "deep")
        assert fs.read_file(f"{scratch}/new/deeper/file.txt") == "deep"

    def test_filesystem_and_commands_see_the_same_files(
        self, sandbox: Any, fs: Any, scratch: str
    ) -> None:
        """A file written through the filesystem is seen by a command, and the other way round."""
        fs.write_file(f"{scratch}/from-fs.txt", "from fs\n")
        assert sandbox.run_command(f"cat '{scratch}/from-fs.txt'", timeout=30).stdout == "from fs\n"
        sandbox.run_command(f"echo from command > '{scratch}/from-cmd.txt'", timeout=30)
        assert fs.read_file(f"{scratch}/from-cmd.txt") == "from command\n"

    @pytest.mark.parametrize(
        "name",
        ["with space.txt", "ünïcødé ✓.txt", "日本語", "quote's \"and\" $dollar", "#hash%25&?.txt"],
        ids=["space", "accents", "cjk", "quotes-dollar", "url-special"],
    )
    def test_awkward_file_names(self, fs: Any, scratch: str, name: str) -> None:
        """Names with spaces, non-ASCII, quotes and URL-special characters work everywhere."""
        path = f"{scratch}/{name}"
        fs.write_file(path, name)
        assert fs.exists(path)
        assert fs.read_file(path) == name
        assert [entry.name for entry in fs.readdir(scratch)] == [name]
        fs.remove(path)
        assert not fs.exists(path)

    def test_mkdir_creates_parents_and_accepts_an_existing_directory(
        self, fs: Any, scratch: str
    ) -> None:
        """``mkdir`` makes every missing parent, and a second call on it is no error."""
        fs.mkdir(f"{scratch}/a/b/c")
        assert fs.exists(f"{scratch}/a/b/c")
        fs.mkdir(f"{scratch}/a/b/c")
        fs.mkdir(f"{scratch}/a")
        assert [(e.name, e.type) for e in fs.readdir(f"{scratch}/a/b")] == [("c", "directory")]

    def test_readdir_lists_direct_children_with_type_and_size(self, fs: Any, scratch: str) -> None:
        """``readdir`` gives each direct child once, with its type, size and a tz-aware time."""
        fs.write_file(f"{scratch}/five.txt", "12345")
        fs.write_file(f"{scratch}/sub/inner.txt", "not listed")
        fs.mkdir(f"{scratch}/empty-dir")
        entries = {entry.name: entry for entry in fs.readdir(scratch)}
        assert sorted(entries) == ["empty-dir", "five.txt", "sub"]
        assert all(isinstance(entry, FileEntry) for entry in entries.values())
        assert (entries["five.txt"].type, entries["five.txt"].size) == ("file", 5)
        assert entries["sub"].type == entries["empty-dir"].type == "directory"
        modified = entries["five.txt"].modified
        assert isinstance(modified, dt.datetime) and modified.utcoffset() is not None
        assert abs(modified - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)
        assert fs.readdir(f"{scratch}/empty-dir") == []

    def test_exists_is_true_for_files_and_directories_and_false_otherwise(
        self, fs: Any, scratch: str
    ) -> None:
        """``exists`` answers True or False, and never raises for a missing path."""
        fs.write_file(f"{scratch}/present.txt", "x")
        assert fs.exists(f"{scratch}/present.txt") is True
        assert fs.exists(scratch) is True
        assert fs.exists(f"{scratch}/absent.txt") is False
        assert fs.exists(f"{scratch}/absent-dir/absent.txt") is False

    def test_remove_deletes_a_file(self, fs: Any, scratch: str) -> None:
        """A removed file no longer exists, and its siblings stay."""
        fs.write_file(f"{scratch}/gone.txt", "x")
        fs.write_file(f"{scratch}/kept.txt", "y")
        fs.remove(f"{scratch}/gone.txt")
        assert not fs.exists(f"{scratch}/gone.txt")
        assert fs.read_file(f"{scratch}/kept.txt") == "y"

    def test_remove_deletes_a_directory_tree(self, fs: Any, scratch: str) -> None:
        """Removing a directory removes everything below it."""
        fs.write_file(f"{scratch}/tree/a/b/deep.txt", "x")
        fs.write_file(f"{scratch}/tree/top.txt", "y")
        fs.mkdir(f"{scratch}/tree/empty")
        fs.remove(f"{scratch}/tree")
        assert not fs.exists(f"{scratch}/tree")
        assert fs.readdir(scratch) == []

    @pytest.mark.parametrize("operation", list(MISSING_PATH_OPERATIONS))
    def test_missing_path_raises_path_not_found(self, fs: Any, scratch: str, operation: str) -> None:
        """Reading, listing or removing a missing path raises PathNotFoundError, a FileNotFoundError."""
        missing = f"{scratch}/does-not-exist"
        with pytest.raises(PathNotFoundError) as caught:
            MISSING_PATH_OPERATIONS[operation](fs, missing)
        assert isinstance(caught.value, FileNotFoundError)
        assert "does-not-exist" in str(caught.value)
