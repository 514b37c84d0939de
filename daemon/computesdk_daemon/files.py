"""The file endpoints: list, write, read (text or base64), exists, delete.

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
from pathlib import Path
from typing import Any

from aiohttp import web

from computesdk_core.protocol import decode_file_path
from computesdk_core.wire import format_datetime
from computesdk_daemon.config import CONFIG
from computesdk_daemon.errors import ApiError
from computesdk_daemon.request_body import get_str, read_object, require_str
from computesdk_daemon.responses import wrapped

_PREFIX = "/files/"
_TRUE = frozenset({"1", "true", "yes"})
_ENCODINGS = ("raw", "base64")


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


async def write_file(request: web.Request) -> web.Response:
    """POST /files {path, content?, encoding?: raw|base64}: create or overwrite (201)."""
    body = await read_object(request)
    path = resolve(request, require_str(body, "path"))
    content = get_str(body, "content", "") or ""
    encoding = get_str(body, "encoding", "raw")
    if encoding not in _ENCODINGS:
        raise ApiError(400, "'encoding' must be 'raw' or 'base64'")
    if encoding == "base64":
        try:
            raw = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(400, f"'content' is not valid base64: {exc}") from exc
    else:
        raw = content.encode("utf-8")
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
    await asyncio.to_thread(_delete, url_path(request))
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    """Register the file routes."""
    app.router.add_get("/files", list_files, allow_head=False)
    app.router.add_post("/files", write_file)
    tail = r"/files/{tail:.+}"
    app.router.add_get(tail, get_file, allow_head=False)
    app.router.add_head(tail, file_exists)
    app.router.add_delete(tail, delete_file)
