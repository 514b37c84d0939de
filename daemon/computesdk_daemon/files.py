"""The file endpoints: list, write, read (text or base64), exists, delete, and batches of writes.

File paths in URLs follow computesdk_core.protocol.paths: ``/files//abs/path`` for an absolute
path, ``/files/rel/path`` for one relative to the work directory. The tail is taken from the
raw URL so that neither merged slashes nor an encoded ``%2F`` change the path.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import os
import shutil
import stat
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from computesdk_core.protocol import decode_file_path
from computesdk_core.wire import format_datetime
from computesdk_daemon import openapi
from computesdk_daemon.config import CONFIG
from computesdk_daemon.errors import ApiError
from computesdk_daemon.request_body import get_str, read_object, require_str
from computesdk_daemon.responses import wrapped

_PREFIX = "/files/"
_TRUE = frozenset({"1", "true", "yes"})
_ENCODINGS = ("raw", "base64")
_BATCH_OPERATIONS = ("write", "delete")


class PathLocks:
    """One asyncio lock per file path, so that writes and deletes of one path never interleave.

    A batch takes the locks of all its paths (in sorted order, so two batches cannot deadlock)
    after the batch lock, which lets one batch at a time hold several paths.
    """

    def __init__(self) -> None:
        self.batch = asyncio.Lock()
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def hold(self, paths: Iterable[str]) -> AsyncIterator[None]:
        """Hold the locks of ``paths`` (taken in sorted order) for the body of the ``async with``."""
        ordered = sorted(set(paths))
        for path in ordered:
            self._users[path] = self._users.get(path, 0) + 1
        taken: list[asyncio.Lock] = []
        try:
            for path in ordered:
                lock = self._locks.setdefault(path, asyncio.Lock())
                await lock.acquire()
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()
            for path in ordered:
                # Forget locks nobody waits for, so the table does not grow with every path ever written.
                self._users[path] -= 1
                if not self._users[path]:
                    del self._users[path]
                    del self._locks[path]


PATH_LOCKS = web.AppKey("file_path_locks", PathLocks)


def resolve(request: web.Request, path: str) -> str:
    """An absolute, normalised path; relative ones are taken from the work directory."""
    normal = os.path.normpath(os.path.join(request.app[CONFIG].workdir, path))
    # POSIX normpath keeps a leading "//"; a sandbox path never needs it.
    return "/" + normal.lstrip("/")


def url_path(request: web.Request) -> str:
    """The file path a ``/files/<encoded path>`` URL names, resolved."""
    tail = request.raw_path.split("?", 1)[0][len(_PREFIX) :]
    return resolve(request, decode_file_path(tail))


def file_info(path: str) -> dict[str, Any]:
    """FileInfo of an existing path (a broken symlink describes the link itself)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = os.lstat(path)
    modified = dt.datetime.fromtimestamp(st.st_mtime, dt.timezone.utc)
    return {
        "name": os.path.basename(path) or path,
        "path": path,
        "size": st.st_size,
        "is_dir": stat.S_ISDIR(st.st_mode),
        "modified_at": format_datetime(modified),
    }


def _existing_info(path: str) -> dict[str, Any]:
    try:
        return file_info(path)
    except FileNotFoundError:
        raise ApiError(404, f"no such file or directory: {path}") from None


def _list_directory(path: str) -> list[dict[str, Any]]:
    if not os.path.lexists(path):
        raise ApiError(404, f"no such file or directory: {path}")
    if not os.path.isdir(path):
        raise ApiError(400, f"not a directory: {path}")
    entries = []
    for name in sorted(os.listdir(path)):
        try:
            entries.append(file_info(os.path.join(path, name)))
        except FileNotFoundError:
            continue  # removed while listing
    return entries


def _write_file(path: str, content: bytes) -> dict[str, Any]:
    if os.path.isdir(path):
        raise ApiError(400, f"is a directory: {path}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(content)
    return file_info(path)


def _read_file(path: str) -> tuple[dict[str, Any], bytes]:
    info = _existing_info(path)
    if info["is_dir"]:
        raise ApiError(400, f"is a directory: {path}")
    with open(path, "rb") as handle:
        return info, handle.read()


def _delete(path: str) -> None:
    if not os.path.lexists(path):
        raise ApiError(404, f"no such file or directory: {path}")
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


async def list_files(request: web.Request) -> web.Response:
    """GET /files?path=P (default: the work directory)."""
    path = resolve(request, request.query.get("path") or ".")
    files = await asyncio.to_thread(_list_directory, path)
    return wrapped("Files listed", {"files": files, "path": path})


def _content_bytes(body: dict[str, Any]) -> bytes:
    """The bytes ``content`` (text, or base64 when ``encoding`` says so) of a write; 400 when malformed."""
    content = get_str(body, "content", "") or ""
    encoding = get_str(body, "encoding", "raw")
    if encoding not in _ENCODINGS:
        raise ApiError(400, "'encoding' must be 'raw' or 'base64'")
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(400, f"'content' is not valid base64: {exc}") from exc
    return content.encode("utf-8")


async def write_file(request: web.Request) -> web.Response:
    """POST /files {path, content?, encoding?: raw|base64}: create or overwrite (201)."""
    body = await read_object(request)
    path = resolve(request, require_str(body, "path"))
    raw = _content_bytes(body)
    async with request.app[PATH_LOCKS].hold([path]):
        info = await asyncio.to_thread(_write_file, path, raw)
    return wrapped("File written", {"file": info}, status=201)


async def get_file(request: web.Request) -> web.Response:
    """GET /files/<path>[?content=true[&encoding=base64]]."""
    path = url_path(request)
    if request.query.get("content", "").lower() not in _TRUE:
        info = await asyncio.to_thread(_existing_info, path)
        return wrapped("File found", {"file": info})
    encoding = request.query.get("encoding", "raw")
    if encoding not in _ENCODINGS:
        raise ApiError(400, "'encoding' must be 'raw' or 'base64'")
    info, raw = await asyncio.to_thread(_read_file, path)
    if encoding == "base64":
        content = base64.b64encode(raw).decode("ascii")
    else:
        content = raw.decode("utf-8", errors="replace")
    return wrapped("File read", {"file": info, "content": content, "encoding": encoding})


async def file_exists(request: web.Request) -> web.Response:
    """HEAD /files/<path>: 200 if it exists, else 404 (no body either way)."""
    exists = await asyncio.to_thread(os.path.lexists, url_path(request))
    return web.Response(status=200 if exists else 404)


async def delete_file(request: web.Request) -> web.Response:
    """DELETE /files/<path>: 204; directories are removed with their contents."""
    path = url_path(request)
    async with request.app[PATH_LOCKS].hold([path]):
        await asyncio.to_thread(_delete, path)
    return web.Response(status=204)


@dataclass(frozen=True)
class _BatchEntry:
    """One checked entry of a batch: what to do to which path, or why it cannot be done."""

    given: str
    path: str
    operation: str
    content: bytes
    error: str | None


def _batch_entry(request: web.Request, index: int, item: Any) -> _BatchEntry:
    if not isinstance(item, dict):
        return _BatchEntry("", "", "", b"", f"files[{index}] must be an object")
    given = item.get("path")
    if not isinstance(given, str) or not given:
        return _BatchEntry("", "", "", b"", f"files[{index}] needs a non-empty string 'path'")
    path = resolve(request, given)
    operation = item.get("operation")
    if operation not in _BATCH_OPERATIONS:
        return _BatchEntry(given, path, "", b"", f"unknown operation {operation!r}; use 'write' or 'delete'")
    try:
        content = _content_bytes(item) if operation == "write" else b""
    except ApiError as exc:
        return _BatchEntry(given, path, operation, b"", exc.message)
    return _BatchEntry(given, path, str(operation), content, None)


def _apply_batch(entries: list[_BatchEntry]) -> list[dict[str, Any]]:
    """Apply checked entries in order; each one's failure is its own result, the others go on."""
    results: list[dict[str, Any]] = []
    for entry in entries:
        result: dict[str, Any] = {"path": entry.given, "success": False}
        if entry.error is not None:
            result["error"] = entry.error
        else:
            try:
                if entry.operation == "write":
                    result["file"] = _write_file(entry.path, entry.content)
                else:
                    _delete(entry.path)
                result["success"] = True
            except ApiError as exc:
                result["error"] = exc.message
            except OSError as exc:
                result["error"] = f"{exc.strerror or type(exc).__name__}: {entry.path}"
        results.append(result)
    return results


async def batch_files(request: web.Request) -> web.Response:
    """POST /files/batch {files: [{path, operation: write|delete, content?, encoding?}]}.

    The last entry for a path wins; entries are applied in sorted path order while the batch
    holds every path's lock. 200 when all succeeded, 207 when some failed.
    """
    body = await read_object(request)
    items = body.get("files")
    if not isinstance(items, list):
        raise ApiError(400, "'files' must be a list of {path, operation, content?}")
    last: dict[str, _BatchEntry] = {}
    invalid: list[_BatchEntry] = []
    for index, item in enumerate(items):
        entry = _batch_entry(request, index, item)
        if entry.path:
            last[entry.path] = entry
        else:
            invalid.append(entry)
    valid = sorted(last.values(), key=lambda entry: entry.path)
    locks = request.app[PATH_LOCKS]
    async with locks.batch, locks.hold(last):
        results = await asyncio.to_thread(_apply_batch, invalid + valid)
    status = 200 if all(result["success"] for result in results) else 207
    return wrapped("Batch applied" if status == 200 else "Batch partly failed", {"results": results}, status=status)


def setup(app: web.Application) -> None:
    """Register the file routes and the locks that keep writes of one path apart."""
    app[PATH_LOCKS] = PathLocks()
    app.router.add_get("/files", list_files, allow_head=False)
    app.router.add_post("/files", write_file)
    app.router.add_post("/files/batch", batch_files)
    tail = r"/files/{tail:.+}"
    app.router.add_get(tail, get_file, allow_head=False)
    app.router.add_head(tail, file_exists)
    app.router.add_delete(tail, delete_file)


_FILE_INFO = {
    "type": "object",
    "required": ["name", "path", "size", "is_dir", "modified_at"],
    "properties": {
        "name": {"type": "string"}, "path": {"type": "string"}, "size": {"type": "integer"},
        "is_dir": {"type": "boolean"}, "modified_at": {"type": "string", "format": "date-time"},
    },
}
_PATH_TAIL = {
    "name": "tail", "in": "path", "required": True, "schema": {"type": "string"},
    "description": "The file path, each segment percent-encoded; a leading '/' (so '/files//abs') "
                   "means absolute, otherwise relative to the work directory",
}
_ENCODING_FIELD = {"type": "string", "enum": list(_ENCODINGS), "default": "raw"}


def _wrapped(data: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {"message": {"type": "string"}, "data": data},
    }}}}


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_BATCH_RESULTS = {"type": "object", "properties": {"results": {"type": "array", "items": {
    "type": "object", "required": ["path", "success"],
    "properties": {"path": {"type": "string"}, "success": {"type": "boolean"},
                   "error": {"type": "string"}, "file": _FILE_INFO},
}}}}

OPENAPI_PATHS: dict[str, Any] = {
    "/files": {
        "get": {
            "summary": "List a directory (direct children only)",
            "parameters": [{"name": "path", "in": "query", "schema": {"type": "string"},
                            "description": "Directory to list; default: the work directory"}],
            "responses": {
                "200": _wrapped({"type": "object", "properties": {
                    "files": {"type": "array", "items": _FILE_INFO}, "path": {"type": "string"}}},
                    "The entries, sorted by name"),
                **openapi.error_responses(400, 404),
            },
        },
        "post": {
            "summary": "Create or overwrite a file (parent directories are created)",
            "requestBody": _json_body({"type": "object", "required": ["path"], "properties": {
                "path": {"type": "string"}, "content": {"type": "string"}, "encoding": _ENCODING_FIELD}}),
            "responses": {
                "201": _wrapped({"type": "object", "properties": {"file": _FILE_INFO}}, "The file written"),
                **openapi.error_responses(400, 403),
            },
        },
    },
    "/files/batch": {"post": {
        "summary": "Write or delete several files: last entry per path wins, applied in path order",
        "requestBody": _json_body({"type": "object", "required": ["files"], "properties": {"files": {
            "type": "array", "items": {"type": "object", "required": ["path", "operation"], "properties": {
                "path": {"type": "string"}, "operation": {"type": "string", "enum": list(_BATCH_OPERATIONS)},
                "content": {"type": "string"}, "encoding": _ENCODING_FIELD}}}}}),
        "responses": {
            "200": _wrapped(_BATCH_RESULTS, "Every entry succeeded"),
            "207": _wrapped(_BATCH_RESULTS, "Some entries failed; each result says which and why"),
            **openapi.error_responses(400),
        },
    }},
    "/files/{tail}": {
        "get": {
            "summary": "A file's metadata, or with content=true also its content",
            "parameters": [
                _PATH_TAIL,
                {"name": "content", "in": "query", "schema": {"type": "boolean"}},
                {"name": "encoding", "in": "query", "schema": _ENCODING_FIELD},
            ],
            "responses": {
                "200": _wrapped({"type": "object", "properties": {
                    "file": _FILE_INFO, "content": {"type": "string"}, "encoding": _ENCODING_FIELD}},
                    "The file (and its content when asked for)"),
                **openapi.error_responses(400, 404),
            },
        },
        "head": {
            "summary": "Whether a path exists",
            "parameters": [_PATH_TAIL],
            "responses": {"200": {"description": "It exists"}, "404": {"description": "It does not exist"}},
        },
        "delete": {
            "summary": "Delete a file, or a directory with everything in it",
            "parameters": [_PATH_TAIL],
            "responses": {"204": {"description": "Deleted"}, **openapi.error_responses(404)},
        },
    },
}
