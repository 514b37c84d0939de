"""Who is calling: the middleware that guards every endpoint but the public ones, /auth/status, /auth/info.

A caller proves itself with the access token, or with a live session token, each sent as
``Authorization: Bearer <token>`` or as the ``token`` query parameter, or with the session
cookie that redeeming a magic link sets. Routes marked :func:`access_token_only` refuse session
tokens (403).
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from computesdk_core.wire import format_datetime
from computesdk_daemon import api_schema as api
from computesdk_daemon.config import CONFIG
from computesdk_daemon.responses import error_response, wrapped
from computesdk_daemon.tokens import MagicLinkStore, SessionToken, SessionTokenStore

F = TypeVar("F")

# The cookie a redeemed magic link sets: a session token, HttpOnly, SameSite=Lax, Path=/.
SESSION_COOKIE = "computesdk_session"

SESSION_TOKENS = web.AppKey("session_tokens", SessionTokenStore)
MAGIC_LINKS = web.AppKey("magic_links", MagicLinkStore)

_PUBLIC_FLAG = "_computesdk_public"
_ACCESS_ONLY_FLAG = "_computesdk_access_token_only"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: which kind of credential it showed, and how."""

    token_type: Literal["access_token", "session_token"]
    session: SessionToken | None = None
    by_cookie: bool = False


CALLER = web.RequestKey("caller", Caller)


def public(handler: F) -> F:
    """Mark a handler as reachable without a token."""
    setattr(handler, _PUBLIC_FLAG, True)
    return handler


def access_token_only(handler: F) -> F:
    """Mark a handler that only the access token may call (a session token gets 403)."""
    setattr(handler, _ACCESS_ONLY_FLAG, True)
    return handler


def presented_token(request: web.Request) -> str | None:
    """The token of a request: ``Authorization: Bearer <t>``, else the ``token`` query parameter."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.query.get("token") or None


def identify(request: web.Request) -> Caller | None:
    """The caller behind a request's credentials, or None if it has no valid one.

    A token that is sent wins over the cookie: a wrong token is refused even with a good cookie.
    """
    token = presented_token(request)
    sessions = request.app[SESSION_TOKENS]
    if token is not None:
        expected = request.app[CONFIG].token.reveal()
        if hmac.compare_digest(token.encode(), expected.encode()):
            return Caller("access_token")
        session = sessions.authenticate(token)
        return Caller("session_token", session) if session else None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        session = sessions.authenticate(cookie)
        return Caller("session_token", session, by_cookie=True) if session else None
    return None


def _cross_origin(request: web.Request) -> bool:
    # SameSite=Lax still lets other pages of the same site (another port of localhost, another
    # sandbox under the same domain) send the cookie with fetches, form posts and WebSockets;
    # browsers mark those with an Origin header naming that other page.
    origin = request.headers.get("Origin")
    return origin is not None and origin.lower() != f"{request.scheme}://{request.host}".lower()


def on_session_end(request: web.Request, callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` once when the request's session token is revoked or expires.

    For long-lived connections (WebSockets): a credential that stops working ends them too.
    Does nothing for the access token. Returns a function that cancels the watch.
    """
    caller = request.get(CALLER)
    if caller is None or caller.session is None:
        return lambda: None
    sessions = request.app[SESSION_TOKENS]
    fired = False

    def end() -> None:
        nonlocal fired
        if not fired:
            fired = True
            cancel()
            callback()

    timer = asyncio.get_running_loop().call_later(sessions.seconds_left(caller.session), end)
    stop_watching = sessions.on_revoke(caller.session.id, end)

    def cancel() -> None:
        timer.cancel()
        stop_watching()

    return cancel


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """401 unless the route is public, unknown (a JSON 404/405 follows) or the credential is good."""
    match_info = request.match_info
    if match_info.http_exception is not None:
        return await handler(request)
    route_handler = match_info.route.handler
    if getattr(route_handler, _PUBLIC_FLAG, False):
        return await handler(request)
    caller = identify(request)
    if caller is None:
        if presented_token(request) is None and SESSION_COOKIE not in request.cookies:
            return error_response(401, "authentication required: send 'Authorization: Bearer <token>'")
        return error_response(401, "invalid, expired or revoked token")
    if caller.by_cookie and _cross_origin(request):
        return error_response(403, "the session cookie is only accepted from this sandbox's own pages")
    if caller.token_type != "access_token" and getattr(route_handler, _ACCESS_ONLY_FLAG, False):
        return error_response(403, "access token required: a session token cannot do this")
    request[CALLER] = caller
    return await handler(request)


@public
async def auth_status(request: web.Request) -> web.Response:
    """GET /auth/status: whether the presented credential is valid, and its kind."""
    caller = identify(request)
    data: dict[str, Any] = {"authenticated": caller is not None}
    if caller is not None:
        data["token_type"] = caller.token_type
        if caller.session is not None:
            data["expires_at"] = format_datetime(caller.session.expires_at)
    return wrapped("Authentication status", data)


_ENDPOINTS = {
    "create_session_token": "POST /auth/session_tokens",
    "list_session_tokens": "GET /auth/session_tokens",
    "get_session_token": "GET /auth/session_tokens/{id}",
    "revoke_session_token": "DELETE /auth/session_tokens/{id}",
    "create_magic_link": "POST /auth/magic-links",
    "auth_status": "GET /auth/status",
    "auth_info": "GET /auth/info",
}


@public
async def auth_info(_: web.Request) -> web.Response:
    """GET /auth/info: how to authenticate, and the endpoints that manage credentials."""
    data = {
        "message": "This sandbox accepts its access token or a session token.",
        "instructions": (
            "Send 'Authorization: Bearer <token>' (or '?token=<token>', which WebSockets need). "
            "With the access token, POST /auth/session_tokens makes a delegated session token and "
            "POST /auth/magic-links a one-time browser login link; session tokens cannot manage tokens."
        ),
        "endpoints": _ENDPOINTS,
    }
    return wrapped("Authentication information", data)


OPENAPI_PATHS = {
    "/auth/status": {"get": {
        "summary": "Whether the presented credential is valid, and its kind", "security": api.PUBLIC,
        "responses": {"200": api.wrapped("Authentication status", api.obj(
            {"authenticated": api.BOOLEAN,
             "token_type": {"type": "string", "enum": ["access_token", "session_token"]},
             "expires_at": {**api.DATETIME, "description": "Session tokens only"}},
            required=("authenticated",),
        ))},
    }},
    "/auth/info": {"get": {
        "summary": "How to authenticate, and the credential endpoints", "security": api.PUBLIC,
        "responses": {"200": api.wrapped("Authentication information", api.obj(
            {"message": api.STRING, "instructions": api.STRING,
             "endpoints": api.obj({name: api.STRING for name in _ENDPOINTS}, required=tuple(_ENDPOINTS))},
            required=("message", "instructions", "endpoints"),
        ))},
    }},
}


def setup(app: web.Application) -> None:
    """Attach the credential stores and register /auth/status and /auth/info."""
    app[SESSION_TOKENS] = SessionTokenStore()
    app[MAGIC_LINKS] = MagicLinkStore()
    app.router.add_get("/auth/status", auth_status)
    app.router.add_get("/auth/info", auth_info)
