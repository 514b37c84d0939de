"""Calls to E2B's control plane (``api_url``): sandboxes, timeouts, pause/resume, snapshots."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.secrets import Secret
from computesdk_core.vendor_http import ClientCache, VendorAPI

PROVIDER = "e2b"
USER_AGENT = "computesdk-python-e2b/0.1"
# The largest page the list endpoints serve.
PAGE_LIMIT = 100

_clients: ClientCache[ControlPlane] = ClientCache(lambda config: ControlPlane(config["api_url"], config["api_key"]))


def control_plane(config: Mapping[str, Any]) -> ControlPlane:
    """The shared client of ``config``'s control plane (one connection pool per configuration)."""
    return _clients.get(config)


class ControlPlane:
    """Blocking calls to one E2B API base URL with one API key."""

    def __init__(self, api_url: str, api_key: Secret) -> None:
        self.http = VendorAPI(PROVIDER, api_url, headers={"X-API-Key": api_key, "User-Agent": USER_AGENT})

    def __repr__(self) -> str:
        return f"ControlPlane({self.http.base_url!r})"

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /sandboxes``; never retried, since a retry could start a second sandbox."""
        return _object(self.http.json("POST", "/sandboxes", json=dict(body), idempotent=False), "POST /sandboxes")

    def get(self, sandbox_id: str) -> dict[str, Any] | None:
        """``GET /sandboxes/{id}``; None when E2B no longer knows it (404 or 410)."""
        try:
            found = self.http.json("GET", f"/sandboxes/{_quote(sandbox_id)}")
        except errors.NotFoundError:
            return None
        return _object(found, "GET /sandboxes/{id}")

    def sandboxes(self, metadata: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Every running or paused sandbox (``GET /v2/sandboxes``, all pages), filtered by metadata."""
        params: dict[str, Any] = {"state": "running,paused", "limit": PAGE_LIMIT}
        if metadata:
            # E2B wants one query value holding a query string whose keys and values are encoded.
            params["metadata"] = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in metadata.items())
        return self._all_pages("/v2/sandboxes", params, "a list of sandboxes")

    def kill(self, sandbox_id: str) -> bool:
        """``DELETE /sandboxes/{id}``; False when it was already gone."""
        try:
            self.http.request("DELETE", f"/sandboxes/{_quote(sandbox_id)}")
        except errors.NotFoundError:
            return False
        return True

    def set_timeout(self, sandbox_id: str, seconds: int) -> None:
        """``POST /sandboxes/{id}/timeout``: the sandbox now ends ``seconds`` from now."""
        self.http.request("POST", f"/sandboxes/{_quote(sandbox_id)}/timeout", json={"timeout": seconds},
                          idempotent=True)

    def pause(self, sandbox_id: str) -> None:
        """``POST /sandboxes/{id}/pause`` (409 when it is not running)."""
        self.http.request("POST", f"/sandboxes/{_quote(sandbox_id)}/pause", json={}, idempotent=False)

    def connect(self, sandbox_id: str, timeout: int) -> dict[str, Any]:
        """``POST /sandboxes/{id}/connect``: resume a paused sandbox; never shortens its lifetime."""
        found = self.http.json("POST", f"/sandboxes/{_quote(sandbox_id)}/connect", json={"timeout": timeout},
                               idempotent=True)
        return _object(found, "POST /sandboxes/{id}/connect")

    def snapshot(self, sandbox_id: str, name: str | None) -> dict[str, Any]:
        """``POST /sandboxes/{id}/snapshots``; not retried (each call makes a snapshot)."""
        body = {} if name is None else {"name": name}
        found = self.http.json("POST", f"/sandboxes/{_quote(sandbox_id)}/snapshots", json=body, idempotent=False)
        return _object(found, "POST /sandboxes/{id}/snapshots")

    def snapshots(self) -> list[dict[str, Any]]:
        """Every snapshot of the team (``GET /snapshots``, all pages)."""
        params: dict[str, Any] = {"limit": PAGE_LIMIT}
        return self._all_pages("/snapshots", params, "a list of snapshots")

    def _all_pages(self, path: str, params: dict[str, Any], what: str) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following ``X-Next-Token`` from page to page."""
        found: list[dict[str, Any]] = []
        while True:
            response = self.http.request("GET", path, params=params)
            page = _json_of(response, f"GET {path}")
            if not isinstance(page, list) or not all(isinstance(item, dict) for item in page):
                raise _malformed(f"GET {path}", what)
            found.extend(page)
            token = response.headers.get("X-Next-Token")
            if not token:
                return found
            params["nextToken"] = token

    def delete_template(self, template_id: str) -> bool:
        """``DELETE /templates/{id}`` (snapshots are templates); False when it was already gone."""
        try:
            self.http.request("DELETE", f"/templates/{_quote(template_id)}")
        except errors.NotFoundError:
            return False
        return True


def _quote(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")


def _json_of(response: Any, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise _malformed(what, "JSON") from None


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _malformed(what, "a JSON object")
    return value


def _malformed(what: str, expected: str) -> errors.ProviderAPIError:
    return errors.ProviderAPIError(f"e2b: {what} answered with a body that is not {expected}",
                                   status_code=None, provider=PROVIDER, request_id=None)
