"""Daytona's two HTTP APIs: the control plane (sandboxes, previews, labels) and each sandbox's toolbox.

Both take the same bearer key. The toolbox of a sandbox answers at ``{toolboxProxyUrl}/{sandboxId}``,
where ``toolboxProxyUrl`` is a field of the sandbox object the control plane returns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.secrets import Secret
from computesdk_core.vendor_http import VendorAPI
from computesdk_core.vendor_http import path_segment as _segment

PROVIDER = "daytona"
# Toolbox log endpoints answer JSON with stdout and stderr apart only to clients of this version or later.
SDK_VERSION = "0.190.0"
LIST_PAGE_SIZE = 100
# States in which a sandbox is gone for good, whatever the control plane still shows for a while.
GONE_STATES = frozenset({"destroyed", "destroying"})
FAILED_STATES = frozenset({"error", "build_failed"})
_POLL_START, _POLL_MAX = 0.1, 1.0


class DaytonaAPI:
    """Blocking calls to Daytona's control plane and to the toolboxes of its sandboxes."""

    def __init__(self, api_url: str, api_key: Secret, organization_id: str | None = None) -> None:
        headers: dict[str, str | Secret] = {
            "Authorization": Secret(f"Bearer {api_key.reveal()}"),
            "X-Daytona-Source": "computesdk-python",
        }
        if organization_id:
            headers["X-Daytona-Organization-ID"] = organization_id
        self.http = VendorAPI(PROVIDER, api_url, headers=headers)

    def __repr__(self) -> str:
        return f"DaytonaAPI({self.http.base_url!r})"

    # --- control plane ------------------------------------------------------------------------

    def create_sandbox(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /sandbox``; never retried, so a lost answer cannot make a second sandbox."""
        return self._object("POST", "/sandbox", json=dict(body), idempotent=False)

    def get_sandbox(self, sandbox_id: str) -> dict[str, Any] | None:
        """The sandbox object, or None when it does not exist or is being destroyed."""
        try:
            data = self._object("GET", f"/sandbox/{_segment(sandbox_id)}")
        except errors.NotFoundError:
            return None
        return None if data.get("state") in GONE_STATES else data

    def list_sandboxes(self, labels: Mapping[str, str] | None = None,
                       page_size: int = LIST_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every live sandbox (optionally only those carrying all ``labels``), page after page."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            if labels:
                params["labels"] = json.dumps(dict(labels), separators=(",", ":"))
            page = self._object("GET", "/sandbox", params=params)
            for item in page.get("items") or []:
                if isinstance(item, dict) and item.get("state") not in GONE_STATES:
                    yield item
            cursor = page.get("nextCursor")
            if not cursor:
                return

    def delete_sandbox(self, sandbox_id: str) -> bool:
        """``DELETE /sandbox/{id}``; False when it was already gone."""
        try:
            self.http.request("DELETE", f"/sandbox/{_segment(sandbox_id)}")
        except errors.NotFoundError:
            return False
        return True

    def action(self, sandbox_id: str, action: str, params: Mapping[str, Any] | None = None) -> Any:
        """``POST /sandbox/{id}/{action}`` for the state changes (start, stop, pause, archive...)."""
        return self.http.json("POST", f"/sandbox/{_segment(sandbox_id)}/{action}", params=params, idempotent=True)

    def touch(self, sandbox_id: str) -> None:
        """``POST /sandbox/{id}/last-activity``: count now as activity (resets the auto-stop timer)."""
        self.http.request("POST", f"/sandbox/{_segment(sandbox_id)}/last-activity", idempotent=True)

    def wait_until_started(self, sandbox_id: str, timeout: float, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Poll the sandbox until its state is ``started``; raise on failure or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        interval = _POLL_START
        while True:
            if data is None:
                data = self.get_sandbox(sandbox_id)
                if data is None:
                    raise errors.SandboxNotFoundError(f"daytona: sandbox {sandbox_id} disappeared while starting")
            state = data.get("state")
            if state == "started":
                return data
            if state in FAILED_STATES:
                raise errors.ProviderAPIError(
                    f"daytona: sandbox {sandbox_id} failed to start ({state}): {data.get('errorReason') or 'no reason given'}",
                    status_code=None, provider=PROVIDER, request_id=None,
                )
            if time.monotonic() >= deadline:
                raise errors.OperationTimeoutError(
                    f"daytona: sandbox {sandbox_id} was not started after {timeout:g} s (state {state!r})"
                )
            time.sleep(interval)
            interval = min(interval * 1.5, _POLL_MAX)
            data = None

    def preview_url(self, sandbox_id: str, port: int) -> dict[str, Any]:
        """``{sandboxId, url, token}`` of the port's preview link."""
        return self._object("GET", f"/sandbox/{_segment(sandbox_id)}/ports/{int(port)}/preview-url")

    def signed_preview_url(self, sandbox_id: str, port: int, expires_in: int) -> dict[str, Any]:
        """``{sandboxId, port, token, url}`` of a preview link that needs no header, valid ``expires_in`` s."""
        return self._object("GET", f"/sandbox/{_segment(sandbox_id)}/ports/{int(port)}/signed-preview-url",
                            params={"expiresInSeconds": int(expires_in)})

    def snapshot_sandbox(self, sandbox_id: str, name: str) -> dict[str, Any]:
        """``POST /sandbox/{id}/snapshot``: start saving the sandbox as snapshot ``name`` (never retried)."""
        return self._object("POST", f"/sandbox/{_segment(sandbox_id)}/snapshot", json={"name": name},
                            idempotent=False)

    def get_snapshot(self, id_or_name: str) -> dict[str, Any] | None:
        """The snapshot with this id or name, or None."""
        try:
            return self._object("GET", f"/snapshots/{_segment(id_or_name)}")
        except errors.NotFoundError:
            return None

    def list_snapshots(self, page_size: int = LIST_PAGE_SIZE) -> Iterator[dict[str, Any]]:
        """Every snapshot the organization can use, page after page."""
        page = 1
        while True:
            data = self._object("GET", "/snapshots", params={"page": page, "limit": page_size})
            yield from (item for item in data.get("items") or [] if isinstance(item, dict))
            if page >= int(data.get("totalPages") or 1):
                return
            page += 1

    def delete_snapshot(self, snapshot_id: str) -> bool:
        """``DELETE /snapshots/{id}``; False when it was already gone."""
        try:
            self.http.request("DELETE", f"/snapshots/{_segment(snapshot_id)}")
        except errors.NotFoundError:
            return False
        return True

    def wait_until_active(self, id_or_name: str, timeout: float) -> dict[str, Any]:
        """Poll a snapshot until it is ``active``; raise when it fails or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        interval = _POLL_START
        while True:
            data = self.get_snapshot(id_or_name)
            state = None if data is None else data.get("state")
            if data is not None and state == "active":
                return data
            if state in FAILED_STATES:
                raise errors.ProviderAPIError(
                    f"daytona: snapshot {id_or_name} failed ({state}): {(data or {}).get('errorReason') or 'no reason given'}",
                    status_code=None, provider=PROVIDER, request_id=None,
                )
            if time.monotonic() >= deadline:
                raise errors.OperationTimeoutError(f"daytona: snapshot {id_or_name} was not active after {timeout:g} s")
            time.sleep(interval)
            interval = min(interval * 1.5, _POLL_MAX)

    def toolbox_proxy_url(self, sandbox_id: str) -> str:
        """Where the sandbox's toolbox answers (without the sandbox id)."""
        return str(self._object("GET", f"/sandbox/{_segment(sandbox_id)}/toolbox-proxy-url")["url"])

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        data = self.http.json(method, path, **kwargs)
        if not isinstance(data, dict):
            raise errors.ProviderAPIError(
                f"daytona: {method} {path} answered with {type(data).__name__}, not a JSON object",
                status_code=None, provider=PROVIDER, request_id=None,
            )
        return data

    # --- toolbox ------------------------------------------------------------------------------

    def toolbox(self, method: str, base: str, path: str, **kwargs: Any) -> Any:
        """A toolbox call below ``base`` (``{toolboxProxyUrl}/{sandboxId}``); the response object."""
        headers = {"X-Daytona-SDK-Version": SDK_VERSION, **kwargs.pop("headers", {})}
        return self.http.request(method, path, base_url=base, headers=headers, **kwargs)

    def toolbox_json(self, method: str, base: str, path: str, **kwargs: Any) -> Any:
        """A toolbox call whose answer is JSON (None for an empty body)."""
        response = self.toolbox(method, base, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise errors.ProviderAPIError(
                f"daytona: the toolbox answered {method} {path} with a body that is not JSON",
                status_code=response.status_code, provider=PROVIDER, request_id=None,
            ) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


