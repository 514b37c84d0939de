"""``sandbox.files``: resource-style file operations (create, list, retrieve, destroy, exists, batch)."""

from __future__ import annotations

import base64
import builtins
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.protocol import encode_file_path
from computesdk_core.types import FileInfo
from computesdk_core.wire import structure

__all__ = ["BatchWriteResult", "FileInfo", "Files"]


@attrs.frozen
class BatchWriteResult:
    """The outcome of one path of :meth:`Files.batch_write`: ``file`` when a write succeeded,
    ``error`` when the operation failed."""

    path: str
    success: bool
    error: str | None = None
    file: FileInfo | None = None


def _content_fields(content: str | bytes | None) -> dict[str, str]:
    """Text goes as it is; bytes go as base64 so that every byte value survives."""
    if content is None:
        return {"content": ""}
    if isinstance(content, (bytes, bytearray, memoryview)):
        return {"content": base64.b64encode(bytes(content)).decode("ascii"), "encoding": "base64"}
    if isinstance(content, str):
        return {"content": content}
    raise errors.ValidationError(f"content must be str or bytes, not {type(content).__name__}")


def _check_path(path: Any) -> str:
    if not isinstance(path, str) or not path:
        raise errors.ValidationError("path must be a non-empty string")
    return path


class Files:
    """Files of the sandbox as resources. Relative paths are taken from the sandbox's work directory."""

    def __init__(self, daemon: Callable[[], DaemonClient]) -> None:
        """``daemon`` returns the sandbox's current daemon client (called for every operation)."""
        self._daemon = daemon

    def __repr__(self) -> str:
        return "Files()"

    def _path_call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return self._daemon().http.data(method, "/files/" + encode_file_path(_check_path(path)), **kwargs)
        except errors.PathNotFoundError:
            raise
        except errors.NotFoundError as exc:
            raise errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}",
                                           status_code=404, provider="daemon", request_id=None) from exc

    def create(self, path: str, content: str | bytes | None = None) -> FileInfo:
        """Create or overwrite a file (parent directories are created); no content makes it empty."""
        body = {"path": _check_path(path), **_content_fields(content)}
        data = self._daemon().http.data("POST", "/files", json=body)
        return structure(data["file"], FileInfo)

    def list(self, path: str = "/") -> list[FileInfo]:
        """The direct children of a directory, sorted by name."""
        try:
            data = self._daemon().http.data("GET", "/files", params={"path": _check_path(path)})
        except errors.NotFoundError as exc:
            raise errors.PathNotFoundError(f"no such directory in the sandbox: {path}",
                                           status_code=404, provider="daemon", request_id=None) from exc
        return [structure(item, FileInfo) for item in data.get("files", [])]

    def retrieve(self, path: str) -> str:
        """A file's content as text (bytes that are not UTF-8 become U+FFFD)."""
        data = self._path_call("GET", path, params={"content": "true"})
        content = data.get("content") or ""
        if data.get("encoding") == "base64":
            return base64.b64decode(content).decode("utf-8", errors="replace")
        return str(content)

    def destroy(self, path: str) -> None:
        """Delete a file, or a directory with everything in it; PathNotFoundError when it is missing."""
        self._path_call("DELETE", path)

    def exists(self, path: str) -> bool:
        """Whether a file or directory exists; never raises for a missing path."""
        try:
            self._daemon().http.request("HEAD", "/files/" + encode_file_path(_check_path(path)))
        except errors.NotFoundError:
            return False
        return True

    def batch_write(self, files: Sequence[Mapping[str, Any]]) -> builtins.list[BatchWriteResult]:
        """Write or delete several files in one call: ``[{"path", "operation": "write"|"delete", "content"}]``.

        The last entry for a path wins and paths are applied in sorted order, while the daemon
        keeps other writes of those paths out. One entry failing (an unknown operation, a
        missing file to delete) fails only its own result; the others are applied.
        """
        if isinstance(files, (str, bytes)) or not isinstance(files, Sequence):
            raise errors.ValidationError("batch_write takes a list of {'path', 'operation', 'content'} dicts")
        entries: builtins.list[dict[str, Any]] = []
        for index, entry in enumerate(files):
            if not isinstance(entry, Mapping):
                raise errors.ValidationError(f"files[{index}] must be a dict with 'path' and 'operation'")
            path = entry.get("path")
            if not isinstance(path, str) or not path:
                raise errors.ValidationError(f"files[{index}] needs a non-empty string 'path'")
            item: dict[str, Any] = {"path": path, "operation": entry.get("operation")}
            if entry.get("operation") == "write":
                item.update(_content_fields(entry.get("content")))
            entries.append(item)
        data = self._daemon().http.data("POST", "/files/batch", json={"files": entries})
        return [
            BatchWriteResult(
                path=result.get("path", ""),
                success=bool(result.get("success")),
                error=result.get("error"),
                file=structure(result["file"], FileInfo) if result.get("file") else None,
            )
            for result in data.get("results", [])
        ]
