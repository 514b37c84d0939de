"""Sandbox: the object users drive, and its ``filesystem`` namespace."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from computesdk_core import errors
from computesdk_core.codelang import normalise_language
from computesdk_core.context import SandboxContext
from computesdk_core.types import CodeResult, CommandResult, FileEntry, OutputHandler, RunOptions, SandboxInfo

if TYPE_CHECKING:
    from computesdk_core.namespaces.auth import MagicLinks, SessionTokens
    from computesdk_core.namespaces.env import EnvFiles
    from computesdk_core.namespaces.files import Files
    from computesdk_core.namespaces.servers import Servers
    from computesdk_core.namespaces.signals import Signals
    from computesdk_core.namespaces.terminals import Terminals
    from computesdk_core.namespaces.watchers import Watchers


class Sandbox:
    """One sandbox on one provider. Blocking methods; safe to use from several threads.

    ``with compute.sandbox.create() as sandbox:`` destroys the sandbox on exit; :meth:`close`
    only drops this process's connections and leaves the sandbox running.
    """

    def __init__(self, context: SandboxContext) -> None:
        self._context = context
        self._host = context.host
        self._destroyed = False
        self._lock = threading.Lock()
        self._namespaces: dict[str, Any] = {}
        self.filesystem = Filesystem(self)

    def __repr__(self) -> str:
        return f"Sandbox(provider={self.provider!r}, sandbox_id={self.sandbox_id!r})"

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    @property
    def sandbox_id(self) -> str:
        """The provider's id of this sandbox."""
        return self._context.sandbox_id

    @property
    def provider(self) -> str:
        """The name of the provider hosting this sandbox."""
        return self._context.provider

    @property
    def name(self) -> str | None:
        """The name it was created with (named sandboxes), if any."""
        return self._context.record.name

    @property
    def namespace(self) -> str | None:
        """The namespace of a named sandbox, if any."""
        return self._context.record.namespace

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The metadata it was created with."""
        return self._context.record.metadata

    def _call(self, hook: str, feature: str, **kwargs: Any) -> Any:
        if self._destroyed:
            raise errors.SandboxNotFoundError(f"sandbox {self.sandbox_id} was destroyed")
        return self._host.call(hook, feature, sandbox=self._context, **kwargs)

    # --- the daemon's namespaces (each needs a provider whose sandboxes run the daemon) ---------

    def _namespace(self, attribute: str, feature: str, factory: Any) -> Any:
        with self._lock:
            made = self._namespaces.get(attribute)
            if made is None:
                self._context.require_daemon(feature)
                made = self._namespaces[attribute] = factory(lambda: self._context.require_daemon(feature))
            return made

    @property
    def terminals(self) -> Terminals:
        """PTY and exec terminals: ``create``, ``list``, ``retrieve``, ``destroy``."""
        from computesdk_core.namespaces.terminals import Terminals

        terminals: Terminals = self._namespace("terminals", "terminals", Terminals)
        return terminals

    @property
    def servers(self) -> Servers:
        """Managed servers: ``start``, ``list``, ``retrieve``, ``stop``, ``restart``."""
        from computesdk_core.namespaces.servers import Servers

        servers: Servers = self._namespace("servers", "servers", Servers)
        return servers

    @property
    def env(self) -> EnvFiles:
        """Env files: ``retrieve``, ``update``, ``remove``, ``exists``."""
        from computesdk_core.namespaces.env import EnvFiles

        env: EnvFiles = self._namespace("env", "env", EnvFiles)
        return env

    @property
    def files(self) -> Files:
        """Files, resource style: ``create``, ``list``, ``retrieve``, ``destroy``, ``exists``, ``batch_write``."""
        from computesdk_core.namespaces.files import Files

        files: Files = self._namespace("files", "files", Files)
        return files

    @property
    def watchers(self) -> Watchers:
        """File watchers: ``create``, ``list``, ``retrieve``, ``destroy``."""
        from computesdk_core.namespaces.watchers import Watchers

        watchers: Watchers = self._namespace("watchers", "watchers", Watchers)
        return watchers

    @property
    def signals(self) -> Signals:
        """Port, error and server-ready signals: ``start``, ``status``, ``stop``, ``emit_*``."""
        from computesdk_core.namespaces.signals import Signals

        signals: Signals = self._namespace("signals", "signals", Signals)
        return signals

    @property
    def session_tokens(self) -> SessionTokens:
        """Delegated tokens: ``create``, ``list``, ``retrieve``, ``revoke``."""
        from computesdk_core.namespaces.auth import SessionTokens

        tokens: SessionTokens = self._namespace("session_tokens", "session_tokens", SessionTokens)
        return tokens

    @property
    def magic_links(self) -> MagicLinks:
        """One-time browser links: ``create``."""
        from computesdk_core.namespaces.auth import MagicLinks

        links: MagicLinks = self._namespace("magic_links", "magic_links", MagicLinks)
        return links

    def supports(self, feature: str) -> bool:
        """Whether this sandbox's provider serves ``feature`` (e.g. "pty", "named", "snapshots")."""
        return feature in self._host.capabilities()

    def run_command(
        self,
        command: str,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
        background: bool = False,
        on_stdout: OutputHandler | None = None,
        on_stderr: OutputHandler | None = None,
    ) -> CommandResult:
        """Run a shell command string; a non-zero exit code is a result, not an exception.

        ``timeout`` is in seconds: past it the command's process tree is killed and
        :class:`~computesdk_core.errors.CommandTimeoutError` is raised with the output so far.
        ``on_stdout``/``on_stderr`` receive output while the command runs. ``background`` returns
        at once with exit code 0.
        """
        if not isinstance(command, str) or not command.strip():
            raise errors.ValidationError("command must be a non-empty string")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            raise errors.ValidationError(f"timeout must be a positive number of seconds, not {timeout!r}")
        env = dict(env or {})
        for key, value in env.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise errors.ValidationError("env must map str to str")
        options = RunOptions(cwd=cwd, env=env, timeout=timeout, background=background,
                             on_stdout=on_stdout, on_stderr=on_stderr)
        result: CommandResult = self._call("sandbox_run_command", "run_command", command=command, options=options)
        return result

    def run_code(self, code: str, language: str | None = None) -> CodeResult:
        """Run a Python or Node.js snippet; the language is detected when not given."""
        if not isinstance(code, str):
            raise errors.ValidationError("code must be a string")
        resolved = normalise_language(language, code)
        result: CodeResult = self._call("sandbox_run_code", "run_code", code=code, language=resolved)
        return result

    def get_info(self) -> SandboxInfo:
        """Describe the sandbox: id, provider, runtime, status, created_at, timeout, metadata."""
        info: SandboxInfo = self._call("sandbox_get_info", "get_info")
        return info

    def get_url(self, port: int, protocol: str = "https") -> str:
        """The URL at which ``port`` inside the sandbox is reachable."""
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise errors.ValidationError(f"port must be an integer from 1 to 65535, not {port!r}")
        url: str = self._call("sandbox_get_url", "get_url", port=port, protocol=protocol)
        return url

    def get_instance(self) -> Any:
        """The provider's native handle, for what this interface does not cover."""
        return self._context.record.native

    def extend_timeout(self, duration: float = 900) -> None:
        """Push this sandbox's expiry ``duration`` seconds further."""
        self._host.call("sandbox_extend_timeout", "extend_timeout", config=self._context.config,
                        sandbox_id=self.sandbox_id, duration=duration)

    def destroy(self) -> None:
        """Destroy the sandbox with all its processes and files; idempotent."""
        with self._lock:
            if self._destroyed:
                return
            self._context.close()
            self._host.call("sandbox_destroy", "destroy", config=self._context.config, sandbox_id=self.sandbox_id)
            self._destroyed = True

    def close(self) -> None:
        """Close this object's connections and threads; the sandbox keeps running. Idempotent."""
        self._context.close()


class Filesystem:
    """``sandbox.filesystem``: files and directories inside the sandbox."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def _call(self, hook: str, **kwargs: Any) -> Any:
        path = kwargs.get("path")
        if not isinstance(path, str) or not path:
            raise errors.ValidationError("path must be a non-empty string")
        return self._sandbox._call(hook, "filesystem", **kwargs)

    def read_file(self, path: str) -> str:
        """Return a file's content as UTF-8 text (use :meth:`read_bytes` for binary files)."""
        data: bytes = self._call("sandbox_read_file", path=path)
        return data.decode("utf-8")

    def read_bytes(self, path: str) -> bytes:
        """Return a file's content as bytes."""
        data: bytes = self._call("sandbox_read_file", path=path)
        return data

    def write_file(self, path: str, content: str | bytes) -> None:
        """Create or replace a file (text is written as UTF-8); missing parent directories are made."""
        if isinstance(content, str):
            content = content.encode("utf-8")
        elif isinstance(content, (bytearray, memoryview)):
            content = bytes(content)
        elif not isinstance(content, bytes):
            raise errors.ValidationError(f"content must be str or bytes, not {type(content).__name__}")
        self._call("sandbox_write_file", path=path, content=content)

    def mkdir(self, path: str) -> None:
        """Create a directory and its parents; no error when it exists."""
        self._call("sandbox_mkdir", path=path)

    def readdir(self, path: str) -> list[FileEntry]:
        """List a directory's entries."""
        entries: list[FileEntry] = self._call("sandbox_readdir", path=path)
        return entries

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists; never raises for a missing path."""
        found: bool = self._call("sandbox_exists", path=path)
        return found

    def remove(self, path: str) -> None:
        """Remove a file or a directory with everything in it."""
        self._call("sandbox_remove", path=path)
