"""The aiohttp application: shared state, middlewares, and the routes of every feature module."""

from __future__ import annotations

from types import ModuleType

from aiohttp import web

from computesdk_daemon import (
    auth,
    code_runner,
    commands,
    delegation,
    env,
    exec_terminals,
    files,
    health,
    lifetime,
    openapi,
    ports,
    processes,
    servers,
    signals,
    streaming,
    terminals,
    watchers,
    websocket,
)
from computesdk_daemon.config import CONFIG, DaemonConfig
from computesdk_daemon.errors import error_middleware

# Bodies carry whole files (base64 adds a third), so aiohttp's 1 MiB default is far too small.
MAX_BODY_SIZE = 1024 * 1024 * 1024

# Each module has ``setup(app)`` and, when it serves HTTP routes, ``OPENAPI_PATHS``. Order matters
# where a module uses another's state: processes before the command modules, websocket (the hub)
# before streaming and every feature that publishes events.
FEATURE_MODULES: tuple[ModuleType, ...] = (
    processes,
    lifetime,
    websocket,
    exec_terminals,
    streaming,
    health,
    auth,
    commands,
    code_runner,
    files,
    delegation,
    watchers,
    terminals,
    ports,
    signals,
    env,
    servers,
    openapi,
)


def build_app(config: DaemonConfig) -> web.Application:
    """Build the daemon's application (its state is started by the app's startup signal)."""
    # The error middleware is outermost, so the auth middleware's refusals and everything
    # inside come out as JSON errors.
    app = web.Application(middlewares=[error_middleware, auth.auth_middleware], client_max_size=MAX_BODY_SIZE)
    app[CONFIG] = config
    app[openapi.MODULES] = FEATURE_MODULES
    for module in FEATURE_MODULES:
        module.setup(app)
    return app
