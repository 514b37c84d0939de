"""HTTP to a sandbox's daemon: one ``requests.Session``, errors mapped into the core's tree."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import requests

from computesdk_core import errors

DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0


def error_from_response(response: requests.Response, provider: str | None = None) -> errors.ComputeSDKError:
    """Build the error a failed daemon or vendor response stands for, keeping its message."""
    message = _message_of(response)
    status = response.status_code
    context: dict[str, Any] = {"status_code": status, "provider": provider,
                               "request_id": response.headers.get("x-request-id")}
    if status == 400:
        return errors.ValidationError(message, **context)
    if status == 401:
        return errors.AuthenticationError(message or "the access token was refused", **context)
    if status == 403:
        return errors.PermissionDeniedError(message or "this token may not do that", **context)
    if status in (404, 410):
        return errors.NotFoundError(message or "not found", **context)
    if status == 429:
        retry_after = response.headers.get("retry-after")
        return errors.RateLimitError(
            message or "rate limited", retry_after=float(retry_after) if retry_after else None, **context
        )
    return errors.ProviderAPIError(f"HTTP {status}: {message}", **context)


def _message_of(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500]
    if isinstance(body, dict):
        # Vendors put their message in several ways: {"error": "..."}, {"message": "..."},
        # {"error": {"message": "..."}}, {"detail": "..."}. Where both are strings, "message"
        # holds the text and "error" a status phrase ({"error": "Bad Request", "message": ...}).
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str):
                return value
    return response.text.strip()[:500]


class DaemonHTTP:
    """Blocking HTTP calls to one daemon. Every call has a deadline unless the caller waives it."""

    def __init__(self, url: str, token: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"DaemonHTTP({self.url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None | str = "default",
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one request and return the response; raise the mapped error for a non-2xx status.

        ``timeout`` is the read deadline in seconds; ``None`` waits as long as the daemon works
        (only for commands the user started without a timeout). ``headers`` are added to the
        session's (long polls send ``X-Request-Timeout``).
        """
        read_timeout = self.timeout if timeout == "default" else timeout
        try:
            response = self._session.request(
                method, self.url + path, json=json, params=params, headers=headers,
                timeout=(CONNECT_TIMEOUT, read_timeout),  # type: ignore[arg-type]
            )
        except requests.Timeout as exc:
            raise errors.OperationTimeoutError(
                f"the sandbox daemon at {self.url} did not answer {method} {path} within {read_timeout} s"
            ) from exc
        except requests.ConnectionError as exc:
            raise errors.ConnectionLostError(
                f"the sandbox daemon at {self.url} is not reachable ({type(exc).__name__}); "
                "the sandbox may have been destroyed or timed out"
            ) from exc
        if response.status_code >= 400:
            raise error_from_response(response, provider="daemon")
        return response

    def data(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return the ``data`` member of a wrapped JSON body (or the body)."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            body = response.json()
        except ValueError as exc:
            raise errors.ProviderAPIError(
                f"the daemon answered {method} {path} with a body that is not JSON",
                status_code=response.status_code, provider="daemon", request_id=None,
            ) from exc
        if isinstance(body, dict) and "data" in body:
            return body["data"]
        return body

    def close(self) -> None:
        """Close the connection pool; idempotent."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._session.close()
