"""FakeAdapter: ModalAdapter's interface served by real local sandboxes, for tests without Modal.

Commands run for real in bubblewrap sandboxes (``LocalBackend``) with their output streamed as it
comes; files go through the local sandbox's file system; tunnels are made-up host names of the
ports declared at create (they are not reachable); a file system snapshot is a tar of the
writable directories, restored into a sandbox created from its image id.
"""

from __future__ import annotations

import base64
import builtins
import queue
import secrets
import shlex
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import attrs
from computesdk_modal.adapter import SandboxView, TunnelView, whole_seconds

from computesdk_core import errors
from computesdk_core.testing.emulator import READ_ONLY_MOUNT_EXCLUDES, LocalBackend
from computesdk_core.types import FileEntry

# The writable directories of a local sandbox that are its own (/root shows the host's).
SNAPSHOT_DIRS = ("/tmp", "/home", "/srv")
TUNNEL_DOMAIN = "modal-fake.test"
_END = object()


@attrs.define
class FakeSandbox:
    """What the fake knows of one sandbox besides its local stand-in."""

    tags: dict[str, str]
    ports: tuple[int, ...]
    exit_code: int | None = None


class FakeProcess:
    """A command running in a local sandbox on a named daemon thread; output comes through queues."""

    def __init__(self, sandbox: Any, argv: Sequence[str], workdir: str | None, env: Mapping[str, str] | None,
                 timeout: int | None) -> None:
        self._queues: dict[str, queue.Queue[Any]] = {"stdout": queue.Queue(), "stderr": queue.Queue()}
        self._done = threading.Event()
        self._exit_code = -1
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(sandbox, list(argv), workdir, dict(env or {}), timeout),
                                        name="modal-fake-exec", daemon=True)
        self._thread.start()

    def _run(self, sandbox: Any, argv: list[str], workdir: str | None, env: dict[str, str], timeout: int | None) -> None:
        try:
            result = sandbox.run_command(shlex.join(argv), cwd=workdir, env=env, timeout=timeout,
                                         on_stdout=self._queues["stdout"].put, on_stderr=self._queues["stderr"].put)
            self._exit_code = result.exit_code
        except errors.CommandTimeoutError:
            self._exit_code = -1  # what Modal's ContainerProcess.wait() reports for an exec timeout
        except BaseException as exc:  # noqa: BLE001 - reported by wait()
            self._failure = exc
        finally:
            self._done.set()
            for stream in self._queues.values():
                stream.put(_END)

    def _iterate(self, name: str) -> Iterator[str]:
        while True:
            chunk = self._queues[name].get(timeout=900)
            if chunk is _END:
                return
            yield chunk

    @property
    def stdout(self) -> Iterator[str]:
        """Standard output chunks as the command prints them."""
        return self._iterate("stdout")

    @property
    def stderr(self) -> Iterator[str]:
        """Standard error chunks as the command prints them."""
        return self._iterate("stderr")

    def wait(self) -> int:
        """The exit code, -1 after a timeout (as Modal reports it)."""
        if not self._done.wait(900):
            raise errors.OperationTimeoutError("fake modal command did not end within 900 s")
        if self._failure is not None:
            raise self._failure
        return self._exit_code


class FakeAdapter:
    """ModalAdapter's methods over a LocalBackend; ``creates`` records what create_sandbox was given."""

    def __init__(self, backend: LocalBackend | None = None) -> None:
        self.backend = backend or LocalBackend()
        self._owns_backend = backend is None
        self._lock = threading.Lock()
        self._sandboxes: dict[str, FakeSandbox] = {}
        self._images: dict[str, bytes] = {}
        self.creates: list[dict[str, Any]] = []

    def close(self) -> None:
        """Destroy every local sandbox (and the backend when this fake made it)."""
        if self._owns_backend:
            self.backend.close()

    def _local(self, sandbox_id: str) -> Any:
        with self._lock:
            known = self._sandboxes.get(sandbox_id)
        local = self.backend.get(sandbox_id)
        if known is None or known.exit_code is not None or local is None:
            raise errors.SandboxNotFoundError(f"modal: sandbox {sandbox_id} not found or finished")
        return local

    # --- lifecycle ------------------------------------------------------------------------

    def create_sandbox(self, *, image: str, timeout: float | None, envs: Mapping[str, str], ports: Sequence[int],
                       tags: Mapping[str, str], options: Mapping[str, Any]) -> SandboxView:
        """Start a local sandbox; an ``im-`` image made by snapshot_filesystem is restored into it."""
        if image.startswith("im-") and image not in self._images:
            raise errors.ValidationError(f"modal: image {image} not found")
        self.creates.append({"image": image, "timeout": whole_seconds(timeout), "envs": dict(envs),
                             "ports": tuple(ports), "tags": dict(tags), "options": dict(options)})
        sandbox_id = "sb-" + secrets.token_hex(8)
        local = self.backend.create(sandbox_id, dict(envs), timeout=float(whole_seconds(timeout) or 300))
        if image in self._images:
            local.filesystem.write_file("/tmp/.modal-fake-image.tar", self._images[image])
            restored = local.run_command("tar -C / -xf /tmp/.modal-fake-image.tar && rm /tmp/.modal-fake-image.tar",
                                         timeout=60)
            assert restored.exit_code == 0, restored.stderr
        with self._lock:
            self._sandboxes[sandbox_id] = FakeSandbox(tags=dict(tags), ports=tuple(ports))
        return SandboxView(sandbox_id=sandbox_id, exit_code=None, tags=dict(tags))

    def from_id(self, sandbox_id: str) -> SandboxView | None:
        """The sandbox, finished ones included; None for an unknown id."""
        with self._lock:
            known = self._sandboxes.get(sandbox_id)
        if known is None:
            return None
        return SandboxView(sandbox_id=sandbox_id, exit_code=known.exit_code, tags=dict(known.tags))

    def list(self, tags: Mapping[str, str] | None = None) -> list[SandboxView]:
        """Running sandboxes holding at least ``tags``."""
        wanted = dict(tags or {}).items()
        with self._lock:
            return [SandboxView(sandbox_id=key, exit_code=None, tags=dict(box.tags))
                    for key, box in self._sandboxes.items() if box.exit_code is None and wanted <= box.tags.items()]

    def terminate(self, sandbox_id: str) -> None:
        """Destroy the local sandbox; the id stays known as finished (exit code 137, killed)."""
        with self._lock:
            known = self._sandboxes.get(sandbox_id)
            if known is None or known.exit_code is not None:
                return
            known.exit_code = 137
        self.backend.destroy(sandbox_id)

    # --- commands -------------------------------------------------------------------------

    def exec(self, sandbox_id: str, argv: Sequence[str], *, workdir: str | None = None,
             env: Mapping[str, str] | None = None, timeout: float | None = None) -> FakeProcess:
        """Run ``argv`` for real in the sandbox; killed after ``timeout`` whole seconds."""
        return FakeProcess(self._local(sandbox_id), argv, workdir, env, whole_seconds(timeout))

    # --- files ----------------------------------------------------------------------------

    def read_file(self, sandbox_id: str, path: str) -> bytes:
        """The file's bytes."""
        return bytes(self._local(sandbox_id).filesystem.read_bytes(path))

    def write_file(self, sandbox_id: str, path: str, data: bytes) -> None:
        """Create or replace a file with its parents."""
        self._local(sandbox_id).filesystem.write_file(path, data)

    def make_directory(self, sandbox_id: str, path: str) -> None:
        """Create a directory with its parents."""
        self._local(sandbox_id).filesystem.mkdir(path)

    def list_dir(self, sandbox_id: str, path: str) -> builtins.list[FileEntry]:
        """A directory's entries."""
        return list(self._local(sandbox_id).filesystem.readdir(path))

    def stat(self, sandbox_id: str, path: str) -> FileEntry | None:
        """What is at ``path`` (through ``stat`` in the sandbox), or None."""
        import datetime as dt

        result = self._local(sandbox_id).run_command(f"stat -c '%F|%s|%Y' -- {shlex.quote(path)}", timeout=30)
        if result.exit_code != 0:
            return None
        kind, size, mtime = result.stdout.strip().split("|")
        return FileEntry(name=path.rstrip("/").rsplit("/", 1)[-1] or "/", type="directory" if kind == "directory" else "file",
                         size=int(size), modified=dt.datetime.fromtimestamp(int(mtime), dt.timezone.utc))

    def remove(self, sandbox_id: str, path: str, recursive: bool) -> None:
        """Remove a file or directory tree."""
        self._local(sandbox_id).filesystem.remove(path)

    # --- ports and snapshots --------------------------------------------------------------

    def tunnels(self, sandbox_id: str, timeout: float) -> dict[int, TunnelView]:
        """A TLS tunnel per port declared at create, on made-up hosts that name the port."""
        self._local(sandbox_id)
        with self._lock:
            ports = self._sandboxes[sandbox_id].ports
        short = sandbox_id.removeprefix("sb-")
        return {port: TunnelView(host=f"{short}-{port}.{TUNNEL_DOMAIN}", port=443) for port in ports}

    def snapshot_filesystem(self, sandbox_id: str, timeout: float) -> str:
        """A tar of the writable directories, kept as image ``im-...``."""
        dirs = " ".join(d.lstrip("/") for d in SNAPSHOT_DIRS)
        result = self._local(sandbox_id).run_command(
            f"cd / && tar -cf - {READ_ONLY_MOUNT_EXCLUDES} --ignore-failed-read {dirs} 2>/dev/null | base64 -w0",
            timeout=whole_seconds(timeout))
        image_id = "im-" + secrets.token_hex(8)
        with self._lock:
            self._images[image_id] = base64.b64decode(result.stdout)
        return image_id
