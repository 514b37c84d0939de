"""Liveness, readiness and sandbox information."""

from __future__ import annotations

import datetime as dt
from importlib import metadata

from aiohttp import web

from computesdk_core.wire import format_datetime
from computesdk_daemon import api_schema as api
from computesdk_daemon.auth import public
from computesdk_daemon.config import CONFIG
from computesdk_daemon.lifetime import LIFETIME
from computesdk_daemon.responses import flat, wrapped


def daemon_version() -> str:
    """The installed computesdk-daemon version."""
    try:
        return metadata.version("computesdk-daemon")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@public
async def health(_: web.Request) -> web.Response:
    """GET /health: the daemon answers."""
    return flat({"status": "ok", "timestamp": format_datetime(dt.datetime.now(dt.timezone.utc))})


async def info(request: web.Request) -> web.Response:
    """GET /info: what this sandbox is and how long it lives."""
    config = request.app[CONFIG]
    lifetime = request.app[LIFETIME]
    expires_at = lifetime.expires_at
    data = {
        "auth_enabled": True,
        "main_subdomain": config.sandbox_id or "main",
        "sandbox_count": 1,
        "sandbox_url": f"{request.scheme}://{request.host}",
        "version": daemon_version(),
        "status": "running",
        "sandbox_id": config.sandbox_id,
        "created_at": format_datetime(config.created_at),
        "timeout": lifetime.timeout,
        "expires_at": format_datetime(expires_at) if expires_at else None,
        "metadata": config.metadata,
    }
    return wrapped("Sandbox information", data)


_INFO = api.obj(
    {
        "auth_enabled": api.BOOLEAN,
        "main_subdomain": api.STRING,
        "sandbox_count": api.INTEGER,
        "sandbox_url": {**api.STRING, "description": "Base URL of this daemon as the caller reached it"},
        "version": api.STRING,
        "status": api.STRING,
        "sandbox_id": api.nullable(api.STRING),
        "created_at": api.DATETIME,
        "timeout": api.nullable({**api.SECONDS, "description": "The whole lifetime in seconds, extensions included"}),
        "expires_at": api.nullable(api.DATETIME),
        "metadata": {"type": "object"},
    },
    required=("auth_enabled", "main_subdomain", "sandbox_count", "sandbox_url", "version", "status"),
)

OPENAPI_PATHS = {
    "/health": {"get": {
        "summary": "Liveness: the daemon answers", "security": api.PUBLIC,
        "responses": {"200": api.flat("Alive", api.obj(
            {"status": {"const": "ok"}, "timestamp": api.DATETIME}, required=("status", "timestamp"),
        ))},
    }},
    "/info": {"get": {
        "summary": "What this sandbox is and how long it lives",
        "responses": {"200": api.wrapped("Sandbox information", _INFO), **api.errors(401)},
    }},
}


def setup(app: web.Application) -> None:
    """Register the health and info routes."""
    app.router.add_get("/health", health)
    app.router.add_get("/info", info)
