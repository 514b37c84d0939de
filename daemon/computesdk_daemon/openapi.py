"""GET /openapi.json: the OpenAPI document of the daemon's HTTP endpoints.

Each feature module describes its own routes in a module-level ``OPENAPI_PATHS`` (OpenAPI 3.1
path items keyed by path); this module merges them, so a route and its description live side
by side. A test checks that every registered route is described.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any

from aiohttp import web

from computesdk_daemon.auth import public
from computesdk_daemon.health import daemon_version

MODULES = web.AppKey("openapi_modules", Sequence[ModuleType])

_ERROR = {"$ref": "#/components/responses/Error"}
COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"},
        "tokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
    },
    "responses": {
        "Error": {
            "description": "An error, with its message",
            "content": {"application/json": {"schema": {
                "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
            }}},
        },
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/openapi.json": {"get": {
        "summary": "This document", "security": [],
        "responses": {"200": {"description": "The OpenAPI document", "content": {"application/json": {}}}},
    }},
}


def error_responses(*codes: int) -> dict[str, Any]:
    """Response entries for error status codes, all of the shape ``{"error": str}``."""
    return {str(code): _ERROR for code in codes}


def document(modules: Sequence[ModuleType]) -> dict[str, Any]:
    """The OpenAPI document built from the ``OPENAPI_PATHS`` of ``modules``."""
    paths: dict[str, Any] = {}
    for module in modules:
        for path, item in getattr(module, "OPENAPI_PATHS", {}).items():
            paths.setdefault(path, {}).update(item)
    return {
        "openapi": "3.1.0",
        "info": {"title": "computesdk daemon", "version": daemon_version(),
                 "description": "The HTTP API of the server that runs inside a computesdk sandbox."},
        "security": [{"bearer": []}, {"tokenQuery": []}],
        "paths": dict(sorted(paths.items())),
        "components": COMPONENTS,
    }


@public
async def serve(request: web.Request) -> web.Response:
    """GET /openapi.json."""
    return web.json_response(document(request.app[MODULES]))


def setup(app: web.Application) -> None:
    """Register /openapi.json."""
    app.router.add_get("/openapi.json", serve)
