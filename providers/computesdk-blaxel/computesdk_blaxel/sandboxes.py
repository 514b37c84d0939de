"""Blaxel sandboxes: the create request, waiting for DEPLOYED, lifetimes, and records.

A sandbox is addressed by its name, which the provider generates (``computesdk-<hex>``) so that
it never collides in the workspace; a named computesdk sandbox keeps its (namespace, name) in the
labels ``computesdk_name`` / ``computesdk_namespace``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from computesdk_blaxel.api import DEFAULT_RUN_URL, BlaxelAPI, seg
from computesdk_blaxel.config import PROVIDER, RUNTIME_IMAGES
from computesdk_core import errors
from computesdk_core.types import CreateOptions, SandboxRecord

NAME_KEY = "computesdk_name"
NAMESPACE_KEY = "computesdk_namespace"
RESERVED_KEYS = (NAME_KEY, NAMESPACE_KEY)
# Statuses of a sandbox that is gone or going (get answers None, list leaves it out).
GONE_STATUSES = frozenset({"DELETING", "TERMINATED", "DEACTIVATING", "DEACTIVATED", "FAILED"})
READY_STATUS = "DEPLOYED"
# Create options taken from ``provider_options``.
CREATE_OPTIONS = ("ports", "memory", "region", "lifecycle")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Between polls of a sandbox that is still deploying (doubling up to the cap).
FIRST_POLL = 0.1
MAX_POLL = 5.0


def new_name() -> str:
    """A sandbox name no other sandbox of the workspace has (lowercase letters, digits, dashes)."""
    return f"computesdk-{uuid.uuid4().hex[:16]}"


def create_body(config: Mapping[str, Any], options: CreateOptions, name: str) -> dict[str, Any]:
    """The JSON body of ``POST /sandboxes`` for ``options`` (validated)."""
    extra = dict(options.provider_options)
    unknown = sorted(set(extra) - set(CREATE_OPTIONS))
    if unknown:
        raise errors.ValidationError(
            f"unknown create option(s) for provider 'blaxel': {', '.join(unknown)}; known: {', '.join(CREATE_OPTIONS)}"
        )
    if options.snapshot_id:
        raise errors.UnsupportedFeatureError("provider 'blaxel' does not create sandboxes from snapshots here",
                                             provider=PROVIDER, feature="snapshots")
    if options.image and options.template_id:
        raise errors.ValidationError("blaxel starts a sandbox from one image: pass image or template_id, not both")
    image = options.image or options.template_id or RUNTIME_IMAGES.get(options.runtime or "") or config["image"]
    labels = _string_map("metadata", options.metadata)
    clash = sorted(set(labels) & set(RESERVED_KEYS))
    if clash:
        raise errors.ValidationError(f"metadata keys reserved by computesdk: {', '.join(clash)}")
    if options.name is not None:
        labels[NAME_KEY] = options.name
        labels[NAMESPACE_KEY] = options.namespace or "default"
    runtime: dict[str, Any] = {"image": image, "memory": int(extra.get("memory", config["memory"]))}
    if options.envs:
        runtime["envs"] = [{"name": key, "value": value} for key, value in _string_map("envs", options.envs).items()]
    if options.timeout is not None:
        runtime["ttl"] = f"{max(1, math.ceil(options.timeout))}s"
    if "ports" in extra:
        runtime["ports"] = [{"target": int(port), "protocol": "HTTP"} for port in extra["ports"]]
    spec: dict[str, Any] = {"runtime": runtime}
    region = extra.get("region") or config["region"]
    if region:
        spec["region"] = region
    if "lifecycle" in extra:
        spec["lifecycle"] = extra["lifecycle"]
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def _string_map(what: str, values: Mapping[str, Any]) -> dict[str, str]:
    bad = sorted(str(key) for key, value in values.items() if not isinstance(key, str) or not isinstance(value, str))
    if bad:
        raise errors.ValidationError(f"blaxel {what} must map str to str; not so for: {', '.join(bad)}")
    return dict(values)


def wait_deployed(api: BlaxelAPI, name: str, sandbox: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    """Poll ``GET /sandboxes/{name}`` until the sandbox is DEPLOYED; raise if it fails or ``timeout`` passes.

    ``sandbox`` is what create answered, or None when the answer was lost (a gateway timeout while
    the sandbox keeps deploying).
    """
    deadline = time.monotonic() + timeout
    pause = FIRST_POLL
    while True:
        status = (sandbox or {}).get("status")
        if status == READY_STATUS:
            return sandbox  # type: ignore[return-value]
        if status in GONE_STATUSES:
            raise errors.ProviderAPIError(
                f"blaxel sandbox {name} ended as {status} instead of being deployed{_last_event(sandbox)}",
                status_code=None, provider=PROVIDER, request_id=None,
            )
        if time.monotonic() + pause > deadline:
            raise errors.OperationTimeoutError(f"blaxel sandbox {name} was still {status or 'unknown'} after {timeout:g} s")
        time.sleep(pause)
        pause = min(pause * 2, MAX_POLL)
        sandbox = api.get_sandbox(name)


def _last_event(sandbox: Mapping[str, Any] | None) -> str:
    events = (sandbox or {}).get("events") or []
    message = events[-1].get("message") if events and isinstance(events[-1], dict) else None
    return f" ({message})" if message else ""


def duration_seconds(value: Any) -> float | None:
    """Seconds of a Blaxel duration such as ``"600s"``, ``"5m"``, ``"24h"`` (None when unreadable)."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value.strip())
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def parse_time(value: Any) -> dt.datetime | None:
    """A timestamp of the control plane (ISO 8601), tz-aware; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def sandbox_url(config: Mapping[str, Any], sandbox: Mapping[str, Any]) -> str:
    """The base URL of the sandbox's own API: ``metadata.url``, else the run URL of the workspace."""
    metadata = sandbox.get("metadata") or {}
    url = metadata.get("url")
    if isinstance(url, str) and url:
        return url.rstrip("/")
    return f"{DEFAULT_RUN_URL}/{seg(config['workspace'])}/sandboxes/{seg(metadata.get('name', ''))}"


def to_record(config: Mapping[str, Any], sandbox: Mapping[str, Any], runtime: str | None = None) -> SandboxRecord:
    """The record of a sandbox resource; ``native`` is the resource itself (a dict)."""
    metadata = sandbox.get("metadata") or {}
    labels = dict(metadata.get("labels") or {})
    name = labels.pop(NAME_KEY, None)
    namespace = labels.pop(NAMESPACE_KEY, None)
    spec_runtime = (sandbox.get("spec") or {}).get("runtime") or {}
    status = str(sandbox.get("status") or "UNKNOWN")
    return SandboxRecord(
        sandbox_id=str(metadata.get("name")), native=dict(sandbox),
        status="running" if status == READY_STATUS else status.lower(), runtime=runtime,
        created_at=parse_time(metadata.get("createdAt")) or dt.datetime.now(dt.timezone.utc),
        timeout=duration_seconds(spec_runtime.get("ttl")), metadata=labels,
        name=name, namespace=namespace if name is not None else None,
    )
