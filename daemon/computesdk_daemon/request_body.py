"""Reading and checking JSON request bodies (every mistake is a 400 naming the field)."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from computesdk_daemon.errors import ApiError


async def read_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body counts as ``{}``."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "request body must be a JSON object")
    return body


def get_str(body: dict[str, Any], key: str, default: str | None = None) -> str | None:
    """An optional string field."""
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ApiError(400, f"'{key}' must be a string")
    return value


def require_str(body: dict[str, Any], key: str) -> str:
    """A string field that must be present and not empty."""
    value = get_str(body, key)
    if value is None:
        raise ApiError(400, f"'{key}' is required")
    if not value:
        raise ApiError(400, f"'{key}' must not be empty")
    return value


def get_bool(body: dict[str, Any], key: str, default: bool = False) -> bool:
    """A boolean field."""
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ApiError(400, f"'{key}' must be a boolean")
    return value


def get_seconds(body: dict[str, Any], key: str) -> float | None:
    """A duration in seconds: a positive finite number, with 0 or null meaning none."""
    value = body.get(key)
    if value is None:
        return None
    return parse_seconds(value, key)


def parse_seconds(value: Any, name: str) -> float | None:
    """Check a number of seconds from a body or a query string; 0 means none."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ApiError(400, f"'{name}' must be a number of seconds") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"'{name}' must be a number of seconds")
    if value < 0:
        raise ApiError(400, f"'{name}' must not be negative")
    return float(value) or None


def get_str_map(body: dict[str, Any], key: str) -> dict[str, str]:
    """An object whose values are all strings (environment variables)."""
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
        raise ApiError(400, f"'{key}' must be an object of string values")
    return dict(value)
