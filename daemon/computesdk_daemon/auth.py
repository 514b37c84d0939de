"""Access-token checks: the middleware guarding every endpoint but the public ones, /auth/status."""

from __future__ import annotations

import hmac
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from computesdk_daemon import api_schema as api
from computesdk_daemon.config import CONFIG
from computesdk_daemon.responses import error_response, wrapped

F = TypeVar("F")

_PUBLIC_FLAG = "_computesdk_public"


def public(handler: F) -> F:
    """Mark a handler as reachable without a token."""
    setattr(handler, _PUBLIC_FLAG, True)
    return handler


def presented_token(request: web.Request) -> str | None:
    """The token of a request: ``Authorization: Bearer <t>``, else the ``token`` query parameter."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token") or None


def is_authenticated(request: web.Request) -> bool:
    """Whether the request carries the access token (compared in constant time)."""
    token = presented_token(request)
    if token is None:
        return False
    expected = request.app[CONFIG].token.reveal()
    return hmac.compare_digest(token.encode(), expected.encode())


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 unless the route is public, unknown (a JSON 404/405 follows) or the token is right."""
    match_info = request.match_info
    if match_info.http_exception is not None:
        return await handler(request)
    if getattr(match_info.route.handler, _PUBLIC_FLAG, False):
        return await handler(request)
    if presented_token(request) is None:
        return error_response(401, "authentication required: send 'Authorization: Bearer <token>'")
    if not is_authenticated(request):
        return error_response(401, "invalid token")
    return await handler(request)


@public
async def auth_status(request: web.Request) -> web.Response:
    """GET /auth/status: whether the presented token is valid, and its kind."""
    data: dict[str, Any] = {"authenticated": is_authenticated(request)}
    if data["authenticated"]:
        data["token_type"] = "access_token"
    return wrapped("Authentication status", data)


OPENAPI_PATHS = {
    "/auth/status": {"get": {
        "summary": "Whether the presented token is valid, and its kind", "security": api.PUBLIC,
        "responses": {"200": api.wrapped("Authentication status", api.obj(
            {"authenticated": api.BOOLEAN,
             "token_type": {"type": "string", "enum": ["access_token", "session_token"]},
             "expires_at": api.DATETIME},
            required=("authenticated",),
        ))},
    }},
}


def setup(app: web.Application) -> None:
    """Register the auth routes."""
    app.router.add_get("/auth/status", auth_status)
