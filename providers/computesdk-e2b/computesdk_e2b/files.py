"""Files through envd: ``/files`` for content, ``filesystem.Filesystem`` RPCs for the rest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from computesdk_core import errors
from computesdk_core.types import FileEntry, FileType
from computesdk_e2b.envd import Envd
from computesdk_e2b.times import parse_time

FS = "filesystem.Filesystem"


def _missing(path: str, exc: errors.NotFoundError) -> errors.PathNotFoundError:
    return errors.PathNotFoundError(f"no such file or directory in the sandbox: {path} ({exc.message})")


def read_file(envd: Envd, path: str) -> bytes:
    """The file's bytes."""
    try:
        return envd.download(path)
    except errors.NotFoundError as exc:
        raise _missing(path, exc) from None


def write_file(envd: Envd, path: str, content: bytes) -> None:
    """Create or replace the file; envd makes the missing parents."""
    envd.upload(path, content)


def mkdir(envd: Envd, path: str) -> None:
    """Make the directory with its parents; one already there is fine."""
    try:
        envd.call(f"{FS}/MakeDir", {"path": path}, idempotent=True)
    except errors.ProviderAPIError as exc:
        if exc.status_code != 409:  # already_exists
            raise


def readdir(envd: Envd, path: str) -> list[FileEntry]:
    """The directory's direct children, sorted by name."""
    try:
        found = envd.call(f"{FS}/ListDir", {"path": path, "depth": 1}, idempotent=True)
    except errors.NotFoundError as exc:
        raise _missing(path, exc) from None
    entries = [_entry(item) for item in found.get("entries", [])]
    return sorted(entries, key=lambda entry: entry.name)


def exists(envd: Envd, path: str) -> bool:
    """Whether the path exists (``Stat``)."""
    try:
        envd.call(f"{FS}/Stat", {"path": path}, idempotent=True)
    except errors.NotFoundError:
        return False
    return True


def remove(envd: Envd, path: str) -> None:
    """Remove a file or a directory tree; a missing path is an error, as the core's contract says."""
    if not exists(envd, path):
        raise errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}")
    try:
        envd.call(f"{FS}/Remove", {"path": path}, idempotent=False)
    except errors.NotFoundError as exc:
        raise _missing(path, exc) from None


def _entry(item: dict[str, Any]) -> FileEntry:
    kind: FileType = "directory" if item.get("type") == "FILE_TYPE_DIRECTORY" else "file"
    modified = item.get("modifiedTime")
    when = parse_time(modified) or dt.datetime.fromtimestamp(0, dt.timezone.utc)
    # proto3 JSON writes int64 as a string and leaves out zero values.
    return FileEntry(name=str(item.get("name", "")), type=kind, size=int(item.get("size", 0) or 0), modified=when)
