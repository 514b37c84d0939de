"""The response envelopes of the daemon protocol."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

_NO_BODY = frozenset({204, 304})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def wrapped(message: str, data: Any, status: int = 200) -> web.Response:
    """``{"message": ..., "data": ...}``, the envelope of most endpoints."""
    return web.json_response({"message": message, "data": data}, status=status, dumps=_dumps)


def flat(body: Any, status: int = 200) -> web.Response:
    """A JSON body with no envelope (``/health``, ``/ready``)."""
    return web.json_response(body, status=status, dumps=_dumps)


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """``{"error": message}`` (no body for statuses that cannot carry one, such as HEAD's)."""
    kept = {key: value for key, value in (headers or {}).items() if key.lower() == "allow"}
    if status in _NO_BODY:
        return web.Response(status=status, headers=kept)
    return web.json_response({"error": message}, status=status, headers=kept, dumps=_dumps)
