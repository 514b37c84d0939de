"""The core's default hookimpls (``trylast``): what a provider leaves out, the core builds.

* :class:`DaemonBackend` serves commands, code and files through the sandbox's daemon when the
  provider returns one from ``sandbox_daemon``.
* :class:`CommandDefaults` builds the filesystem and ``run_code`` on ``sandbox_run_command``, with
  shell quoting and base64 so any bytes survive.
* :class:`RecordDefaults` describes a sandbox from the record its provider returned.
"""

from __future__ import annotations

import base64
import datetime as dt
import shlex
from typing import Any

import pluggy

from computesdk_core import errors
from computesdk_core.hookspecs import hookimpl
from computesdk_core.types import CodeResult, CommandResult, FileEntry, RunOptions, SandboxInfo

# Exit status our helper scripts use for "no such path".
_MISSING = 44
# Base64 characters per command line: far below the kernel's 128 KiB limit on one argument.
_WRITE_CHUNK = 96 * 1024
_FS_TIMEOUT = 120.0
_INTERPRETERS = {"python": ("python3", ".py"), "node": ("node", ".js")}


class DaemonBackend:
    """Commands, code and files through the daemon, for providers whose sandboxes run one."""

    @hookimpl(trylast=True)
    def sandbox_run_command(self, sandbox: Any, command: str, options: RunOptions) -> CommandResult | None:
        daemon = sandbox.daemon()
        return daemon.run_command(command, options) if daemon else None

    @hookimpl(trylast=True)
    def sandbox_run_code(self, sandbox: Any, code: str, language: str) -> CodeResult | None:
        daemon = sandbox.daemon()
        return daemon.run_code(code, language) if daemon else None

    @hookimpl(trylast=True)
    def sandbox_read_file(self, sandbox: Any, path: str) -> bytes | None:
        daemon = sandbox.daemon()
        return daemon.read_file(path) if daemon else None

    @hookimpl(trylast=True)
    def sandbox_write_file(self, sandbox: Any, path: str, content: bytes) -> bool | None:
        daemon = sandbox.daemon()
        if daemon is None:
            return None
        daemon.write_file(path, content)
        return True

    @hookimpl(trylast=True)
    def sandbox_mkdir(self, sandbox: Any, path: str) -> bool | None:
        daemon = sandbox.daemon()
        if daemon is None:
            return None
        daemon.mkdir(path)
        return True

    @hookimpl(trylast=True)
    def sandbox_readdir(self, sandbox: Any, path: str) -> list[FileEntry] | None:
        daemon = sandbox.daemon()
        return daemon.readdir(path) if daemon else None

    @hookimpl(trylast=True)
    def sandbox_exists(self, sandbox: Any, path: str) -> bool | None:
        daemon = sandbox.daemon()
        return daemon.exists(path) if daemon else None

    @hookimpl(trylast=True)
    def sandbox_remove(self, sandbox: Any, path: str) -> bool | None:
        daemon = sandbox.daemon()
        if daemon is None:
            return None
        daemon.remove(path)
        return True


class CommandDefaults:
    """The filesystem and ``run_code`` built on ``sandbox_run_command`` alone."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm

    def _run(self, sandbox: Any, script: str, timeout: float = _FS_TIMEOUT) -> CommandResult | None:
        result: CommandResult | None = self._pm.hook.sandbox_run_command(
            sandbox=sandbox, command=script, options=RunOptions(timeout=timeout))
        return result

    def _checked(self, sandbox: Any, script: str, path: str, action: str) -> CommandResult | None:
        result = self._run(sandbox, script)
        if result is None:
            return None
        if result.exit_code == _MISSING:
            raise errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}")
        if result.exit_code != 0:
            raise errors.ProviderAPIError(
                f"cannot {action} {path}: {result.stderr.strip() or result.stdout.strip()}",
                status_code=None, provider=getattr(sandbox, "provider", None), request_id=None,
            )
        return result

    @hookimpl(trylast=True)
    def sandbox_read_file(self, sandbox: Any, path: str) -> bytes | None:
        q = shlex.quote(path)
        result = self._checked(
            sandbox, f"[ -e {q} ] || exit {_MISSING}; [ -d {q} ] && {{ echo 'is a directory' >&2; exit 1; }}; "
            f"base64 < {q}", path, "read",
        )
        return None if result is None else base64.b64decode(result.stdout)

    @hookimpl(trylast=True)
    def sandbox_write_file(self, sandbox: Any, path: str, content: bytes) -> bool | None:
        q = shlex.quote(path)
        encoded = base64.b64encode(content).decode()
        chunks = [encoded[i : i + _WRITE_CHUNK] for i in range(0, len(encoded), _WRITE_CHUNK)] or [""]
        for index, chunk in enumerate(chunks):
            redirect = ">" if index == 0 else ">>"
            prepare = f"mkdir -p -- \"$(dirname -- {q})\" && " if index == 0 else ""
            if self._checked(sandbox, f"{prepare}printf %s {chunk} | base64 -d {redirect} {q}", path, "write") is None:
                return None
        return True

    @hookimpl(trylast=True)
    def sandbox_mkdir(self, sandbox: Any, path: str) -> bool | None:
        return None if self._checked(sandbox, f"mkdir -p -- {shlex.quote(path)}", path, "create") is None else True

    @hookimpl(trylast=True)
    def sandbox_readdir(self, sandbox: Any, path: str) -> list[FileEntry] | None:
        q = shlex.quote(path)
        # GNU find prints type, size, mtime and name NUL-terminated, so any name survives.
        result = self._checked(
            sandbox, f"[ -d {q} ] || exit {_MISSING}; find {q} -mindepth 1 -maxdepth 1 -printf '%y\\t%s\\t%T@\\t%f\\0'",
            path, "list",
        )
        if result is None:
            return None
        entries = []
        for record in result.stdout.split("\0"):
            if not record:
                continue
            kind, size, mtime, name = record.split("\t", 3)
            entries.append(FileEntry(
                name=name, type="directory" if kind == "d" else "file", size=int(size),
                modified=dt.datetime.fromtimestamp(float(mtime), dt.timezone.utc),
            ))
        return sorted(entries, key=lambda entry: entry.name)

    @hookimpl(trylast=True)
    def sandbox_exists(self, sandbox: Any, path: str) -> bool | None:
        result = self._run(sandbox, f"test -e {shlex.quote(path)}")
        return None if result is None else result.exit_code == 0

    @hookimpl(trylast=True)
    def sandbox_remove(self, sandbox: Any, path: str) -> bool | None:
        q = shlex.quote(path)
        return None if self._checked(sandbox, f"[ -e {q} ] || [ -L {q} ] || exit {_MISSING}; rm -rf -- {q}",
                                     path, "remove") is None else True

    @hookimpl(trylast=True)
    def sandbox_run_code(self, sandbox: Any, code: str, language: str) -> CodeResult | None:
        interpreter, suffix = _INTERPRETERS[language]
        encoded = base64.b64encode(code.encode()).decode()
        script = (
            f"f=$(mktemp --suffix={suffix}) && printf %s {encoded} | base64 -d > \"$f\" && "
            f"{{ {interpreter} \"$f\" 2>&1; rc=$?; rm -f \"$f\"; exit $rc; }}"
        )
        result = self._pm.hook.sandbox_run_command(sandbox=sandbox, command=script, options=RunOptions())
        if result is None:
            return None
        return CodeResult(output=result.stdout + result.stderr, exit_code=result.exit_code, language=language)


class RecordDefaults:
    """``get_info`` from the record the provider returned when it created or found the sandbox."""

    @hookimpl(trylast=True)
    def sandbox_get_info(self, sandbox: Any) -> SandboxInfo:
        record = sandbox.record
        metadata = dict(record.metadata)
        if record.name is not None:
            metadata.setdefault("name", record.name)
            metadata.setdefault("namespace", record.namespace or "default")
        return SandboxInfo(
            id=record.sandbox_id, provider=sandbox.provider, runtime=record.runtime or "python",
            status=record.status, created_at=record.created_at, timeout=record.timeout, metadata=metadata,
        )
