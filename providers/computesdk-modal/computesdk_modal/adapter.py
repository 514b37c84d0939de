"""ModalAdapter: every call this provider makes to the ``modal`` package, and nothing else.

The plugin talks only to an adapter (this class, or in tests a fake with the same methods), in
computesdk terms: sandbox ids, seconds, computesdk errors and value types. ``modal`` is imported
on the first call that needs it, so importing computesdk (or this module) never loads it.
Modal's public objects are blocking when called plainly (its ``synchronicity`` layer runs the
async implementation on Modal's own event-loop thread).
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import attrs

from computesdk_core import errors
from computesdk_core.secrets import Secret
from computesdk_core.types import FileEntry

PROVIDER = "modal"
# Modal's image ids; anything else is a registry reference such as "python:3.12-slim".
IMAGE_ID_PREFIX = "im-"


@attrs.frozen
class SandboxView:
    """A Modal sandbox as the plugin sees it: ``exit_code`` is None while it runs."""

    sandbox_id: str
    exit_code: int | None
    tags: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def running(self) -> bool:
        """Whether the sandbox has not finished."""
        return self.exit_code is None


@attrs.frozen
class TunnelView:
    """The public end of one declared port: TLS on ``host:port``."""

    host: str
    port: int


class ProcessHandle(Protocol):
    """A command started by ``exec``: its output streams and its exit code."""

    @property
    def stdout(self) -> Iterator[str]:
        """Chunks of standard output as they arrive; ends when the process does."""

    @property
    def stderr(self) -> Iterator[str]:
        """Chunks of standard error as they arrive; ends when the process does."""

    def wait(self) -> int:
        """Block until the process ends; its exit code, or -1 when its ``timeout`` killed it."""


def whole_seconds(seconds: float | None) -> int | None:
    """Modal takes whole seconds: round up, so a limit is never shorter than asked."""
    return None if seconds is None else max(1, math.ceil(seconds))


class ModalAdapter:
    """The Modal client for one configuration: tokens, App name and environment."""

    def __init__(self, token_id: Secret, token_secret: Secret, app_name: str, environment: str | None = None) -> None:
        self._token_id = token_id
        self._token_secret = token_secret
        self._app_name = app_name
        self._environment = environment
        self._lock = threading.Lock()
        self._client: Any = None
        self._app: Any = None
        self._images: dict[str, Any] = {}
        self._handles: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"ModalAdapter(app_name={self._app_name!r}, environment={self._environment!r})"

    # --- connection and lookups -----------------------------------------------------------

    def _modal(self) -> Any:
        try:
            import modal
        except ImportError as exc:  # pragma: no cover - modal is an install requirement
            raise errors.ConfigurationError("provider 'modal' needs the modal package: pip install computesdk-modal") from exc
        return modal

    def _connect(self) -> tuple[Any, Any]:
        """The Modal client and App, made once (the App is created when missing)."""
        with self._lock:
            if self._app is None:
                modal = self._modal()
                with translated("connect to Modal"):
                    client = modal.Client.from_credentials(self._token_id.reveal(), self._token_secret.reveal())
                    self._app = modal.App.lookup(self._app_name, client=client, environment_name=self._environment,
                                                 create_if_missing=True)
                self._client = client
            return self._client, self._app

    def _image(self, reference: str) -> Any:
        with self._lock:
            image = self._images.get(reference)
        if image is None:
            modal = self._modal()
            # Image.from_id asks Modal about the id, so it runs outside the lock.
            try:
                with translated(f"find image {reference}"):
                    if reference.startswith(IMAGE_ID_PREFIX):
                        image = modal.Image.from_id(reference, client=self._client)
                    else:
                        image = modal.Image.from_registry(reference)
            except errors.NotFoundError as exc:
                raise errors.ValidationError(f"modal: no image {reference} (snapshot or template id)") from exc
            with self._lock:
                image = self._images.setdefault(reference, image)
        return image

    def _sandbox(self, sandbox_id: str) -> Any:
        with self._lock:
            handle = self._handles.get(sandbox_id)
        if handle is not None:
            return handle
        client, _ = self._connect()
        with translated(f"find sandbox {sandbox_id}"):
            handle = self._modal().Sandbox.from_id(sandbox_id, client=client)
        with self._lock:
            self._handles[sandbox_id] = handle
        return handle

    def _view(self, handle: Any) -> SandboxView:
        with translated(f"describe sandbox {handle.object_id}"):
            return SandboxView(sandbox_id=handle.object_id, exit_code=handle.poll(), tags=dict(handle.get_tags()))

    # --- lifecycle ------------------------------------------------------------------------

    def create_sandbox(self, *, image: str, timeout: float | None, envs: Mapping[str, str], ports: Sequence[int],
                       tags: Mapping[str, str], options: Mapping[str, Any]) -> SandboxView:
        """Create a sandbox (``Sandbox.create``); ``options`` go to Modal as they are (cpu, memory, gpu...)."""
        client, app = self._connect()
        source = self._image(image)
        with translated("create a sandbox"):
            handle = self._modal().Sandbox.create(
                app=app, image=source, timeout=whole_seconds(timeout), env=dict(envs) or None,
                encrypted_ports=list(ports), tags=dict(tags) or None, client=client,
                environment_name=self._environment, **options,
            )
        with self._lock:
            self._handles[handle.object_id] = handle
        return SandboxView(sandbox_id=handle.object_id, exit_code=None, tags=dict(tags))

    def from_id(self, sandbox_id: str) -> SandboxView | None:
        """The sandbox (running or finished), or None when Modal does not know the id."""
        try:
            return self._view(self._sandbox(sandbox_id))
        except (errors.NotFoundError, errors.ValidationError):
            # Modal refuses a malformed id as invalid: such a sandbox does not exist either.
            return None

    def list(self, tags: Mapping[str, str] | None = None) -> list[SandboxView]:
        """The running sandboxes of the App, those holding at least ``tags`` when given."""
        client, app = self._connect()
        with translated("list sandboxes"):
            handles = list(self._modal().Sandbox.list(app_id=app.app_id, tags=dict(tags) if tags else None, client=client))
        return [self._view(handle) for handle in handles]

    def terminate(self, sandbox_id: str) -> None:
        """Stop the sandbox; nothing happens when it is unknown or already finished."""
        try:
            handle = self._sandbox(sandbox_id)
        except errors.NotFoundError:
            return
        with translated(f"terminate sandbox {sandbox_id}"):
            handle.terminate()
            handle.detach()
        with self._lock:
            self._handles.pop(sandbox_id, None)

    # --- commands -------------------------------------------------------------------------

    def exec(self, sandbox_id: str, argv: Sequence[str], *, workdir: str | None = None,
             env: Mapping[str, str] | None = None, timeout: float | None = None) -> ProcessHandle:
        """Start ``argv`` (``Sandbox.exec``, text streams); Modal kills it after ``timeout`` seconds."""
        handle = self._sandbox(sandbox_id)
        with translated(f"run a command in sandbox {sandbox_id}"):
            process = handle.exec(*argv, workdir=workdir, env=dict(env) if env else None,
                                  timeout=whole_seconds(timeout), text=True)
        return ModalProcess(process)

    # --- files ----------------------------------------------------------------------------

    def read_file(self, sandbox_id: str, path: str) -> bytes:
        """A file's bytes (``filesystem.read_bytes``)."""
        with translated(f"read {path}", path=path):
            return bytes(self._sandbox(sandbox_id).filesystem.read_bytes(path))

    def write_file(self, sandbox_id: str, path: str, data: bytes) -> None:
        """Create or replace a file; Modal creates missing parents (``filesystem.write_bytes``)."""
        with translated(f"write {path}", path=path):
            self._sandbox(sandbox_id).filesystem.write_bytes(data, path)

    def make_directory(self, sandbox_id: str, path: str) -> None:
        """Create a directory and its parents; fine when it exists."""
        with translated(f"create {path}", path=path):
            self._sandbox(sandbox_id).filesystem.make_directory(path, create_parents=True)

    def list_dir(self, sandbox_id: str, path: str) -> builtins.list[FileEntry]:
        """A directory's entries (``filesystem.list_files``)."""
        with translated(f"list {path}", path=path):
            infos = self._sandbox(sandbox_id).filesystem.list_files(path)
        return [_entry(info) for info in infos]

    def stat(self, sandbox_id: str, path: str) -> FileEntry | None:
        """What is at ``path``, or None when nothing is."""
        try:
            with translated(f"inspect {path}", path=path):
                return _entry(self._sandbox(sandbox_id).filesystem.stat(path))
        except errors.PathNotFoundError:
            return None

    def remove(self, sandbox_id: str, path: str, recursive: bool) -> None:
        """Remove a file, or a directory (with its contents when ``recursive``)."""
        with translated(f"remove {path}", path=path):
            self._sandbox(sandbox_id).filesystem.remove(path, recursive=recursive)

    # --- ports and snapshots --------------------------------------------------------------

    def tunnels(self, sandbox_id: str, timeout: float) -> dict[int, TunnelView]:
        """The TLS tunnels of the ports declared at create, by container port."""
        with translated(f"get the tunnels of sandbox {sandbox_id}"):
            tunnels = self._sandbox(sandbox_id).tunnels(timeout=whole_seconds(timeout))
        return {int(port): TunnelView(host=tunnel.host, port=int(tunnel.port)) for port, tunnel in tunnels.items()}

    def snapshot_filesystem(self, sandbox_id: str, timeout: float) -> str:
        """Snapshot the sandbox's file system; the id (``im-...``) of the image it becomes."""
        with translated(f"snapshot sandbox {sandbox_id}"):
            image = self._sandbox(sandbox_id).snapshot_filesystem(timeout=whole_seconds(timeout))
        return str(image.object_id)


class ModalProcess:
    """A ``modal.container_process.ContainerProcess`` behind the ProcessHandle interface."""

    def __init__(self, process: Any) -> None:
        self._process = process

    @property
    def stdout(self) -> Iterator[str]:
        """Standard output chunks (ends quietly at Modal's exec deadline)."""
        return _chunks(self._process.stdout)

    @property
    def stderr(self) -> Iterator[str]:
        """Standard error chunks (ends quietly at Modal's exec deadline)."""
        return _chunks(self._process.stderr)

    def wait(self) -> int:
        """The exit code: 128+N for signal N, -1 when the exec timeout ended it."""
        with translated("wait for a command"):
            return int(self._process.wait())


def _chunks(stream: Any) -> Iterator[str]:
    from modal.exception import TimeoutError as ModalTimeout

    try:
        for chunk in stream:
            yield chunk if isinstance(chunk, str) else chunk.decode("utf-8", "replace")
    except ModalTimeout:
        return  # the deadline killed the process; wait() reports it as exit code -1
    except Exception as exc:  # noqa: BLE001 - translated below, then re-raised
        raise _translate(exc, "read command output", None) from exc


def _entry(info: Any) -> FileEntry:
    kind = getattr(info.type, "value", info.type)
    return FileEntry(name=info.name, type="directory" if kind == "directory" else "file", size=int(info.size),
                     modified=dt.datetime.fromtimestamp(float(info.modified_time), dt.timezone.utc))


@contextlib.contextmanager
def translated(action: str, path: str | None = None) -> Iterator[None]:
    """Turn a ``modal`` exception raised inside into the matching computesdk error."""
    try:
        yield
    except errors.ComputeSDKError:
        raise
    except Exception as exc:
        mapped = _translate(exc, action, path)
        if mapped is exc:
            raise
        raise mapped from exc


def _translate(exc: Exception, action: str, path: str | None) -> Exception:
    """The computesdk error for a ``modal`` exception (``exc`` itself when it is not Modal's)."""
    import modal.exception as mx

    message = f"modal: cannot {action}: {exc}"
    if isinstance(exc, mx.SandboxFilesystemNotFoundError):
        return errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}")
    if isinstance(exc, (mx.NotFoundError, mx.SandboxTerminatedError)):
        return errors.SandboxNotFoundError(message)
    if isinstance(exc, mx.AuthError):
        return errors.AuthenticationError(message)
    if isinstance(exc, mx.PermissionDeniedError):
        return errors.PermissionDeniedError(message)
    if isinstance(exc, mx.InvalidError):
        return errors.ValidationError(message)
    if isinstance(exc, mx.ResourceExhaustedError):
        return errors.RateLimitError(message, status_code=None, provider=PROVIDER, request_id=None, retry_after=None)
    if isinstance(exc, mx.TimeoutError):
        return errors.OperationTimeoutError(message)
    if isinstance(exc, mx.ConnectionError):
        return errors.ConnectionLostError(message)
    if isinstance(exc, mx.Error):
        return errors.ProviderAPIError(message, status_code=None, provider=PROVIDER, request_id=None)
    if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
        return errors.ValidationError(f"modal: {exc}")
    return exc
