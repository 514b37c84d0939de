"""The daemon's settings, from its command line and environment."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from computesdk_core.secrets import Secret

TOKEN_ENV = "COMPUTESDK_ACCESS_TOKEN"
SANDBOX_ID_ENV = "COMPUTESDK_SANDBOX_ID"
METADATA_ENV = "COMPUTESDK_METADATA"


class ConfigError(Exception):
    """The daemon cannot start with these settings; the message says why."""


@dataclass(frozen=True)
class DaemonConfig:
    """Everything the daemon needs to know at start."""

    token: Secret
    workdir: Path
    host: str = "127.0.0.1"
    port: int = 0
    timeout: float | None = None
    ready_file: Path | None = None
    sandbox_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))


def build_parser() -> argparse.ArgumentParser:
    """The ``computesdk-daemon`` command line."""
    parser = argparse.ArgumentParser(
        prog="computesdk-daemon",
        description=f"HTTP + WebSocket server of a computesdk sandbox. The access token is read "
        f"from ${TOKEN_ENV}.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default 0: a free one)")
    parser.add_argument("--workdir", default=None, help="directory relative paths resolve against")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="sandbox lifetime")
    parser.add_argument("--ready-file", default=None, metavar="PATH", help="JSON {port, pid, url} once up")
    return parser


def load_config(argv: Sequence[str] | None, environ: Mapping[str, str], token: str | None) -> DaemonConfig:
    """Read the settings; ``token`` was taken out of the environment by the caller."""
    args = build_parser().parse_args(argv)
    if not token:
        raise ConfigError(f"{TOKEN_ENV} is not set: the daemon refuses to start without an access token")
    workdir = Path(args.workdir or os.getcwd()).resolve()
    if not workdir.is_dir():
        raise ConfigError(f"--workdir is not a directory: {workdir}")
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError("--timeout must be a positive number of seconds")
    if not 0 <= args.port <= 65535:
        raise ConfigError("--port must be between 0 and 65535")
    metadata: Any = {}
    if environ.get(METADATA_ENV):
        try:
            metadata = json.loads(environ[METADATA_ENV])
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{METADATA_ENV} is not valid JSON: {exc}") from exc
        if not isinstance(metadata, dict):
            raise ConfigError(f"{METADATA_ENV} must be a JSON object")
    return DaemonConfig(
        token=Secret(token),
        workdir=workdir,
        host=args.host,
        port=args.port,
        timeout=args.timeout,
        ready_file=Path(args.ready_file) if args.ready_file else None,
        sandbox_id=environ.get(SANDBOX_ID_ENV) or None,
        metadata=metadata,
    )


CONFIG = web.AppKey("config", DaemonConfig)
