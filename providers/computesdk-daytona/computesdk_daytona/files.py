"""Files through the toolbox's file endpoints (binary-safe), mapped onto the filesystem hooks."""

from __future__ import annotations

import posixpath
from typing import Any

from urllib3 import encode_multipart_formdata

from computesdk_core import errors
from computesdk_core.types import FileEntry
from computesdk_daytona.handle import DaytonaSandbox
from computesdk_daytona.records import parse_time

_FOLDER_MODE = "755"


def _missing(path: str) -> errors.PathNotFoundError:
    return errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}")


def _call(box: DaytonaSandbox, method: str, path: str, missing: str | None = None, **kwargs: Any) -> Any:
    try:
        return box.client.toolbox(method, box.toolbox_url, path, **kwargs)
    except errors.NotFoundError:
        if missing is None:
            raise
        raise _missing(missing) from None


def read_file(box: DaytonaSandbox, path: str) -> bytes:
    """``GET /files/download``: the file's bytes."""
    return bytes(_call(box, "GET", "/files/download", missing=path, params={"path": path}).content)


def mkdir(box: DaytonaSandbox, path: str) -> None:
    """``POST /files/folder`` (it creates parents and accepts an existing directory)."""
    _call(box, "POST", "/files/folder", params={"path": path, "mode": _FOLDER_MODE}, idempotent=True)


def write_file(box: DaytonaSandbox, path: str, content: bytes) -> None:
    """Create the parent directory, then ``POST /files/upload`` with one multipart part ``file``."""
    parent = posixpath.dirname(path)
    if parent and parent != "/":
        mkdir(box, parent)
    body, content_type = encode_multipart_formdata({"file": (posixpath.basename(path) or "file", content,
                                                             "application/octet-stream")})
    _call(box, "POST", "/files/upload", params={"path": path}, data=body,
          headers={"Content-Type": content_type}, idempotent=True)


def readdir(box: DaytonaSandbox, path: str) -> list[FileEntry]:
    """``GET /files``: the directory's entries, sorted by name."""
    items = _call(box, "GET", "/files", missing=path, params={"path": path}).json()
    if not isinstance(items, list):
        raise errors.ProviderAPIError(f"daytona: listing {path} did not give a list", status_code=None,
                                      provider="daytona", request_id=None)
    entries = [
        FileEntry(name=str(item["name"]), type="directory" if item.get("isDir") else "file",
                  size=int(item.get("size") or 0), modified=parse_time(item.get("modifiedAt")))
        for item in items
    ]
    return sorted(entries, key=lambda entry: entry.name)


def exists(box: DaytonaSandbox, path: str) -> bool:
    """``GET /files/info``: 200 when the path exists, 404 when not."""
    try:
        _call(box, "GET", "/files/info", params={"path": path})
    except errors.NotFoundError:
        return False
    return True


def remove(box: DaytonaSandbox, path: str) -> None:
    """``DELETE /files?recursive=true``: a file or a whole tree."""
    _call(box, "DELETE", "/files", missing=path, params={"path": path, "recursive": "true"})
