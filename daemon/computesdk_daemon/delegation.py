"""Handing out delegated access: session tokens, and magic links that log a browser in.

Managing either needs the access token. A redeemed magic link mints a session token and sets
it as the :data:`~computesdk_daemon.auth.SESSION_COOKIE` cookie.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from computesdk_core.wire import format_datetime
from computesdk_daemon import api_schema as api
from computesdk_daemon.auth import MAGIC_LINKS, SESSION_COOKIE, SESSION_TOKENS, access_token_only, public
from computesdk_daemon.errors import ApiError
from computesdk_daemon.request_body import get_str, parse_seconds, read_object
from computesdk_daemon.responses import flat, wrapped
from computesdk_daemon.tokens import DEFAULT_SESSION_LIFETIME, MAGIC_SESSION_LIFETIME, SessionToken

DEFAULT_REDIRECT = "/play/"
# Longest session token lifetime (10 years): beyond, dates stop being meaningful.
MAX_SESSION_LIFETIME = 10 * 365 * 86400


def _seconds(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _camel(record: SessionToken) -> dict[str, Any]:
    """The flat camelCase form clients read at creation and retrieval."""
    return {
        "id": record.id,
        "description": record.description,
        "createdAt": format_datetime(record.created_at),
        "expiresAt": format_datetime(record.expires_at),
        "expiresIn": _seconds(record.expires_in),
    }


def _listed(record: SessionToken) -> dict[str, Any]:
    return {
        "id": record.id,
        "description": record.description,
        "created_at": format_datetime(record.created_at),
        "expires_at": format_datetime(record.expires_at),
        "last_used_at": format_datetime(record.last_used_at) if record.last_used_at else None,
    }


def _lifetime(body: dict[str, Any]) -> float:
    key = "expiresIn" if body.get("expiresIn") is not None else "expires_in"
    value = body.get(key)
    if value is None:
        return DEFAULT_SESSION_LIFETIME
    seconds = parse_seconds(value, key)
    if seconds is None or seconds > MAX_SESSION_LIFETIME:
        raise ApiError(400, f"'{key}' must be a positive number of seconds, at most {MAX_SESSION_LIFETIME}")
    return seconds


@access_token_only
async def create_session_token(request: web.Request) -> web.Response:
    """POST /auth/session_tokens {description?, expiresIn?}: 201 with the token value (only here)."""
    body = await read_object(request)
    description = get_str(body, "description")
    record, value = request.app[SESSION_TOKENS].create(description, _lifetime(body))
    return flat({**_camel(record), "token": value}, status=201)


@access_token_only
async def list_session_tokens(request: web.Request) -> web.Response:
    """GET /auth/session_tokens: every token not revoked, without values."""
    tokens = [_listed(record) for record in request.app[SESSION_TOKENS].list()]
    return wrapped("Session tokens", {"tokens": tokens})


def _record(request: web.Request) -> SessionToken:
    token_id = request.match_info["token_id"]
    record = request.app[SESSION_TOKENS].get(token_id)
    if record is None:
        raise ApiError(404, f"session token not found: {token_id}")
    return record


@access_token_only
async def get_session_token(request: web.Request) -> web.Response:
    """GET /auth/session_tokens/{id}: one token, without its value."""
    return flat(_camel(_record(request)))


@access_token_only
async def revoke_session_token(request: web.Request) -> web.Response:
    """DELETE /auth/session_tokens/{id}: the token stops working at once."""
    record = _record(request)
    request.app[SESSION_TOKENS].revoke(record.id)
    return flat({"status": "success", "message": f"Session token {record.id} revoked"})


def check_redirect(url: str, host: str) -> str:
    """``url`` if it stays on this sandbox (a path, or an absolute URL of ``host``); else 400.

    Anything else would make the daemon an open redirect, sending a logged-in browser away.
    """
    # Browsers read "\" as "/" and drop tabs and newlines, so "/\evil.example" leaves the site.
    if not url or "\\" in url or any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise ApiError(400, "'redirectUrl' must be a path on this sandbox, without spaces or backslashes")
    parts = urlsplit(url)
    if not parts.scheme and not parts.netloc and not url.startswith("//"):
        return url
    if parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower():
        return url
    raise ApiError(400, "'redirectUrl' must be a path (such as /play/) or a URL of this sandbox's own host")


@access_token_only
async def create_magic_link(request: web.Request) -> web.Response:
    """POST /auth/magic-links {redirectUrl?}: a one-time login URL, valid for 5 minutes."""
    body = await read_object(request)
    key = "redirectUrl" if body.get("redirectUrl") is not None else "redirect_url"
    redirect_url = check_redirect(get_str(body, key) or DEFAULT_REDIRECT, request.host)
    link, value = request.app[MAGIC_LINKS].create(redirect_url)
    data = {
        "magic_url": f"{request.scheme}://{request.host}/auth/magic?token={value}",
        "expires_at": format_datetime(link.expires_at),
        "redirect_url": redirect_url,
    }
    return wrapped("Magic link created", data, status=201)


_FAILURE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Link not valid</title></head>
<body><h1>This login link does not work</h1><p>{reason}</p>
<p>Magic links work once, within 5 minutes. Ask for a new one.</p></body></html>
"""
# The URL held a credential: keep it out of caches and of the next page's Referer.
_PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@public
async def redeem_magic_link(request: web.Request) -> web.Response:
    """GET /auth/magic?token=...: 302 to the link's redirect URL with a session cookie, or 400 HTML."""
    value = request.query.get("token")
    link = request.app[MAGIC_LINKS].redeem(value) if value else None
    if link is None:
        reason = "The link is unknown, already used or expired." if value else "The link has no token."
        page = _FAILURE_PAGE.format(reason=html.escape(reason))
        return web.Response(status=400, text=page, content_type="text/html", headers=_PRIVATE_HEADERS)
    _, session = request.app[SESSION_TOKENS].create("magic link", MAGIC_SESSION_LIFETIME)
    response = web.Response(status=302, headers={**_PRIVATE_HEADERS, "Location": link.redirect_url})
    response.set_cookie(
        SESSION_COOKIE, session, max_age=MAGIC_SESSION_LIFETIME, path="/", httponly=True,
        samesite="Lax", secure=request.secure,
    )
    return response


_ID = api.path_parameter("token_id", "A session token id (token_...)")
_CAMEL_TOKEN = api.obj(
    {"id": api.STRING, "description": api.nullable(api.STRING), "createdAt": api.DATETIME,
     "expiresAt": api.DATETIME, "expiresIn": {**api.SECONDS, "description": "The lifetime it was created with"}},
    required=("id", "description", "createdAt", "expiresAt", "expiresIn"),
)
_ACCESS_ONLY = "Needs the access token: a session token gets 403."

OPENAPI_PATHS = {
    "/auth/session_tokens": {
        "post": {
            "summary": "Create a session token (its value is returned only here)",
            "description": _ACCESS_ONLY,
            "requestBody": api.json_body(api.obj({
                "description": api.STRING,
                "expiresIn": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SESSION_LIFETIME,
                              "default": DEFAULT_SESSION_LIFETIME, "description": "Lifetime in seconds"},
                "expires_in": {"type": "number", "exclusiveMinimum": 0, "description": "Same as expiresIn"},
            }), required=False),
            "responses": {
                "201": api.flat("The new token (flat camelCase)", {
                    **_CAMEL_TOKEN,
                    "properties": {**_CAMEL_TOKEN["properties"], "token": api.STRING},
                    "required": [*_CAMEL_TOKEN["required"], "token"],
                }),
                **api.errors(400, 401, 403),
            },
        },
        "get": {
            "summary": "List the session tokens (no values); expired ones stay listed for a day",
            "description": _ACCESS_ONLY,
            "responses": {
                "200": api.wrapped("The tokens", api.obj({"tokens": api.array(api.obj(
                    {"id": api.STRING, "description": api.nullable(api.STRING), "created_at": api.DATETIME,
                     "expires_at": api.DATETIME, "last_used_at": api.nullable(api.DATETIME)},
                    required=("id", "description", "created_at", "expires_at", "last_used_at"),
                ))}, required=("tokens",))),
                **api.errors(401, 403),
            },
        },
    },
    "/auth/session_tokens/{token_id}": {
        "get": {
            "summary": "One session token (no value)",
            "description": _ACCESS_ONLY,
            "parameters": [_ID],
            "responses": {"200": api.flat("The token (flat camelCase)", _CAMEL_TOKEN), **api.errors(401, 403, 404)},
        },
        "delete": {
            "summary": "Revoke a session token; it stops working at once",
            "description": _ACCESS_ONLY,
            "parameters": [_ID],
            "responses": {
                "200": api.flat("Revoked", api.obj({"status": {"const": "success"}, "message": api.STRING},
                                                   required=("status", "message"))),
                **api.errors(401, 403, 404),
            },
        },
    },
    "/auth/magic-links": {"post": {
        "summary": "Create a one-time browser login link (valid 5 minutes)",
        "description": _ACCESS_ONLY + " The redirect URL must be a path or a URL of this host.",
        "requestBody": api.json_body(api.obj({
            "redirectUrl": {**api.STRING, "default": DEFAULT_REDIRECT},
            "redirect_url": {**api.STRING, "description": "Same as redirectUrl"},
        }), required=False),
        "responses": {
            "201": api.wrapped("The link", api.obj(
                {"magic_url": api.STRING, "expires_at": api.DATETIME, "redirect_url": api.STRING},
                required=("magic_url", "expires_at", "redirect_url"),
            )),
            **api.errors(400, 401, 403),
        },
    }},
    "/auth/magic": {"get": {
        "summary": "Redeem a magic link: a session cookie and a redirect", "security": api.PUBLIC,
        "description": f"Works once. Sets the {SESSION_COOKIE} cookie (a 7-day session token; HttpOnly, "
                       "SameSite=Lax, Path=/), which authenticates later requests from this sandbox's pages.",
        "parameters": [{**api.query_parameter("token", "The link's token"), "required": True}],
        "responses": {
            "302": {"description": "Logged in; Location is the link's redirect URL", "headers": {
                "Set-Cookie": {"description": f"{SESSION_COOKIE}=<session token>", "schema": api.STRING},
                "Location": {"schema": api.STRING},
            }},
            "400": {"description": "Unknown, used or expired link", "content": {"text/html": {"schema": api.STRING}}},
        },
    }},
}


def setup(app: web.Application) -> None:
    """Register the session-token and magic-link routes (after auth.setup, which holds the stores)."""
    app.router.add_post("/auth/session_tokens", create_session_token)
    app.router.add_get("/auth/session_tokens", list_session_tokens)
    app.router.add_get("/auth/session_tokens/{token_id}", get_session_token)
    app.router.add_delete("/auth/session_tokens/{token_id}", revoke_session_token)
    app.router.add_post("/auth/magic-links", create_magic_link)
    # No HEAD: a link checker's HEAD request must not use up the link.
    app.router.add_get("/auth/magic", redeem_magic_link, allow_head=False)
