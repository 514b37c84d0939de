"""Files through the sandbox API's ``/filesystem/{path}`` routes (absolute paths percent-encoded).

Reads ask for raw bytes; writes send UTF-8 text as JSON ``content`` and other bytes as multipart
form data (the server creates missing parents either way); mkdir is ``isDirectory`` (like
``mkdir -p``); a listing is the ``Directory`` JSON the same GET answers for a directory; removal
is recursive. A 404 is a missing path.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from computesdk_blaxel.api import BlaxelAPI
from computesdk_core import errors
from computesdk_core.types import FileEntry


def _missing(path: str, cause: BaseException) -> errors.PathNotFoundError:
    error = errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}")
    error.__cause__ = cause
    return error


def read(api: BlaxelAPI, base: str, path: str) -> bytes:
    """A file's bytes; PathNotFoundError when it does not exist."""
    try:
        return api.read_file(base, path)
    except errors.SandboxNotFoundError:
        raise
    except errors.NotFoundError as exc:
        raise _missing(path, exc) from exc


def write(api: BlaxelAPI, base: str, path: str, content: bytes) -> None:
    """Create or replace a file, making missing parent directories."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        api.write_bytes(base, path, content)
        return
    api.write_text(base, path, text)


def mkdir(api: BlaxelAPI, base: str, path: str) -> None:
    """Create a directory and its parents; an existing one is fine."""
    api.make_directory(base, path)


def readdir(api: BlaxelAPI, base: str, path: str) -> list[FileEntry]:
    """The direct children of a directory; PathNotFoundError when it does not exist."""
    try:
        listing = api.stat(base, path)
    except errors.SandboxNotFoundError:
        raise
    except errors.NotFoundError as exc:
        raise _missing(path, exc) from exc
    if "files" not in listing and "subdirectories" not in listing:
        raise errors.ValidationError(f"not a directory in the sandbox: {path}")
    entries = [_entry(item, "file") for item in listing.get("files") or []]
    entries += [_entry(item, "directory") for item in listing.get("subdirectories") or []]
    return sorted(entries, key=lambda entry: entry.name)


def exists(api: BlaxelAPI, base: str, path: str) -> bool:
    """Whether the path exists (a HEAD-like GET; 404 means no)."""
    try:
        api.stat(base, path)
    except errors.SandboxNotFoundError:
        raise
    except errors.NotFoundError:
        return False
    return True


def remove(api: BlaxelAPI, base: str, path: str) -> None:
    """Remove a file or a directory tree; PathNotFoundError when it does not exist."""
    try:
        api.remove(base, path)
    except errors.SandboxNotFoundError:
        raise
    except errors.NotFoundError as exc:
        raise _missing(path, exc) from exc


def _entry(item: dict[str, Any], kind: str) -> FileEntry:
    size = item.get("size")
    return FileEntry(name=str(item.get("name")), type="directory" if kind == "directory" else "file",
                     size=size if isinstance(size, int) and kind == "file" else 0,
                     modified=_modified(item.get("lastModified")))


def _modified(value: Any) -> dt.datetime:
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
        except ValueError:
            pass
    # Subdirectories carry no time in a listing.
    return dt.datetime.now(dt.timezone.utc)
