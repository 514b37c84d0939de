"""The sandbox's lifetime: an optional deadline that ends the daemon, and its extension."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from aiohttp import web

from computesdk_core.wire import format_datetime
from computesdk_daemon import api_schema as api
from computesdk_daemon.config import CONFIG
from computesdk_daemon.errors import ApiError
from computesdk_daemon.request_body import get_seconds, read_object
from computesdk_daemon.responses import wrapped

logger = logging.getLogger(__name__)


class Lifetime:
    """When the sandbox ends: at its deadline (if any), or when :meth:`end` is called."""

    def __init__(self, created_at: dt.datetime, timeout: float | None) -> None:
        self.created_at = created_at
        self.expires_at = created_at + dt.timedelta(seconds=timeout) if timeout else None
        self.ended = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def timeout(self) -> float | None:
        """The whole lifetime in seconds (the configured one plus extensions), or None."""
        if self.expires_at is None:
            return None
        seconds = round((self.expires_at - self.created_at).total_seconds(), 3)
        return int(seconds) if seconds.is_integer() else seconds

    def start(self) -> None:
        """Arm the deadline on the running loop."""
        if self._timer is not None:
            self._timer.cancel()
        if self.expires_at is None:
            return
        remaining = (self.expires_at - dt.datetime.now(dt.timezone.utc)).total_seconds()
        self._timer = asyncio.get_running_loop().call_later(max(remaining, 0.0), self.end, "timeout")

    def extend(self, seconds: float) -> None:
        """Move the deadline ``seconds`` later (a sandbox without one keeps living without one)."""
        if self.expires_at is None:
            return
        self.expires_at += dt.timedelta(seconds=seconds)
        self.start()

    def end(self, reason: str) -> None:
        """End the sandbox now; the server stops once it sees :attr:`ended`."""
        if not self.ended.is_set():
            logger.info("sandbox ending: %s", reason)
            self.ended.set()
        if self._timer is not None:
            self._timer.cancel()


LIFETIME = web.AppKey("lifetime", Lifetime)


async def extend_timeout(request: web.Request) -> web.Response:
    """POST /timeout/extend {duration: seconds}: push the deadline back."""
    body = await read_object(request)
    duration = get_seconds(body, "duration")
    if duration is None:
        raise ApiError(400, "'duration' must be a positive number of seconds")
    lifetime = request.app[LIFETIME]
    lifetime.extend(duration)
    expires_at = lifetime.expires_at
    data = {"timeout": lifetime.timeout, "expires_at": format_datetime(expires_at) if expires_at else None}
    return wrapped("Timeout extended" if expires_at else "The sandbox has no timeout", data)


OPENAPI_PATHS = {
    "/timeout/extend": {"post": {
        "summary": "Extend the sandbox's lifetime (an extension of this daemon)",
        "description": "Moves the deadline `duration` seconds later. A sandbox created without a "
                       "timeout keeps having none (both fields null).",
        "requestBody": api.json_body(api.obj(
            {"duration": {"type": "number", "exclusiveMinimum": 0, "description": "Seconds to add"}},
            required=("duration",),
        )),
        "responses": {
            "200": api.wrapped("The new lifetime", api.obj(
                {"timeout": api.nullable({**api.SECONDS, "description": "The whole lifetime in seconds"}),
                 "expires_at": api.nullable(api.DATETIME)},
                required=("timeout", "expires_at"),
            )),
            **api.errors(400, 401),
        },
    }},
}


def setup(app: web.Application) -> None:
    """Attach the lifetime (armed when the app starts) and its route."""
    config = app[CONFIG]
    lifetime = Lifetime(config.created_at, config.timeout)
    app[LIFETIME] = lifetime

    async def on_startup(_: web.Application) -> None:
        lifetime.start()

    app.on_startup.append(on_startup)
    app.router.add_post("/timeout/extend", extend_timeout)
