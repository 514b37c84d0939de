"""Reading and writing files through Runloop's file endpoints.

Reads use ``download_file`` (any bytes). Writes use ``write_file_contents`` for UTF-8 text and
``upload_file`` for other bytes and for large files. The API does not say how it reports a missing
file or a missing parent directory, so a failed call is explained by a command: ``test -e`` turns a
failed read of a missing path into PathNotFoundError, and a failed write is retried once after
``mkdir -p`` of the parent. Listing, mkdir, exists and remove have no endpoint; the core builds them
on ``run_command``.
"""

from __future__ import annotations

import posixpath
import shlex

from computesdk_core import errors
from computesdk_core.types import RunOptions
from computesdk_runloop import commands
from computesdk_runloop.api import RunloopAPI
from computesdk_runloop.config import PROVIDER

# write_file_contents is for text up to 100 MB; larger files go through upload_file.
TEXT_WRITE_LIMIT = 64 * 1024 * 1024
_CHECK_TIMEOUT = 60.0
# Failures a filesystem check cannot explain.
_FINAL = (errors.AuthenticationError, errors.RateLimitError, errors.SandboxNotFoundError,
          errors.ConnectionLostError, errors.OperationTimeoutError)


def read(api: RunloopAPI, devbox_id: str, path: str) -> bytes:
    """A file's bytes; PathNotFoundError when it does not exist."""
    try:
        return api.download_file(devbox_id, path)
    except _FINAL:
        raise
    except errors.ComputeSDKError as failure:
        if not _exists(api, devbox_id, path):
            raise errors.PathNotFoundError(f"no such file or directory in the sandbox: {path}") from failure
        raise


def write(api: RunloopAPI, devbox_id: str, path: str, content: bytes) -> None:
    """Create or replace a file, making missing parent directories."""
    try:
        _put(api, devbox_id, path, content)
    except _FINAL:
        raise
    except errors.ComputeSDKError as failure:
        parent = posixpath.dirname(path.rstrip("/"))
        if not parent:
            raise
        made = commands.run(api, devbox_id, f"mkdir -p -- {shlex.quote(parent)}", RunOptions(timeout=_CHECK_TIMEOUT))
        if made.exit_code != 0:
            raise failure from None
        _put(api, devbox_id, path, content)


def _put(api: RunloopAPI, devbox_id: str, path: str, content: bytes) -> None:
    try:
        text = content.decode("utf-8") if len(content) <= TEXT_WRITE_LIMIT else None
    except UnicodeDecodeError:
        text = None
    if text is None:
        api.upload_file(devbox_id, path, content)
        return
    result = api.write_file_contents(devbox_id, path, text)
    status = result.get("exit_status")
    if status != 0:
        detail = (result.get("stderr") or result.get("stdout") or "").strip() or f"exit status {status}"
        raise errors.ProviderAPIError(f"runloop could not write {path}: {detail}", status_code=200,
                                      provider=PROVIDER, request_id=None)


def _exists(api: RunloopAPI, devbox_id: str, path: str) -> bool:
    result = commands.run(api, devbox_id, f"test -e {shlex.quote(path)}", RunOptions(timeout=_CHECK_TIMEOUT))
    return result.exit_code == 0
