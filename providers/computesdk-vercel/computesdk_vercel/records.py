"""The create request of a Vercel sandbox and the record computesdk keeps of one."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.types import CreateOptions, SandboxRecord
from computesdk_vercel.api import VercelAPI
from computesdk_vercel.handle import VercelSandbox

# Tags under which a named sandbox keeps its (namespace, name); Vercel allows 5 tags in all.
NAME_KEY = "computesdk_name"
NAMESPACE_KEY = "computesdk_namespace"
RESERVED_KEYS = (NAME_KEY, NAMESPACE_KEY)
MAX_TAGS = 5
MAX_TAG_VALUE = 256
MAX_PORTS = 15
# computesdk runtimes -> Vercel runtimes (sent to /v2/sandboxes instead of an image).
RUNTIMES = {"node": "node24", "python": "python3.13"}
# Create options sent to Vercel as they are.
PASSTHROUGH = ("persistent", "resources", "region", "failoverRegions", "networkPolicy", "snapshotExpiration",
               "keepLastSnapshots", "architecture", "source")
CREATE_OPTIONS = (*PASSTHROUGH, "ports", "vcpus", "sandbox_name")


def create_body(options: CreateOptions) -> dict[str, Any]:
    """The JSON body of ``POST /v3/sandboxes`` (``/v2`` with a runtime) for ``options``, validated."""
    extra = dict(options.provider_options)
    unknown = sorted(set(extra) - set(CREATE_OPTIONS))
    if unknown:
        raise errors.ValidationError(
            f"unknown create option(s) for provider 'vercel': {', '.join(unknown)}; known: {', '.join(CREATE_OPTIONS)}"
        )
    body: dict[str, Any] = {key: extra[key] for key in PASSTHROUGH if key in extra}
    if "sandbox_name" in extra:
        body["name"] = extra["sandbox_name"]
    if "vcpus" in extra:
        body["resources"] = {**body.get("resources", {}), "vcpus": extra["vcpus"]}
    sources = [key for key in ("template_id", "snapshot_id") if getattr(options, key)] + (
        ["source"] if "source" in body else [])
    if len(sources) > 1:
        raise errors.ValidationError(f"vercel starts a sandbox from one source only, got: {', '.join(sources)}")
    snapshot = options.snapshot_id or options.template_id
    if snapshot:
        body["source"] = {"type": "snapshot", "snapshotId": snapshot}
    if options.image and options.runtime:
        raise errors.ValidationError("vercel takes an image or a runtime, not both")
    if options.image:
        body["image"] = options.image
    elif options.runtime:
        body["runtime"] = RUNTIMES.get(options.runtime, options.runtime)
    if options.timeout is not None:
        body["timeout"] = max(1000, math.ceil(options.timeout * 1000))
    if options.envs:
        body["env"] = _strings("envs", options.envs)
    body["ports"] = _ports(extra.get("ports", []))
    tags = _strings("metadata", options.metadata)
    clash = sorted(set(tags) & set(RESERVED_KEYS))
    if clash:
        raise errors.ValidationError(f"metadata keys reserved by computesdk: {', '.join(clash)}")
    if options.name is not None:
        tags[NAME_KEY] = options.name
        tags[NAMESPACE_KEY] = options.namespace or "default"
    if len(tags) > MAX_TAGS:
        raise errors.ValidationError(
            f"vercel keeps metadata as tags, at most {MAX_TAGS} (a named sandbox uses 2 of them); got {len(tags)}")
    long = sorted(key for key, value in tags.items() if len(value) > MAX_TAG_VALUE)
    if long:
        raise errors.ValidationError(f"vercel tag values are at most {MAX_TAG_VALUE} characters: {', '.join(long)}")
    if tags:
        body["tags"] = tags
    return body


def _ports(ports: Any) -> list[int]:
    if not isinstance(ports, (list, tuple)) or not all(isinstance(p, int) and not isinstance(p, bool) for p in ports):
        raise errors.ValidationError(f"vercel option 'ports' must be a list of integers, not {ports!r}")
    if len(ports) > MAX_PORTS:
        raise errors.ValidationError(f"vercel exposes at most {MAX_PORTS} ports, not {len(ports)}")
    bad = [port for port in ports if not 1024 <= port <= 65535 or port == 23456]
    if bad:
        raise errors.ValidationError(f"vercel ports must be in 1024-65535 (and not 23456): {bad}")
    return sorted(set(ports))


def _strings(what: str, values: Mapping[str, Any]) -> dict[str, str]:
    bad = sorted(str(key) for key, value in values.items() if not isinstance(key, str) or not isinstance(value, str))
    if bad:
        raise errors.ValidationError(f"vercel {what} must map str to str; not so for: {', '.join(bad)}")
    return dict(values)


def to_record(api: VercelAPI, answer: Mapping[str, Any], runtime: str | None = None) -> SandboxRecord:
    """The record of a sandbox answer (``{"sandbox", "session"?, "routes"?}``), a :class:`VercelSandbox` as its handle."""
    handle = VercelSandbox(api, answer)
    sandbox = handle.sandbox
    tags = dict(sandbox.get("tags") or {})
    name = tags.pop(NAME_KEY, None)
    namespace = tags.pop(NAMESPACE_KEY, None)
    lifetime = sandbox.get("timeout")
    return SandboxRecord(
        sandbox_id=handle.name, native=handle, status=str(sandbox.get("status") or "running"),
        runtime=runtime or _runtime(sandbox), created_at=from_millis(sandbox.get("createdAt")),
        timeout=lifetime / 1000 if isinstance(lifetime, (int, float)) else None,
        metadata=tags, name=name, namespace=namespace if name is not None else None,
    )


def _runtime(sandbox: Mapping[str, Any]) -> str | None:
    runtime = str(sandbox.get("runtime") or "")
    return "node" if runtime.startswith("node") else "python" if runtime.startswith("python") else None


def from_millis(value: Any) -> dt.datetime:
    """A tz-aware time from epoch milliseconds (now when absent)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return dt.datetime.now(dt.timezone.utc)
    return dt.datetime.fromtimestamp(value / 1000, dt.timezone.utc)

