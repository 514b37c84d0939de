"""SandboxRecords from E2B's JSON, and the metadata keys that hold a sandbox's name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from computesdk_core.types import SandboxRecord
from computesdk_e2b.handle import E2BSandbox
from computesdk_e2b.times import parse_time

# Metadata keys under which a named sandbox's (namespace, name) is stored.
NAME_KEY = "computesdk_name"
NAMESPACE_KEY = "computesdk_namespace"


def record_of(config: Mapping[str, Any], data: Mapping[str, Any], *, metadata: Mapping[str, str] | None = None,
              timeout: float | None = None) -> SandboxRecord:
    """The record of a sandbox from a create/connect (``Sandbox``) or get/list (``SandboxDetail``) body.

    ``metadata`` and ``timeout`` are what was asked at creation, for bodies that do not say them;
    otherwise the lifetime is ``endAt - startedAt``.
    """
    stored = dict(data.get("metadata") or metadata or {})
    native = E2BSandbox(config, str(data["sandboxID"]), data.get("domain"), data.get("envdAccessToken"),
                        data.get("envdVersion"))
    started = parse_time(data.get("startedAt"))
    ends = parse_time(data.get("endAt"))
    if timeout is None and started is not None and ends is not None:
        timeout = float(round((ends - started).total_seconds()))
    name = stored.pop(NAME_KEY, None)
    namespace = stored.pop(NAMESPACE_KEY, None)
    return SandboxRecord(
        sandbox_id=native.sandbox_id,
        native=native,
        status=str(data.get("state", "running")),
        created_at=started or dt.datetime.now(dt.timezone.utc),
        timeout=timeout,
        metadata=stored,
        name=name,
        namespace=namespace if name else None,
    )
