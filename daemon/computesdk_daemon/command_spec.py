"""What a command runs with: shell, working directory, environment, timeout."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from computesdk_daemon.errors import ApiError
from computesdk_daemon.request_body import get_seconds, get_str, get_str_map, require_str


def default_shell() -> str:
    """``/bin/bash`` where it exists, else ``/bin/sh``."""
    return "/bin/bash" if os.access("/bin/bash", os.X_OK) else "/bin/sh"


def command_environment(extra: dict[str, str]) -> dict[str, str]:
    """The daemon's environment (the token was removed from it at start) plus ``extra``."""
    for key, value in extra.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise ApiError(400, f"invalid environment variable: {key!r}")
    return {**os.environ, **extra}


def resolve_cwd(workdir: Path, cwd: str | None) -> str:
    """An existing directory, relative paths taken from ``workdir``; 404 if it does not exist."""
    if cwd is None:
        return str(workdir)
    path = workdir / cwd
    if not path.exists():
        raise ApiError(404, f"working directory does not exist: {cwd}")
    if not path.is_dir():
        raise ApiError(400, f"working directory is not a directory: {cwd}")
    return os.path.abspath(path)


def find_program(program: str, env: dict[str, str]) -> str | None:
    """Where ``program`` is (looked up on the command's PATH unless it has a slash)."""
    return shutil.which(program, path=env.get("PATH", os.defpath))


@dataclass(frozen=True)
class CommandSpec:
    """A shell command ready to spawn."""

    command: str
    argv: list[str]
    cwd: str
    env: dict[str, str]
    timeout: float | None


def parse_command(body: dict[str, Any], workdir: Path) -> CommandSpec:
    """Check a /run/command body and turn it into a spec (400/404 on bad input)."""
    command = require_str(body, "command")
    env = command_environment(get_str_map(body, "env"))
    cwd = resolve_cwd(workdir, get_str(body, "cwd"))
    shell = get_str(body, "shell") or default_shell()
    if find_program(shell, env) is None:
        raise ApiError(400, f"shell not found: {shell}")
    return CommandSpec(
        command=command,
        argv=[shell, "-c", command],
        cwd=cwd,
        env=env,
        timeout=get_seconds(body, "timeout"),
    )
