"""Reading and writing files through the session's ``fs`` endpoints.

A read is ``fs/read`` (the file's bytes; 404 when it does not exist). A write is ``fs/write``
with a gzipped tar built in memory: one entry named by the path relative to ``/``, extracted
with ``x-cwd: /`` (Vercel creates the missing parent directories). Relative paths are taken from
the session's working directory, as Vercel does. Listing, mkdir, exists and remove have no
endpoint; the core builds them on ``run_command``.
"""

from __future__ import annotations

import gzip
import io
import posixpath
import tarfile
import time

from computesdk_core import errors
from computesdk_vercel.handle import VercelSandbox

FILE_MODE = 0o644
# Vercel's own default working directory, for a session that does not say its own.
DEFAULT_CWD = "/vercel/sandbox"


def absolute(handle: VercelSandbox, path: str) -> str:
    """``path`` made absolute against the session's working directory, normalised."""
    if not path.startswith("/"):
        path = posixpath.join(str((handle.session or {}).get("cwd") or DEFAULT_CWD), path)
    return posixpath.normpath(path)


def tarball(path: str, content: bytes) -> bytes:
    """A gzipped tar holding ``content`` as the one file at absolute ``path`` (named relative to ``/``)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        entry = tarfile.TarInfo(path.lstrip("/"))
        entry.size = len(content)
        entry.mode = FILE_MODE
        entry.mtime = int(time.time())
        archive.addfile(entry, io.BytesIO(content))
    # mtime 0 in the gzip header: the same file always gives the same bytes.
    return gzip.compress(raw.getvalue(), mtime=0)


def read(handle: VercelSandbox, path: str) -> bytes:
    """A file's bytes; PathNotFoundError when it does not exist."""
    target = absolute(handle, path)
    data = handle.call(lambda session_id: handle.api.read_file(session_id, target))
    if data is None:
        raise errors.PathNotFoundError(f"no such file in the sandbox: {path}")
    return data


def write(handle: VercelSandbox, path: str, content: bytes) -> None:
    """Create or replace a file, with its missing parent directories."""
    target = absolute(handle, path)
    if target == "/":
        raise errors.ValidationError("cannot write a file at /")
    body = tarball(target, content)
    handle.call(lambda session_id: handle.api.write_files(session_id, body, "/"))
