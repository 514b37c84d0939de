"""``sandbox.servers``: long-running server processes managed by the sandbox's daemon.

A server goes ``starting`` -> ``running`` -> ``ready`` (it listens on a port; ``port`` and
``url`` are then set). It is ``failed`` when it exits by itself (its output stays readable
through :meth:`Servers.logs`) and ``stopped`` after :meth:`Servers.stop`.
"""

from __future__ import annotations

import builtins
import datetime as dt
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import quote

import attrs

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.wire import parse_datetime

__all__ = ["ServerFailedError", "ServerInfo", "Servers"]

LogStream = Literal["stdout", "stderr", "combined"]
# How long stop and restart may take on the daemon: its default stop_timeout is 10 s.
STOP_REQUEST_TIMEOUT = 120.0
_POLL_FIRST = 0.1
_POLL_MAX = 1.0
_LOG_TAIL = 4000


@attrs.frozen
class ServerInfo:
    """A managed server as the daemon describes it.

    ``status`` is ``starting``, ``running``, ``ready``, ``failed`` or ``stopped`` (also
    ``installing`` and ``restarting`` for servers started with those options). ``port`` and
    ``url`` are known once the server listens; ``exit_code`` once it has ended.
    """

    slug: str
    command: str
    path: str | None
    env_file: str | None
    port: int | None
    url: str | None
    status: str
    pid: int | None
    terminal_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    exit_code: int | None = None


class ServerFailedError(errors.ComputeSDKError):
    """A server ended by itself while it was awaited; ``logs`` holds the end of its output."""

    server: ServerInfo
    logs: str


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _info(data: Any) -> ServerInfo:
    if not isinstance(data, dict) or "slug" not in data:
        raise errors.ProviderAPIError("the daemon's answer has no server in it", status_code=None,
                                      provider="daemon", request_id=None)
    now = dt.datetime.now(dt.timezone.utc)
    return ServerInfo(
        slug=str(data["slug"]),
        command=str(data.get("command") or data.get("start") or ""),
        path=data.get("path"),
        env_file=data.get("env_file"),
        port=_optional_int(data.get("port")),
        url=data.get("url"),
        status=str(data.get("status") or "starting"),
        pid=_optional_int(data.get("pid")),
        terminal_id=data.get("terminal_id"),
        created_at=parse_datetime(data["created_at"]) if data.get("created_at") else now,
        updated_at=parse_datetime(data["updated_at"]) if data.get("updated_at") else now,
        exit_code=_optional_int(data.get("exit_code")),
    )


def _server_of(data: Any) -> ServerInfo:
    # The daemon nests it under "server"; older daemons sent it bare.
    if isinstance(data, dict) and isinstance(data.get("server"), dict):
        return _info(data["server"])
    return _info(data)


def _url(slug: str, tail: str = "") -> str:
    if not isinstance(slug, str) or not slug:
        raise errors.ValidationError("slug must be a non-empty string")
    return f"/servers/{quote(slug, safe='')}{tail}"


class Servers:
    """The managed servers of one sandbox."""

    def __init__(self, daemon: Callable[[], DaemonClient]) -> None:
        self._daemon = daemon

    def __repr__(self) -> str:
        return "Servers()"

    def _data(self, method: str, path: str, slug: str | None = None, **kwargs: Any) -> Any:
        try:
            return self._daemon().http.data(method, path, **kwargs)
        except errors.NotFoundError as exc:
            if slug is None:
                raise
            raise errors.NotFoundError(f"no server {slug!r} in the sandbox", status_code=404, provider="daemon",
                                       request_id=None) from exc
        except errors.ProviderAPIError as exc:
            if getattr(exc, "status_code", None) == 409:
                raise errors.ValidationError(str(exc).removeprefix("HTTP 409: "), status_code=409,
                                             provider="daemon", request_id=None) from None
            raise

    def start(self, slug: str, command: str, path: str | None = None, env_file: str | None = None,
              **more: Any) -> ServerInfo:
        """Start ``command`` as the server ``slug`` (unique, URL-safe: letters, digits, ``-``, ``_``).

        ``path`` is its working directory; ``env_file`` (relative to ``path``) is loaded into
        its environment. ``more`` takes the protocol's other options by their wire names:
        ``environment`` (dict, wins over the env file), ``port`` (exported as ``$PORT``),
        ``strict_port``, ``install``, ``restart_policy`` (``never``, ``on-failure``,
        ``always``), ``max_restarts``, ``restart_delay_ms``, ``stop_timeout_ms``.
        A slug that is already running is a ValidationError.
        """
        if not isinstance(command, str) or not command:
            raise errors.ValidationError("command must be a non-empty string")
        _url(slug)
        body: dict[str, Any] = {"slug": slug, "start": command, **more}
        if path is not None:
            body["path"] = path
        if env_file is not None:
            body["env_file"] = env_file
        return _server_of(self._data("POST", "/servers", json=body))

    def list(self) -> builtins.list[ServerInfo]:
        """Every server of the sandbox (an empty list when there is none)."""
        data = self._data("GET", "/servers") or {}
        return [_info(item) for item in data.get("servers") or []]

    def retrieve(self, slug: str) -> ServerInfo:
        """One server by slug (NotFoundError if there is none)."""
        return _server_of(self._data("GET", _url(slug), slug))

    def stop(self, slug: str) -> None:
        """Stop a server: SIGTERM, then SIGKILL after its stop timeout. Its configuration is kept."""
        self._data("POST", _url(slug, "/stop"), slug, timeout=STOP_REQUEST_TIMEOUT)

    def restart(self, slug: str) -> ServerInfo:
        """Stop the server if it runs and start it again (a new process)."""
        return _server_of(self._data("POST", _url(slug, "/restart"), slug, timeout=STOP_REQUEST_TIMEOUT))

    def delete(self, slug: str) -> None:
        """Stop the server and forget it."""
        self._data("DELETE", _url(slug), slug, timeout=STOP_REQUEST_TIMEOUT)

    def logs(self, slug: str, stream: LogStream = "combined") -> str:
        """What the server wrote: ``stdout``, ``stderr`` or both interleaved (``combined``)."""
        if stream not in ("stdout", "stderr", "combined"):
            raise errors.ValidationError("stream must be 'stdout', 'stderr' or 'combined'")
        data = self._data("GET", _url(slug, "/logs"), slug, params={"stream": stream}) or {}
        return str(data.get("logs") or "")

    def wait_until_ready(self, slug: str, timeout: float = 60.0) -> ServerInfo:
        """Poll until the server is ``ready`` and return it.

        Raises OperationTimeoutError after ``timeout`` seconds, and ServerFailedError (with the
        end of its output) if the server fails or is stopped meanwhile.
        """
        deadline = time.monotonic() + timeout
        pause = _POLL_FIRST
        while True:
            server = self.retrieve(slug)
            if server.status == "ready":
                return server
            if server.status in ("failed", "stopped"):
                output = self.logs(slug)[-_LOG_TAIL:]
                code = "" if server.exit_code is None else f" (exit code {server.exit_code})"
                raise ServerFailedError(f"server {slug!r} is {server.status}{code}; its output:\n{output}",
                                        server=server, logs=output)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise errors.OperationTimeoutError(
                    f"server {slug!r} was not ready within {timeout} s (it is {server.status})")
            time.sleep(min(pause, remaining))
            pause = min(pause * 1.5, _POLL_MAX)
