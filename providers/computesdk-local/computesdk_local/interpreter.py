"""What the daemon's interpreter needs to see inside a sandbox: its prefixes, import paths and our packages."""

from __future__ import annotations

import json
import os
import subprocess
import threading

from computesdk_core.errors import ConfigurationError

# Run in the interpreter itself, so that a configured ``python`` other than ours is described right.
_PROBE = r"""
import importlib.util, json, os, sys
packages = {}
for name in ("computesdk_daemon", "computesdk_core"):
    spec = importlib.util.find_spec(name)
    packages[name] = list(spec.submodule_search_locations or []) if spec else None
print(json.dumps({
    "paths": [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.realpath(sys.executable))] + [p for p in sys.path if p],
    "packages": packages,
}))
"""
_PROBE_TIMEOUT = 30.0

_cache: dict[str, tuple[str, ...]] = {}
_cache_lock = threading.Lock()


def daemon_paths(python: str) -> tuple[str, ...]:
    """Return the host paths that ``python -I -m computesdk_daemon`` reads, literal and resolved.

    Raises ConfigurationError when the interpreter does not run or cannot import the daemon.
    The answer is cached per interpreter for the life of this process.
    """
    with _cache_lock:
        if python in _cache:
            return _cache[python]
    paths = _probe(python)
    with _cache_lock:
        _cache[python] = paths
    return paths


def _probe(python: str) -> tuple[str, ...]:
    try:
        done = subprocess.run(
            [python, "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT,
            env={"PATH": os.defpath, "LANG": "C.UTF-8"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigurationError(f"local: cannot run the daemon's interpreter {python!r}: {exc}") from None
    if done.returncode != 0:
        raise ConfigurationError(
            f"local: the daemon's interpreter {python!r} failed (exit {done.returncode}): {done.stderr[-500:]}"
        )
    info = json.loads(done.stdout)
    missing = [name for name, locations in info["packages"].items() if locations is None]
    if missing:
        raise ConfigurationError(
            f"local: the interpreter {python!r} cannot import {', '.join(missing)}; "
            "install computesdk-daemon into it (pip install computesdk-daemon) or set the local option 'python'"
        )
    found: list[str] = [python, os.path.dirname(python)]
    found += info["paths"]
    for locations in info["packages"].values():
        found += locations
    paths: list[str] = []
    for path in found:
        for variant in (os.path.abspath(path), os.path.realpath(path)):
            if os.path.exists(variant) and variant not in paths:
                paths.append(variant)
    return tuple(paths)
