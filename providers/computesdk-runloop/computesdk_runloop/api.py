"""Calls to Runloop's REST API (``/v1/devboxes...``), one method per endpoint the provider uses.

Every call goes through :class:`computesdk_core.vendor_http.VendorAPI`: errors are mapped with
Runloop's message, and only calls that are safe to repeat are retried. Runloop uses POST for many
idempotent operations (waits, kills, shutdowns), so each method says explicitly whether it may be
retried.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests

from computesdk_core import errors
from computesdk_core.secrets import Secret
from computesdk_core.vendor_http import ClientCache, VendorAPI
from computesdk_core.vendor_http import path_segment as _seg
from computesdk_runloop.config import PROVIDER

# Long-poll holds the API accepts: 30 s for devboxes, 25 s for executions.
MAX_DEVBOX_HOLD = 30
MAX_EXECUTION_HOLD = 25
# Extra read time over a long-poll hold, so the server answers (408 or 200) before we give up.
HOLD_MARGIN = 10.0
LIST_PAGE = 100
# A cap on pages of one listing, so a server that keeps saying has_more cannot loop us forever.
MAX_PAGES = 1000
# Statuses of a devbox that still exists (the API keeps shut-down and failed ones listed).
LIVE_STATUSES = ("provisioning", "initializing", "running", "suspending", "suspended", "resuming")
GONE_STATUSES = ("shutdown", "failure")


def is_status(exc: BaseException, *codes: int) -> bool:
    """Whether ``exc`` is a mapped HTTP error with one of ``codes``."""
    return getattr(exc, "status_code", None) in codes


class RunloopAPI:
    """One Runloop account (API key + base URL): a pooled session and the endpoint calls."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.http = VendorAPI(
            PROVIDER, config["api_url"], headers={"Authorization": Secret(f"Bearer {config['api_key'].reveal()}")},
            timeout=config["request_timeout"], attempts=config["max_retries"] + 1,
        )

    def __repr__(self) -> str:
        return f"RunloopAPI({self.config['api_url']!r})"

    # --- devboxes -------------------------------------------------------------------------

    def create_devbox(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v1/devboxes; never retried (a retry could start a second devbox)."""
        return self._json("POST", "/v1/devboxes", json=dict(body), idempotent=False)

    def get_devbox(self, devbox_id: str) -> dict[str, Any] | None:
        """GET /v1/devboxes/{id}; None when the API does not know the id."""
        try:
            return self._json("GET", f"/v1/devboxes/{_seg(devbox_id)}")
        except errors.NotFoundError:
            return None

    def wait_devbox(self, devbox_id: str, statuses: list[str], hold: float) -> dict[str, Any] | None:
        """One long-poll for a status in ``statuses`` (hold <= 30 s); None when the hold elapsed (408)."""
        seconds = max(1, min(MAX_DEVBOX_HOLD, int(hold)))
        try:
            return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/wait_for_status",
                              json={"statuses": statuses, "timeout_seconds": seconds},
                              idempotent=True, timeout=seconds + HOLD_MARGIN)
        except errors.ProviderAPIError as exc:
            if is_status(exc, 408):
                return None
            raise
        except errors.OperationTimeoutError:
            return None

    def list_devboxes(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Every devbox (of ``status`` when given), page by page."""
        yield from self._pages("/v1/devboxes", "devboxes", {"status": status} if status else {})

    def shutdown(self, devbox_id: str) -> dict[str, Any]:
        """POST /v1/devboxes/{id}/shutdown (repeating it is harmless, so it is retried)."""
        return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/shutdown", idempotent=True)

    def keep_alive(self, devbox_id: str) -> None:
        """POST /v1/devboxes/{id}/keep_alive: reset the idle timer."""
        self.http.request("POST", f"/v1/devboxes/{_seg(devbox_id)}/keep_alive", idempotent=True)

    def suspend(self, devbox_id: str) -> dict[str, Any]:
        """POST /v1/devboxes/{id}/suspend."""
        return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/suspend", idempotent=False)

    def resume(self, devbox_id: str) -> dict[str, Any]:
        """POST /v1/devboxes/{id}/resume."""
        return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/resume", idempotent=False)

    def enable_tunnel(self, devbox_id: str, auth_mode: str) -> dict[str, Any]:
        """POST /v1/devboxes/{id}/enable_tunnel; 400 when the devbox already has one."""
        return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/enable_tunnel",
                          json={"auth_mode": auth_mode, "http_keep_alive": True}, idempotent=False)

    # --- executions -----------------------------------------------------------------------

    def execute_sync(self, devbox_id: str, command: str, read_timeout: float) -> dict[str, Any]:
        """POST /v1/devboxes/{id}/execute_sync: run and wait (never retried: it would run twice)."""
        return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/execute_sync", json={"command": command},
                          idempotent=False, timeout=read_timeout)

    def execute_async(self, devbox_id: str, command: str) -> dict[str, Any]:
        """POST /v1/devboxes/{id}/execute_async: start a command, return its execution."""
        return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/execute_async", json={"command": command},
                          idempotent=False)

    def wait_execution(self, devbox_id: str, execution_id: str, hold: float) -> dict[str, Any] | None:
        """One long-poll until the execution completes (hold <= 25 s); None when the hold elapsed."""
        seconds = max(1, min(MAX_EXECUTION_HOLD, int(hold)))
        try:
            return self._json("POST", f"{_execution(devbox_id, execution_id)}/wait_for_status",
                              json={"statuses": ["completed"], "timeout_seconds": seconds},
                              idempotent=True, timeout=seconds + HOLD_MARGIN)
        except errors.ProviderAPIError as exc:
            if is_status(exc, 408):
                return None
            raise
        except errors.OperationTimeoutError:
            return None

    def kill_execution(self, devbox_id: str, execution_id: str) -> None:
        """POST .../kill with the whole process group (killing twice is harmless)."""
        self.http.request("POST", f"{_execution(devbox_id, execution_id)}/kill",
                          json={"kill_process_group": True}, idempotent=True)

    def open_stream(self, devbox_id: str, execution_id: str, which: str, offset: int,
                    read_timeout: float) -> requests.Response:
        """GET .../stream_{stdout,stderr}_updates from byte ``offset``: an open Server-Sent Events response."""
        return self.http.request(
            "GET", f"{_execution(devbox_id, execution_id)}/stream_{which}_updates",
            params={"offset": str(offset)}, headers={"Accept": "text/event-stream"},
            stream=True, timeout=read_timeout, idempotent=True,
        )

    # --- files ----------------------------------------------------------------------------

    def download_file(self, devbox_id: str, path: str) -> bytes:
        """POST /v1/devboxes/{id}/download_file: a file's bytes."""
        response = self.http.request("POST", f"/v1/devboxes/{_seg(devbox_id)}/download_file",
                                     json={"path": path}, idempotent=True,
                                     headers={"Accept": "application/octet-stream"})
        return response.content

    def write_file_contents(self, devbox_id: str, path: str, text: str) -> dict[str, Any]:
        """POST /v1/devboxes/{id}/write_file_contents (UTF-8 text); the body says whether it worked."""
        return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/write_file_contents",
                          json={"file_path": path, "contents": text}, idempotent=True)

    def upload_file(self, devbox_id: str, path: str, content: bytes) -> None:
        """POST /v1/devboxes/{id}/upload_file as multipart form data (any bytes)."""
        self.http.request("POST", f"/v1/devboxes/{_seg(devbox_id)}/upload_file", data={"path": path},
                          files={"file": ("file", content, "application/octet-stream")}, idempotent=True)

    # --- disk snapshots -------------------------------------------------------------------

    def snapshot_async(self, devbox_id: str, name: str | None, metadata: Mapping[str, str]) -> dict[str, Any]:
        """POST /v1/devboxes/{id}/snapshot_disk_async: start a disk snapshot."""
        body: dict[str, Any] = {"metadata": dict(metadata)}
        if name:
            body["name"] = name
        return self._json("POST", f"/v1/devboxes/{_seg(devbox_id)}/snapshot_disk_async", json=body,
                          idempotent=False)

    def snapshot_status(self, snapshot_id: str) -> dict[str, Any]:
        """GET /v1/devboxes/disk_snapshots/{id}/status."""
        return self._json("GET", f"/v1/devboxes/disk_snapshots/{_seg(snapshot_id)}/status")

    def list_snapshots(self) -> Iterator[dict[str, Any]]:
        """Every disk snapshot of the account, page by page."""
        yield from self._pages("/v1/devboxes/disk_snapshots", "snapshots", {})

    def delete_snapshot(self, snapshot_id: str) -> None:
        """POST /v1/devboxes/disk_snapshots/{id}/delete (deleting twice is harmless)."""
        self.http.request("POST", f"/v1/devboxes/disk_snapshots/{_seg(snapshot_id)}/delete", idempotent=True)

    # --- plumbing -------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self.http.json(method, path, **kwargs)
        if not isinstance(body, dict):
            raise errors.ProviderAPIError(
                f"runloop: {method} {path} answered with {type(body).__name__} instead of a JSON object",
                status_code=200, provider=PROVIDER, request_id=None,
            )
        return body

    def _pages(self, path: str, field: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        after: str | None = None
        for _ in range(MAX_PAGES):
            query = {**params, "limit": LIST_PAGE, "include_total_count": "false"}
            if after:
                query["starting_after"] = after
            page = self._json("GET", path, params=query)
            items = page.get(field)
            if not isinstance(items, list):
                raise errors.ProviderAPIError(f"runloop: GET {path} answered without a {field!r} list",
                                              status_code=200, provider=PROVIDER, request_id=None)
            yield from items
            last = items[-1].get("id") if items and isinstance(items[-1], dict) else None
            if not page.get("has_more") or not last or last == after:
                return
            after = last

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


def _execution(devbox_id: str, execution_id: str) -> str:
    return f"/v1/devboxes/{_seg(devbox_id)}/executions/{_seg(execution_id)}"


# The client also carries the options its handles read (tunnel mode, waits): one per whole config.
_clients: ClientCache[RunloopAPI] = ClientCache(RunloopAPI)


def client_for(config: Mapping[str, Any]) -> RunloopAPI:
    """The shared client of one configuration (one connection pool per account and URL)."""
    return _clients.get(config)
