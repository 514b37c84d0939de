"""Sandbox records from Modal sandboxes: what computesdk keeps in the sandbox's tags, and reads back.

Modal has no free-form metadata, only string tags; computesdk stores there the user's metadata
(values as strings) plus its own keys, prefixed ``computesdk_`` like the other providers do.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from computesdk_core import errors
from computesdk_core.types import CreateOptions, SandboxRecord
from computesdk_modal.adapter import SandboxView

PREFIX = "computesdk_"
NAME_KEY = "computesdk_name"
NAMESPACE_KEY = "computesdk_namespace"
CREATED_KEY = "computesdk_created_at"
TIMEOUT_KEY = "computesdk_timeout"
RUNTIME_KEY = "computesdk_runtime"
DEFAULT_NAMESPACE = "default"


def create_tags(options: CreateOptions) -> dict[str, str]:
    """The tags of a new sandbox: the metadata as strings, then computesdk's own keys."""
    tags: dict[str, str] = {}
    for key, value in options.metadata.items():
        if not isinstance(key, str) or key.startswith(PREFIX):
            raise errors.ValidationError(f"metadata keys must be strings not starting with {PREFIX!r}: {key!r}")
        tags[key] = value if isinstance(value, str) else str(value)
    tags[CREATED_KEY] = f"{time.time():.3f}"
    if options.timeout is not None:
        tags[TIMEOUT_KEY] = f"{options.timeout:g}"
    if options.runtime:
        tags[RUNTIME_KEY] = options.runtime
    if options.name is not None:
        tags[NAME_KEY] = options.name
        tags[NAMESPACE_KEY] = options.namespace or DEFAULT_NAMESPACE
    return tags


def name_tags(name: str, namespace: str) -> dict[str, str]:
    """The tags that mark the sandbox named ``(namespace, name)``."""
    return {NAME_KEY: name, NAMESPACE_KEY: namespace}


def to_record(view: SandboxView, native: Any = None) -> SandboxRecord:
    """The computesdk record of a Modal sandbox, from its tags."""
    tags = dict(view.tags)
    created = _number(tags.get(CREATED_KEY))
    timeout = _number(tags.get(TIMEOUT_KEY))
    return SandboxRecord(
        sandbox_id=view.sandbox_id,
        native=native,
        status=status_of(view),
        runtime=tags.get(RUNTIME_KEY),
        created_at=dt.datetime.fromtimestamp(created, dt.timezone.utc) if created is not None else dt.datetime.now(dt.timezone.utc),
        timeout=timeout,
        metadata={key: value for key, value in tags.items() if not key.startswith(PREFIX)},
        name=tags.get(NAME_KEY),
        namespace=tags.get(NAMESPACE_KEY) if NAME_KEY in tags else None,
    )


def status_of(view: SandboxView) -> str:
    """computesdk's status: running until Modal reports an exit code; 0 is stopped, others error."""
    if view.exit_code is None:
        return "running"
    return "stopped" if view.exit_code == 0 else "error"


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None  # a tag someone edited by hand: not computesdk's to trust
