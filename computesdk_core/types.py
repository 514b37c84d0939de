"""Value types of the public API and of the plugin interface (attrs classes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Literal

import attrs

OutputHandler = Callable[[str], None]
FileType = Literal["file", "directory"]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@attrs.frozen
class CommandResult:
    """What a finished command gave back. A non-zero ``exit_code`` is a result, not an error."""

    stdout: str
    stderr: str
    exit_code: int
    duration_ms: int


@attrs.frozen
class CodeResult:
    """What ``run_code`` gave back: stdout and stderr combined, and the language it ran as."""

    output: str
    exit_code: int
    language: str


@attrs.frozen
class SandboxInfo:
    """A sandbox as its provider describes it; ``timeout`` is in seconds."""

    id: str
    provider: str
    runtime: str
    status: str
    created_at: dt.datetime
    timeout: float | None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class FileEntry:
    """One entry of ``filesystem.readdir``."""

    name: str
    type: FileType
    size: int
    modified: dt.datetime


@attrs.frozen
class FileInfo:
    """A file as the daemon's resource-style ``files`` API describes it."""

    name: str
    path: str
    size: int
    is_dir: bool
    modified_at: dt.datetime


@attrs.frozen
class SnapshotInfo:
    """A saved state of a sandbox's file system."""

    id: str
    provider: str
    created_at: dt.datetime
    name: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class TemplateInfo:
    """A reusable image or template a provider creates sandboxes from."""

    id: str
    provider: str
    name: str | None = None
    created_at: dt.datetime | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class DaemonEndpoint:
    """Where a sandbox's computesdk daemon answers, and the access token it accepts."""

    url: str
    token: str = attrs.field(repr=False)


@attrs.frozen
class CreateOptions:
    """Everything ``compute.sandbox.create`` was asked for; ``timeout`` is in seconds."""

    timeout: float | None = None
    template_id: str | None = None
    snapshot_id: str | None = None
    image: str | None = None
    runtime: str | None = None
    envs: Mapping[str, str] = attrs.field(factory=dict)
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    name: str | None = None
    namespace: str | None = None
    provider_options: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class RunOptions:
    """Options of one ``run_command`` call; ``timeout`` is in seconds, ``None`` for no limit."""

    cwd: str | None = None
    env: Mapping[str, str] = attrs.field(factory=dict)
    timeout: float | None = None
    background: bool = False
    on_stdout: OutputHandler | None = attrs.field(default=None, eq=False)
    on_stderr: OutputHandler | None = attrs.field(default=None, eq=False)


@attrs.define
class SandboxRecord:
    """What a provider plugin returns for a sandbox it created or found.

    ``native`` is the provider's own handle (returned by ``Sandbox.get_instance()``);
    the other fields feed ``get_info`` when the provider does not implement it.
    """

    sandbox_id: str
    native: Any = None
    status: str = "running"
    runtime: str | None = None
    created_at: dt.datetime = attrs.field(factory=_utcnow)
    timeout: float | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    name: str | None = None
    namespace: str | None = None
