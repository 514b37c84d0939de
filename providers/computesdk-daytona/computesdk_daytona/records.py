"""Between computesdk's records and Daytona's sandbox objects: labels, lifetimes, states, times."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from typing import Any

from computesdk_core.types import CreateOptions, SandboxRecord
from computesdk_daytona.api import DaytonaAPI
from computesdk_daytona.handle import DaytonaSandbox

# Labels computesdk keeps for itself; everything else in ``labels`` is the user's metadata.
LABEL_PREFIX = "computesdk.io/"
NAME_LABEL = LABEL_PREFIX + "name"
NAMESPACE_LABEL = LABEL_PREFIX + "namespace"
RUNTIME_LABEL = LABEL_PREFIX + "runtime"

_STATUS = {"started": "running", "stopped": "stopped", "paused": "paused", "archived": "stopped",
           "error": "error", "build_failed": "error"}


def create_body(options: CreateOptions, target: str | None) -> dict[str, Any]:
    """The ``CreateSandbox`` body for ``options``.

    ``timeout`` becomes ``autoStopInterval`` (whole minutes, at least one): Daytona stops a sandbox
    after that long without activity. ``template_id``/``snapshot_id`` name a Daytona snapshot;
    ``image`` becomes a one-line Dockerfile build. ``provider_options`` pass through as Daytona fields.
    """
    labels = {key: value if isinstance(value, str) else json.dumps(value) for key, value in options.metadata.items()}
    if options.name is not None:
        labels[NAME_LABEL] = options.name
        labels[NAMESPACE_LABEL] = options.namespace or "default"
    if options.runtime is not None:
        labels[RUNTIME_LABEL] = options.runtime
    body: dict[str, Any] = {"labels": labels, "env": dict(options.envs)}
    if options.timeout is not None:
        body["autoStopInterval"] = max(1, math.ceil(options.timeout / 60))
    snapshot = options.snapshot_id or options.template_id
    if snapshot and options.image:
        from computesdk_core.errors import ValidationError

        raise ValidationError("daytona: give either a snapshot/template or an image, not both")
    if snapshot:
        body["snapshot"] = snapshot
    if options.image:
        body["buildInfo"] = {"dockerfileContent": f"FROM {options.image}\n"}
    if target:
        body["target"] = target
    body.update(options.provider_options)
    return body


def parse_time(value: Any) -> dt.datetime:
    """An RFC 3339 time from Daytona as an aware datetime (now when absent or unreadable)."""
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


def status_of(state: Any) -> str:
    """computesdk's status word for a Daytona state (others pass through)."""
    return _STATUS.get(str(state), str(state))


def to_record(client: DaytonaAPI, data: dict[str, Any], start_timeout: float) -> SandboxRecord:
    """The record of a sandbox object; its labels become metadata, name and namespace."""
    labels = {str(k): v for k, v in (data.get("labels") or {}).items()}
    metadata = {key: value for key, value in labels.items() if not key.startswith(LABEL_PREFIX)}
    minutes = data.get("autoStopInterval")
    timeout = float(minutes) * 60 if isinstance(minutes, (int, float)) and minutes > 0 else None
    return SandboxRecord(
        sandbox_id=str(data["id"]),
        native=DaytonaSandbox(client, data, start_timeout),
        status=status_of(data.get("state")),
        runtime=labels.get(RUNTIME_LABEL) or "python",
        created_at=parse_time(data.get("createdAt")),
        timeout=timeout,
        metadata=metadata,
        name=labels.get(NAME_LABEL),
        namespace=labels.get(NAMESPACE_LABEL),
    )


def labels_filter(name: str, namespace: str) -> Mapping[str, str]:
    """The labels that mark the sandbox named ``(namespace, name)``."""
    return {NAME_LABEL: name, NAMESPACE_LABEL: namespace}
