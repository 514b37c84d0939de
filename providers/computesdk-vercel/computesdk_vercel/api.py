"""Calls to Vercel's sandbox REST API (``/v2``, ``/v3``), one method per endpoint the provider uses.

Every call goes through :class:`computesdk_core.vendor_http.VendorAPI` (errors mapped with
Vercel's message, retries only where repeating is harmless) and carries ``teamId``. Item
endpoints take ``projectId``, list endpoints ``project``: Vercel's own naming.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import requests

from computesdk_core import errors
from computesdk_core.secrets import Secret
from computesdk_core.vendor_http import ClientCache, VendorAPI
from computesdk_core.vendor_http import path_segment as _seg
from computesdk_vercel.config import PROVIDER

LIST_PAGE = 50
# A cap on pages of one listing, so a server that keeps answering ``next`` cannot loop us forever.
MAX_PAGES = 1000
NDJSON = "application/x-ndjson"


class VercelAPI:
    """One Vercel team and project (token + base URL): a pooled session and the endpoint calls."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.team_id: str = config["team_id"]
        self.project_id: str = config["project_id"]
        self.http = VendorAPI(
            PROVIDER, config["api_url"], headers={"Authorization": Secret(f"Bearer {config['token'].reveal()}")},
            timeout=config["request_timeout"], attempts=config["max_retries"] + 1,
        )

    def __repr__(self) -> str:
        return f"VercelAPI({self.config['api_url']!r}, project={self.project_id!r})"

    # --- sandboxes ------------------------------------------------------------------------

    def create_sandbox(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST /v3/sandboxes (or /v2 when ``body`` names a runtime); never retried (it could make two)."""
        version = "v2" if "runtime" in body else "v3"
        return self._json("POST", f"/{version}/sandboxes", json={**body, "projectId": self.project_id},
                          idempotent=False)

    def get_sandbox(self, name: str, resume: bool = False) -> dict[str, Any] | None:
        """GET /v2/sandboxes/{name} (with ``resume=true`` a stopped one gets a new session); None when gone."""
        try:
            return self._json("GET", f"/v2/sandboxes/{_seg(name)}",
                              params={"projectId": self.project_id, "resume": "true" if resume else "false"})
        except errors.NotFoundError:
            return None

    def list_sandboxes(self, tags: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every sandbox of the project (with all of ``tags`` when given), page by page."""
        params: dict[str, Any] = {"project": self.project_id, "sortBy": "createdAt", "sortOrder": "asc"}
        if tags:
            params["tags"] = [f"{key}:{value}" for key, value in tags.items()]
        yield from self._pages("/v2/sandboxes", "sandboxes", params)

    def delete_sandbox(self, name: str) -> None:
        """DELETE /v2/sandboxes/{name}; NotFoundError when there is none."""
        self.http.request("DELETE", f"/v2/sandboxes/{_seg(name)}", params=self._scope({"projectId": self.project_id}))

    # --- sessions -------------------------------------------------------------------------

    def get_session(self, session_id: str) -> dict[str, Any]:
        """GET /v2/sandboxes/sessions/{id}: ``{"session", "routes"}``."""
        return self._json("GET", _session(session_id))

    def stop_session(self, session_id: str) -> dict[str, Any]:
        """POST .../stop (a persistent sandbox keeps its files for the next session); harmless to repeat."""
        return self._json("POST", f"{_session(session_id)}/stop", idempotent=True)

    def extend_timeout(self, session_id: str, milliseconds: int) -> dict[str, Any]:
        """POST .../extend-timeout; not retried, since each call adds ``milliseconds`` again."""
        return self._json("POST", f"{_session(session_id)}/extend-timeout", json={"duration": milliseconds},
                          idempotent=False)

    # --- commands -------------------------------------------------------------------------

    def start_command(self, session_id: str, body: Mapping[str, Any], read_timeout: float | None) -> requests.Response:
        """POST .../cmd; with ``wait`` an open NDJSON stream, else ``{"command"}``. Never retried (it would run twice)."""
        return self.http.request("POST", f"{_session(session_id)}/cmd", json=dict(body), params=self._scope(),
                                 idempotent=False, stream=bool(body.get("wait")), timeout=read_timeout)

    def command_logs(self, session_id: str, command_id: str, read_timeout: float) -> requests.Response:
        """GET .../cmd/{id}/logs: the command's whole output so far as NDJSON, then live until it ends."""
        return self.http.request("GET", f"{_session(session_id)}/cmd/{_seg(command_id)}/logs", params=self._scope(),
                                 stream=True, timeout=read_timeout)

    def get_command(self, session_id: str, command_id: str, wait: bool = False,
                    read_timeout: float | None = None) -> dict[str, Any]:
        """GET .../cmd/{id} (``wait`` blocks until it finished): the ``command`` object."""
        body = self._json("GET", f"{_session(session_id)}/cmd/{_seg(command_id)}",
                          params={"wait": "true"} if wait else None,
                          timeout=read_timeout if read_timeout is not None else "default")
        return field(body, "command", "GET cmd")

    def kill_command(self, session_id: str, command_id: str, signal: int = 9) -> None:
        """POST .../cmd/{id}/kill with a numeric signal; harmless to repeat."""
        self.http.request("POST", f"{_session(session_id)}/cmd/{_seg(command_id)}/kill", json={"signal": signal},
                          params=self._scope(), idempotent=True)

    # --- files ----------------------------------------------------------------------------

    def read_file(self, session_id: str, path: str) -> bytes | None:
        """POST .../fs/read: the file's bytes, None when it does not exist (404)."""
        try:
            response = self.http.request("POST", f"{_session(session_id)}/fs/read", json={"path": path},
                                         params=self._scope(), idempotent=True)
        except errors.NotFoundError as exc:
            if getattr(exc, "status_code", None) == 410:
                raise  # the session stopped: the caller resumes
            return None
        kind = response.headers.get("content-type", "").split(";")[0].strip()
        if kind != "application/octet-stream":
            raise errors.ProviderAPIError(f"vercel: fs/read of {path} answered with {kind or 'no content type'}, "
                                          f"not file bytes: {response.text[:300]}",
                                          status_code=response.status_code, provider=PROVIDER, request_id=None)
        return response.content

    def write_files(self, session_id: str, tarball: bytes, extract_dir: str) -> None:
        """POST .../fs/write: a gzipped tar extracted below ``extract_dir``; same bytes twice, same result."""
        self.http.request("POST", f"{_session(session_id)}/fs/write", data=tarball, params=self._scope(),
                          headers={"Content-Type": "application/gzip", "x-cwd": extract_dir}, idempotent=True)

    # --- snapshots ------------------------------------------------------------------------

    def snapshot(self, session_id: str) -> dict[str, Any]:
        """POST .../snapshot (this stops the session); not retried, it could make two snapshots."""
        return self._json("POST", f"{_session(session_id)}/snapshot", json={}, idempotent=False)

    def list_snapshots(self) -> Iterator[dict[str, Any]]:
        """Every snapshot of the project, page by page."""
        yield from self._pages("/v2/sandboxes/snapshots", "snapshots", {"project": self.project_id})

    def delete_snapshot(self, snapshot_id: str) -> None:
        """DELETE /v2/sandboxes/snapshots/{id}; NotFoundError (404 or 410) when it is gone."""
        self.http.request("DELETE", f"/v2/sandboxes/snapshots/{_seg(snapshot_id)}", params=self._scope())

    # --- plumbing -------------------------------------------------------------------------

    def _scope(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**(params or {}), "teamId": self.team_id}

    def _json(self, method: str, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        body = self.http.json(method, path, params=self._scope(params), **kwargs)
        if not isinstance(body, dict):
            raise errors.ProviderAPIError(
                f"vercel: {method} {path} answered with {type(body).__name__} instead of a JSON object",
                status_code=200, provider=PROVIDER, request_id=None,
            )
        return body

    def _pages(self, path: str, field: str, params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        cursor: Any = None
        for _ in range(MAX_PAGES):
            query = {**params, "limit": LIST_PAGE}
            if cursor is not None:
                query["cursor"] = cursor
            page = self._json("GET", path, params=query)
            items = page.get(field)
            if not isinstance(items, list):
                raise errors.ProviderAPIError(f"vercel: GET {path} answered without a {field!r} list",
                                              status_code=200, provider=PROVIDER, request_id=None)
            yield from items
            following = (page.get("pagination") or {}).get("next")
            if following is None or following == cursor or not items:
                return
            cursor = following

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


def field(body: Mapping[str, Any], name: str, what: str) -> dict[str, Any]:
    """``body[name]`` as a JSON object, or ProviderAPIError naming the call ``what``."""
    value = body.get(name)
    if not isinstance(value, dict):
        raise errors.ProviderAPIError(f"vercel: {what} answered without a {name!r} object",
                                      status_code=200, provider=PROVIDER, request_id=None)
    return value


def _session(session_id: str) -> str:
    return f"/v2/sandboxes/sessions/{_seg(session_id)}"


_clients: ClientCache[VercelAPI] = ClientCache(VercelAPI)


def client_for(config: Mapping[str, Any]) -> VercelAPI:
    """The shared client of one configuration (one connection pool per token, team, project and URL)."""
    return _clients.get(config)
