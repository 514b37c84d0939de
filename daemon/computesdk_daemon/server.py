"""Running the daemon: listen, announce readiness, and stop cleanly when the sandbox ends."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

from aiohttp import web

from computesdk_daemon.app import build_app
from computesdk_daemon.config import DaemonConfig
from computesdk_daemon.lifetime import LIFETIME

# How long aiohttp waits for in-flight requests once processes are killed and sockets closed.
SHUTDOWN_TIMEOUT = 2.0


def connect_url(host: str, port: int) -> str:
    """The URL a local client uses (a wildcard listen address is reached on loopback)."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def write_ready_file(path: Path, port: int, url: str) -> None:
    """Write ``{"port", "pid", "url"}`` atomically: readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"port": port, "pid": os.getpid(), "url": url}), encoding="utf-8")
    os.replace(temporary, path)


async def serve(config: DaemonConfig) -> int:
    """Serve until SIGTERM, SIGINT or the sandbox's deadline; returns the exit status."""
    app = build_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    loop = asyncio.get_running_loop()
    lifetime = app[LIFETIME]
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lifetime.end, signal.Signals(signum).name)
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        port = int(runner.addresses[0][1])
        if config.ready_file is not None:
            write_ready_file(config.ready_file, port, connect_url(config.host, port))
        print(f"computesdk-daemon listening on {connect_url(config.host, port)}", flush=True)
        await lifetime.ended.wait()
    finally:
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 0
