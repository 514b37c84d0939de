"""Where a local sandbox keeps its files under the state directory, and what a sandbox id looks like."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import stat
from pathlib import Path

import attrs

ID_PREFIX = "local-"
_ID_RE = re.compile(r"local-[0-9a-f]{12}")


def new_sandbox_id() -> str:
    """Return a fresh sandbox id: ``local-`` and 12 random hex digits."""
    return ID_PREFIX + secrets.token_hex(6)


def is_valid_sandbox_id(sandbox_id: object) -> bool:
    """Say whether ``sandbox_id`` has the exact shape of an id this provider makes (so it is safe in a path)."""
    return isinstance(sandbox_id, str) and _ID_RE.fullmatch(sandbox_id) is not None


@attrs.frozen
class StateDir:
    """The provider's state directory (``home``): one subdirectory per sandbox, and lock files."""

    home: Path

    @property
    def sandboxes(self) -> Path:
        """The directory holding one directory per sandbox."""
        return self.home / "sandboxes"

    @property
    def locks(self) -> Path:
        """The directory of lock files for named sandboxes."""
        return self.home / "locks"

    def sandbox(self, sandbox_id: str) -> SandboxDir:
        """The directory of one sandbox; ``sandbox_id`` must be valid (checked by the caller)."""
        return SandboxDir(self.sandboxes / sandbox_id)

    def name_lock(self, namespace: str, name: str) -> Path:
        """The lock file that serialises find-then-create for one ``(namespace, name)`` pair."""
        digest = hashlib.sha256(f"{namespace}\0{name}".encode()).hexdigest()[:32]
        return self.locks / f"named-{digest}.lock"

    def ensure(self) -> None:
        """Create the state directory (private to this user) if it is missing."""
        for path in (self.home, self.sandboxes, self.locks):
            path.mkdir(mode=0o700, parents=True, exist_ok=True)


@attrs.frozen
class SandboxDir:
    """The files of one sandbox on the host.

    ``fs/`` holds what the sandbox sees as its file system: ``fs/root`` is its ``/`` (new top-level
    entries land there), ``fs/upper/<dir>`` and ``fs/work/<dir>`` are the overlay layers of each
    host system directory, ``fs/masks/<n>`` are the sandbox-owned directories placed over hidden
    host paths. ``ipc/`` is the one directory shared with the daemon (its ready file).
    """

    path: Path

    @property
    def id(self) -> str:
        """The sandbox id (the directory's name)."""
        return self.path.name

    @property
    def record(self) -> Path:
        """The registry record (JSON)."""
        return self.path / "record.json"

    @property
    def token(self) -> Path:
        """The daemon's access token (mode 0600)."""
        return self.path / "token"

    @property
    def lock(self) -> Path:
        """Held (flock) while the sandbox is created or destroyed."""
        return self.path / "lock"

    @property
    def log(self) -> Path:
        """stdout and stderr of the sandbox's processes."""
        return self.path / "daemon.log"

    @property
    def info(self) -> Path:
        """What bubblewrap reports (--info-fd)."""
        return self.path / "bwrap-info.json"

    @property
    def launch_script(self) -> Path:
        """The generated mount-and-exec script."""
        return self.path / "launch.sh"

    @property
    def ipc(self) -> Path:
        """Shared with the daemon: its ready file."""
        return self.path / "ipc"

    @property
    def ready(self) -> Path:
        """The daemon's ready file (host path)."""
        return self.path / "ipc" / "ready.json"

    @property
    def forward_ready(self) -> Path:
        """The port forwarder's ready file."""
        return self.path / "forward.json"

    @property
    def fs(self) -> Path:
        """Everything the sandbox sees as its file system."""
        return self.path / "fs"

    @property
    def root(self) -> Path:
        """The sandbox's ``/``."""
        return self.path / "fs" / "root"

    @property
    def plain_tmp(self) -> Path:
        """TMPDIR with isolation 'none'."""
        return self.path / "tmp"

    @property
    def plain_root(self) -> Path:
        """Working directory with isolation 'none'."""
        return self.path / "root-dir"

    def upper(self, name: str) -> Path:
        """The overlay upper layer of host system directory ``/name``."""
        return self.fs / "upper" / name

    def work(self, name: str) -> Path:
        """The overlay work directory of host system directory ``/name``."""
        return self.fs / "work" / name

    def mask(self, name: str) -> Path:
        """A sandbox-owned directory or file placed over a hidden host path."""
        return self.fs / "masks" / name


def write_private(path: Path, text: str) -> None:
    """Create ``path`` with mode 0600 and write ``text``; fail if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` atomically (readers see the old or the new file, never half of one)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def remove_tree(path: Path) -> None:
    """Remove a sandbox directory, including directories without write or search permission.

    Overlay work directories are created with mode 000 and files written inside the sandbox may
    be read-only; without root's override those stop a plain ``rmtree``, so permissions are
    opened up and the removal tried again.
    """
    if not (path.exists() or path.is_symlink()):
        return
    try:
        shutil.rmtree(path)
        return
    except OSError:
        pass
    _open_up(path)
    shutil.rmtree(path)


def _open_up(path: Path) -> None:
    try:
        os.chmod(path, stat.S_IRWXU)
    except OSError:
        pass
    # Top-down walk: each directory is made searchable before os.walk descends into it.
    for dirpath, dirnames, _files in os.walk(path):
        for name in dirnames:
            child = os.path.join(dirpath, name)
            try:
                if not os.path.islink(child):
                    os.chmod(child, stat.S_IRWXU)
            except OSError:
                pass
