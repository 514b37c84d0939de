"""The env file endpoints: read, merge into, remove from, and check a .env file (``?file=F``)."""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Any

from aiohttp import web

from computesdk_daemon import dotenv_file
from computesdk_daemon.config import CONFIG
from computesdk_daemon.errors import ApiError
from computesdk_daemon.openapi import error_responses
from computesdk_daemon.request_body import read_object
from computesdk_daemon.responses import error_response


def status_wrapped(message: str, data: Any, status: int = 200) -> web.Response:
    """``{"status": "success", "message": ..., "data": ...}``, the envelope of env and servers."""
    return web.json_response({"status": "success", "message": message, "data": data}, status=status)


def _file_param(request: web.Request) -> tuple[str, str]:
    """The ``file`` query parameter as given and as an absolute path (relative to the workdir)."""
    given = request.query.get("file", "")
    if not given:
        raise ApiError(400, "the 'file' query parameter is required")
    if "\0" in given:
        raise ApiError(400, "'file' must not contain NUL")
    return given, os.path.normpath(os.path.join(request.app[CONFIG].workdir, given))


def _read_text(path: str, given: str, missing_ok: bool = False) -> str:
    if os.path.isdir(path):
        raise ApiError(400, f"is a directory: {given}")
    try:
        # newline="": CRLF files keep their line endings through an edit.
        with open(path, encoding="utf-8", errors="surrogateescape", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        if missing_ok:
            return ""
        raise ApiError(404, f"env file not found: {given}") from None


def _write_text(path: str, text: str) -> None:
    """Replace the file in one step (a reader never sees half a file), keeping its mode."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    temporary = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp")
    # 0o666 through the umask, as a new file gets; an existing file keeps its own mode.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _checked_keys(keys: list[str]) -> None:
    bad = dotenv_file.invalid_keys(keys)
    if bad:
        raise ApiError(400, f"invalid variable name: {bad[0]!r} (names match [A-Za-z_][A-Za-z0-9_]*)")


class EnvFiles:
    """Serialises edits, so two merges into one file cannot lose each other's keys."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()


ENV_FILES = web.AppKey("env_files", EnvFiles)


async def get_env(request: web.Request) -> web.Response:
    """GET /env?file=F -> {file, variables}."""
    given, path = _file_param(request)
    text = await asyncio.to_thread(_read_text, path, given)
    return status_wrapped("Environment variables read", {"file": given, "variables": dotenv_file.read_values(text)})


async def set_env(request: web.Request) -> web.Response:
    """POST /env?file=F {variables}: merge into the file (created if missing) -> {file, keys}."""
    given, path = _file_param(request)
    body = await read_object(request)
    variables = body.get("variables")
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ApiError(400, "'variables' must be an object of string values")
    _checked_keys(list(variables))
    for key, value in variables.items():
        if "\0" in value:
            raise ApiError(400, f"the value of {key!r} contains NUL")

    def merge() -> None:
        text = _read_text(path, given, missing_ok=True)
        _write_text(path, dotenv_file.update_text(text, variables))

    async with request.app[ENV_FILES].lock:
        await asyncio.to_thread(merge)
    return status_wrapped("Environment variables updated", {"file": given, "keys": list(variables)})


async def delete_env(request: web.Request) -> web.Response:
    """DELETE /env?file=F {keys}: remove those variables -> {file, keys actually removed}."""
    given, path = _file_param(request)
    body = await read_object(request)
    keys = body.get("keys")
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ApiError(400, "'keys' must be a list of strings")
    _checked_keys(keys)

    def remove() -> list[str]:
        text, removed = dotenv_file.remove_keys(_read_text(path, given), keys)
        if removed:
            _write_text(path, text)
        return removed

    async with request.app[ENV_FILES].lock:
        removed = await asyncio.to_thread(remove)
    return status_wrapped("Environment variables removed", {"file": given, "keys": removed})


async def head_env(request: web.Request) -> web.Response:
    """HEAD /env?file=F: 200 when the file exists, else 404."""
    _, path = _file_param(request)
    if await asyncio.to_thread(os.path.isfile, path):
        return web.Response(status=200)
    return error_response(404, "env file not found")


def setup(app: web.Application) -> None:
    """Register the /env routes."""
    app[ENV_FILES] = EnvFiles()
    app.router.add_get("/env", get_env, allow_head=False)
    app.router.add_head("/env", head_env)
    app.router.add_post("/env", set_env)
    app.router.add_delete("/env", delete_env)


_FILE_PARAM = [{"name": "file", "in": "query", "required": True, "schema": {"type": "string"},
                "description": "The .env file, relative to the work directory or absolute"}]


def _status_wrapped(description: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "properties": {
            "status": {"type": "string"}, "message": {"type": "string"},
            "data": {"type": "object", "properties": data},
        },
    }}}}


_KEYS = {"file": {"type": "string"}, "keys": {"type": "array", "items": {"type": "string"}}}

OPENAPI_PATHS: dict[str, Any] = {
    "/env": {
        "get": {
            "summary": "Read the variables of a .env file (dotenv syntax: quotes, export, comments)",
            "parameters": _FILE_PARAM,
            "responses": {
                "200": _status_wrapped("The variables", {
                    "file": {"type": "string"},
                    "variables": {"type": "object", "additionalProperties": {"type": "string"}},
                }),
                **error_responses(400, 401, 404),
            },
        },
        "post": {
            "summary": "Merge variables into a .env file (created if missing); other lines are kept byte for byte",
            "parameters": _FILE_PARAM,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["variables"],
                "properties": {"variables": {"type": "object", "additionalProperties": {"type": "string"}}},
            }}}},
            "responses": {"200": _status_wrapped("The keys set", _KEYS), **error_responses(400, 401)},
        },
        "delete": {
            "summary": "Remove variables from a .env file",
            "parameters": _FILE_PARAM,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["keys"],
                "properties": {"keys": {"type": "array", "items": {"type": "string"}}},
            }}}},
            "responses": {"200": _status_wrapped("The keys that were there and are removed", _KEYS),
                          **error_responses(400, 401, 404)},
        },
        "head": {
            "summary": "Whether a .env file exists",
            "parameters": _FILE_PARAM,
            "responses": {"200": {"description": "It exists"}, "404": {"description": "It does not"}},
        },
    },
}
