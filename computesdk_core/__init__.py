"""computesdk: one blocking Python API for code-execution sandboxes on any provider.

``from computesdk_core import compute`` gives the ready singleton, configured from the
environment; ``compute(provider="local")`` gives an independently configured instance.
"""

from computesdk_core import errors
from computesdk_core.compute import Compute, compute
from computesdk_core.hookspecs import hookimpl
from computesdk_core.sandbox import Filesystem, Sandbox
from computesdk_core.secrets import Secret
from computesdk_core.types import (
    CodeResult,
    CommandResult,
    CreateOptions,
    DaemonEndpoint,
    FileEntry,
    FileInfo,
    RunOptions,
    SandboxInfo,
    SandboxRecord,
    SnapshotInfo,
    TemplateInfo,
)

__all__ = [
    "CodeResult", "CommandResult", "Compute", "CreateOptions", "DaemonEndpoint", "FileEntry", "FileInfo",
    "Filesystem", "RunOptions", "Sandbox", "SandboxInfo", "SandboxRecord", "Secret", "SnapshotInfo",
    "TemplateInfo", "compute", "errors", "hookimpl",
]
