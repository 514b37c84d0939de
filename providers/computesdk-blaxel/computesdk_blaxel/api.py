"""Calls to Blaxel's two REST APIs, one method per endpoint the provider uses.

The control plane (``api_url``, e.g. ``https://api.blaxel.ai/v0``) holds sandboxes (addressed by
name), previews and their tokens. Each sandbox serves its own API at ``metadata.url`` for
processes and files. Both take the same workspace headers; every call goes through
:class:`computesdk_core.vendor_http.VendorAPI`, and each method says whether it may be retried.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import requests

from computesdk_blaxel.config import PROVIDER
from computesdk_core import errors
from computesdk_core.secrets import Secret
from computesdk_core.vendor_http import VendorAPI

API_VERSION = "2026-04-28"
# Where a sandbox's API answers when its record carries no url.
DEFAULT_RUN_URL = "https://run.blaxel.ai"
LIST_PAGE = 100
# A cap on pages of one listing, so a server that keeps saying hasMore cannot loop us forever.
MAX_PAGES = 1000


def seg(value: str) -> str:
    """``value`` as one URL path segment (names are opaque; never let one add a path level)."""
    return urllib.parse.quote(str(value), safe="")


def fs_path(path: str) -> str:
    """A sandbox path as the ``/filesystem/{path}`` routes take it: one segment, slashes encoded.

    The sandbox API reads ``/filesystem/src`` as a path relative to its own directory; an absolute
    path keeps its leading slash only when it is percent-encoded.
    """
    return urllib.parse.quote(path, safe="")


class BlaxelAPI:
    """One Blaxel workspace (API key + workspace + base URL): a pooled session and the endpoint calls."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        key = config["api_key"].reveal()
        self.http = VendorAPI(
            PROVIDER, config["api_url"],
            headers={"X-Blaxel-Authorization": Secret(f"Bearer {key}"), "X-Blaxel-Workspace": config["workspace"],
                     "Blaxel-Version": API_VERSION},
            timeout=config["request_timeout"], attempts=config["max_retries"] + 1,
        )
        # The sandbox API's own document declares bearer auth; the SDK's X- header goes along too.
        self._sandbox_headers = {"Authorization": f"Bearer {key}"}

    def __repr__(self) -> str:
        return f"BlaxelAPI({self.config['api_url']!r}, workspace={self.config['workspace']!r})"

    # --- control plane: sandboxes --------------------------------------------------------

    def create_sandbox(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /sandboxes; never retried (a retry could make a second sandbox)."""
        return self._json("POST", "/sandboxes", json=dict(body), idempotent=False)

    def get_sandbox(self, name: str) -> dict[str, Any] | None:
        """GET /sandboxes/{name}; None when the workspace has no such sandbox."""
        try:
            return self._json("GET", f"/sandboxes/{seg(name)}")
        except errors.NotFoundError:
            return None

    def update_sandbox(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """PUT /sandboxes/{name} with the whole sandbox (a full replacement, so safe to repeat)."""
        return self._json("PUT", f"/sandboxes/{seg(name)}", json=dict(body))

    def delete_sandbox(self, name: str) -> None:
        """DELETE /sandboxes/{name}."""
        self.http.request("DELETE", f"/sandboxes/{seg(name)}")

    def list_sandboxes(self) -> Iterator[dict[str, Any]]:
        """Every sandbox of the workspace, following the cursor."""
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            params: dict[str, Any] = {"limit": LIST_PAGE}
            if cursor:
                params["cursor"] = cursor
            page = self.http.json("GET", "/sandboxes", params=params)
            # Older API versions answer with a bare list.
            if isinstance(page, list):
                yield from page
                return
            items = page.get("data") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise errors.ProviderAPIError("blaxel: GET /sandboxes answered without a 'data' list",
                                              status_code=200, provider=PROVIDER, request_id=None)
            yield from items
            meta = page.get("meta") or {}
            following = meta.get("nextCursor")
            if not meta.get("hasMore") or not following or following == cursor:
                return
            cursor = str(following)

    # --- control plane: previews ---------------------------------------------------------

    def get_preview(self, name: str, preview: str) -> dict[str, Any] | None:
        """GET /sandboxes/{name}/previews/{preview}; None when there is none."""
        try:
            return self._json("GET", f"/sandboxes/{seg(name)}/previews/{seg(preview)}")
        except errors.NotFoundError:
            return None

    def create_preview(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /sandboxes/{name}/previews (a preview of that name can exist only once)."""
        return self._json("POST", f"/sandboxes/{seg(name)}/previews", json=dict(body), idempotent=False)

    def create_preview_token(self, name: str, preview: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /sandboxes/{name}/previews/{preview}/tokens: a token for a private preview."""
        return self._json("POST", f"/sandboxes/{seg(name)}/previews/{seg(preview)}/tokens", json=dict(body),
                          idempotent=False)

    # --- sandbox API: processes ----------------------------------------------------------

    def start_process(self, base: str, body: Mapping[str, Any], *, stream: bool, read_timeout: float | None) -> requests.Response:
        """POST /process; with ``stream`` the answer is NDJSON lines while it runs. Never retried."""
        headers = dict(self._sandbox_headers)
        if stream:
            headers["Accept"] = "text/event-stream"
        return self.http.request("POST", "/process", json=dict(body), headers=headers, base_url=base,
                                 idempotent=False, stream=stream, timeout=read_timeout)

    def get_process(self, base: str, identifier: str) -> dict[str, Any]:
        """GET /process/{identifier}: status, exit code and output so far."""
        return self._json("GET", f"/process/{seg(identifier)}", headers=self._sandbox_headers, base_url=base)

    def kill_process(self, base: str, identifier: str) -> None:
        """DELETE /process/{identifier}/kill (SIGKILL); a process already gone is fine."""
        try:
            self.http.request("DELETE", f"/process/{seg(identifier)}/kill", headers=self._sandbox_headers,
                              base_url=base)
        except errors.NotFoundError:
            pass

    # --- sandbox API: files --------------------------------------------------------------

    def read_file(self, base: str, path: str) -> bytes:
        """GET /filesystem/{path} as raw bytes."""
        response = self.http.request("GET", f"/filesystem/{fs_path(path)}", params={"download": "true"},
                                     headers={**self._sandbox_headers, "Accept": "application/octet-stream"},
                                     base_url=base)
        return response.content

    def stat(self, base: str, path: str) -> dict[str, Any]:
        """GET /filesystem/{path} as JSON: a ``Directory`` listing or a ``FileWithContent``."""
        return self._json("GET", f"/filesystem/{fs_path(path)}",
                          headers={**self._sandbox_headers, "Accept": "application/json"}, base_url=base)

    def write_text(self, base: str, path: str, text: str) -> None:
        """PUT /filesystem/{path} with JSON ``content``; parents are created by the server."""
        self.http.request("PUT", f"/filesystem/{fs_path(path)}", json={"content": text, "permissions": "0644"},
                          headers=self._sandbox_headers, base_url=base)

    def write_bytes(self, base: str, path: str, content: bytes) -> None:
        """PUT /filesystem/{path} as multipart form data (any bytes); parents are created by the server."""
        self.http.request("PUT", f"/filesystem/{fs_path(path)}", headers=self._sandbox_headers, base_url=base,
                          data={"permissions": "0644", "path": path},
                          files={"file": ("file", content, "application/octet-stream")})

    def make_directory(self, base: str, path: str) -> None:
        """PUT /filesystem/{path} with ``isDirectory`` (mkdir -p)."""
        self.http.request("PUT", f"/filesystem/{fs_path(path)}", json={"isDirectory": True, "permissions": "0755"},
                          headers=self._sandbox_headers, base_url=base)

    def remove(self, base: str, path: str) -> None:
        """DELETE /filesystem/{path}?recursive=true (not retried: a second try would 404)."""
        self.http.request("DELETE", f"/filesystem/{fs_path(path)}", params={"recursive": "true"},
                          headers=self._sandbox_headers, base_url=base, idempotent=False)

    # --- plumbing ------------------------------------------------------------------------

    def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        body = self.http.json(method, path, **kwargs)
        if not isinstance(body, dict):
            raise errors.ProviderAPIError(
                f"blaxel: {method} {path} answered with {type(body).__name__} instead of a JSON object",
                status_code=200, provider=PROVIDER, request_id=None,
            )
        return body

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


_clients: dict[tuple[Any, ...], BlaxelAPI] = {}
_clients_lock = threading.Lock()


def client_for(config: Mapping[str, Any]) -> BlaxelAPI:
    """The shared client of one configuration (one connection pool per workspace and URL)."""
    key = tuple(sorted(config.items()))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = BlaxelAPI(config)
        return client
