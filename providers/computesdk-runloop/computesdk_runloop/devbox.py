"""Devboxes: the create request, waiting for a status, records, and the native handle.

:class:`RunloopDevbox` is what ``sandbox.get_instance()`` returns: the devbox's last known view
plus what the common interface has no place for (suspend/resume, keep-alive, tunnel details).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.types import CreateOptions, SandboxRecord
from computesdk_runloop.api import GONE_STATUSES, RunloopAPI, is_status
from computesdk_runloop.config import PROVIDER

# Metadata keys under which a named sandbox keeps its (namespace, name).
NAME_KEY = "computesdk_name"
NAMESPACE_KEY = "computesdk_namespace"
RESERVED_KEYS = (NAME_KEY, NAMESPACE_KEY)
MAX_LIFETIME = 172_800
# A long-poll that answers "not yet" at once must not turn the wait into a busy loop.
MIN_POLL_INTERVAL = 0.5
# Create options passed to Runloop's create request as they are.
PASSTHROUGH = ("secrets", "entrypoint", "tunnel", "mounts", "code_mounts", "file_mounts", "blueprint_name",
               "repo_connection_id")
# Create options that land in launch_parameters.
LAUNCH_OPTIONS = {"resource_size": "resource_size_request", "architecture": "architecture",
                  "launch_commands": "launch_commands"}
CREATE_OPTIONS = (*PASSTHROUGH, *LAUNCH_OPTIONS, "launch_parameters", "idle_timeout", "on_idle")


def create_body(options: CreateOptions) -> dict[str, Any]:
    """The JSON body of ``POST /v1/devboxes`` for ``options`` (validated)."""
    extra = dict(options.provider_options)
    unknown = sorted(set(extra) - set(CREATE_OPTIONS))
    if unknown:
        raise errors.ValidationError(
            f"unknown create option(s) for provider 'runloop': {', '.join(unknown)}; known: {', '.join(CREATE_OPTIONS)}"
        )
    if options.image:
        raise errors.UnsupportedFeatureError(
            "provider 'runloop' does not start devboxes from an image reference; build a blueprint from it and "
            "pass its id or name as template_id", provider=PROVIDER, feature="image",
        )
    body: dict[str, Any] = {key: extra[key] for key in PASSTHROUGH if key in extra}
    sources = [key for key in ("blueprint_name",) if key in body]
    if options.template_id:
        # Runloop ids carry their kind in a prefix; anything else names a blueprint.
        if options.template_id.startswith("snp_"):
            key = "snapshot_id"
        elif options.template_id.startswith("bpt_"):
            key = "blueprint_id"
        else:
            key = "blueprint_name"
        body[key] = options.template_id
        sources.append("template_id")
    if options.snapshot_id:
        body["snapshot_id"] = options.snapshot_id
        sources.append("snapshot_id")
    if len(sources) > 1:
        raise errors.ValidationError(f"runloop starts a devbox from one source only, got: {', '.join(sources)}")
    metadata = _string_map("metadata", options.metadata)
    clash = sorted(set(metadata) & set(RESERVED_KEYS))
    if clash:
        raise errors.ValidationError(f"metadata keys reserved by computesdk: {', '.join(clash)}")
    if options.name is not None:
        metadata[NAME_KEY] = options.name
        metadata[NAMESPACE_KEY] = options.namespace or "default"
        body["name"] = options.name
    if metadata:
        body["metadata"] = metadata
    if options.envs:
        body["environment_variables"] = _string_map("envs", options.envs)
    launch = dict(extra.get("launch_parameters") or {})
    for option, field in LAUNCH_OPTIONS.items():
        if option in extra:
            launch[field] = extra[option]
    if options.timeout is not None:
        seconds = math.ceil(options.timeout)
        if seconds > MAX_LIFETIME:
            raise errors.ValidationError(f"runloop devboxes live at most {MAX_LIFETIME} s, not {seconds} s")
        launch["keep_alive_time_seconds"] = seconds
    if "idle_timeout" in extra:
        launch["after_idle"] = {"idle_time_seconds": math.ceil(extra["idle_timeout"]),
                                "on_idle": extra.get("on_idle", "shutdown")}
    if launch:
        body["launch_parameters"] = launch
    return body


def _string_map(what: str, values: Mapping[str, Any]) -> dict[str, str]:
    bad = sorted(str(key) for key, value in values.items() if not isinstance(key, str) or not isinstance(value, str))
    if bad:
        raise errors.ValidationError(f"runloop {what} must map str to str; not so for: {', '.join(bad)}")
    return dict(values)


def wait_for(api: RunloopAPI, view: dict[str, Any], wanted: str, timeout: float) -> dict[str, Any]:
    """Long-poll until the devbox reaches ``wanted``; raise if it ends or ``timeout`` seconds pass."""
    devbox_id = view["id"]
    deadline = time.monotonic() + timeout
    while True:
        status = view.get("status")
        if status == wanted:
            return view
        if status in GONE_STATUSES:
            reason = view.get("failure_reason") or view.get("shutdown_reason") or "no reason given"
            raise errors.ProviderAPIError(
                f"runloop devbox {devbox_id} ended as {status!r} ({reason}) instead of becoming {wanted!r}",
                status_code=None, provider=PROVIDER, request_id=None,
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise errors.OperationTimeoutError(
                f"runloop devbox {devbox_id} was still {status!r} after {timeout:g} s (wanted {wanted!r})"
            )
        asked = time.monotonic()
        answer = api.wait_devbox(devbox_id, [wanted, *GONE_STATUSES], remaining)
        if answer is None:
            time.sleep(max(0.0, min(MIN_POLL_INTERVAL - (time.monotonic() - asked), deadline - time.monotonic())))
            continue
        view = answer


def to_record(api: RunloopAPI, view: dict[str, Any], runtime: str | None = None) -> SandboxRecord:
    """The record of a devbox view, with a :class:`RunloopDevbox` as its native handle."""
    metadata = dict(view.get("metadata") or {})
    name = metadata.pop(NAME_KEY, None)
    namespace = metadata.pop(NAMESPACE_KEY, None)
    launch = view.get("launch_parameters") or {}
    lifetime = launch.get("keep_alive_time_seconds")
    return SandboxRecord(
        sandbox_id=view["id"], native=RunloopDevbox(api, view), status=str(view.get("status")),
        runtime=runtime, created_at=created_at(view), timeout=float(lifetime) if lifetime is not None else None,
        metadata=metadata, name=name, namespace=namespace if name is not None else None,
    )


def created_at(view: Mapping[str, Any]) -> dt.datetime:
    """The devbox's creation time (tz-aware) from ``create_time_ms``."""
    millis = view.get("create_time_ms")
    if not isinstance(millis, (int, float)):
        return dt.datetime.now(dt.timezone.utc)
    return dt.datetime.fromtimestamp(millis / 1000, dt.timezone.utc)


class RunloopDevbox:
    """A Runloop devbox as ``sandbox.get_instance()`` returns it.

    ``view`` is the last ``DevboxView`` seen (refresh it with :meth:`refresh`). Beyond the common
    interface it offers :meth:`suspend`, :meth:`resume` and :meth:`keep_alive`.
    """

    def __init__(self, api: RunloopAPI, view: dict[str, Any]) -> None:
        self.api = api
        self.view = view
        self._lock = threading.Lock()
        tunnel = view.get("tunnel") or {}
        self._tunnel: dict[str, Any] | None = tunnel if tunnel.get("tunnel_key") else None

    def __repr__(self) -> str:
        return f"RunloopDevbox({self.id!r}, status={self.view.get('status')!r})"

    @property
    def id(self) -> str:
        """The devbox id."""
        return str(self.view["id"])

    @property
    def status(self) -> str:
        """The status in the last view seen."""
        return str(self.view.get("status"))

    def refresh(self) -> dict[str, Any]:
        """Fetch the devbox's current view; raise SandboxNotFoundError when the API forgot it."""
        view = self.api.get_devbox(self.id)
        if view is None:
            raise errors.SandboxNotFoundError(f"runloop devbox {self.id} does not exist")
        self.view = view
        return view

    def suspend(self, timeout: float | None = None) -> None:
        """Suspend the devbox (its disk is kept, its processes are not) and wait until it is suspended."""
        self.view = wait_for(self.api, self.api.suspend(self.id), "suspended",
                             timeout or self.api.config["create_timeout"])

    def resume(self, timeout: float | None = None) -> None:
        """Resume a suspended devbox and wait until it runs again (processes must be restarted)."""
        self.view = wait_for(self.api, self.api.resume(self.id), "running",
                             timeout or self.api.config["create_timeout"])

    def keep_alive(self) -> None:
        """Reset the idle timer of a devbox created with an idle policy (``idle_timeout=``)."""
        self.api.keep_alive(self.id)

    @property
    def tunnel_auth_token(self) -> str | None:
        """The bearer token of an ``authenticated`` tunnel, once :meth:`tunnel_key` made one."""
        return (self._tunnel or {}).get("auth_token")

    def tunnel_key(self) -> str:
        """The devbox's tunnel key, enabling the tunnel on first use (one tunnel serves every port)."""
        with self._lock:
            if self._tunnel is None:
                try:
                    self._tunnel = self.api.enable_tunnel(self.id, self.api.config["tunnel_auth_mode"])
                except errors.ValidationError as refused:
                    # 400: the devbox already has a tunnel (made by another handle or at create).
                    existing = (self.refresh().get("tunnel") or {}) if is_status(refused, 400) else {}
                    if not existing.get("tunnel_key"):
                        raise
                    self._tunnel = existing
            return str(self._tunnel["tunnel_key"])

    def url(self, port: int, protocol: str = "https") -> str:
        """``{protocol}://{port}-{tunnel_key}.{tunnel_domain}``."""
        return f"{protocol}://{port}-{self.tunnel_key()}.{self.api.config['tunnel_domain']}"
