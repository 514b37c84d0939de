"""HTTP to one sandbox's envd: unary Connect calls, server streams and the ``/files`` endpoints.

envd answers at ``https://49983-{sandbox_id}.{domain}``. With the ``envd_url`` option every
sandbox's envd is reached at that one URL instead, told apart by the ``E2b-Sandbox-Id`` and
``E2b-Sandbox-Port`` headers (how E2B's own router host works); the tests point it at their emulator.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests

from computesdk_core import errors
from computesdk_core.secrets import Secret
from computesdk_core.vendor_http import VendorAPI
from computesdk_e2b import connect

ENVD_PORT = 49983
# envd calls are cheap to repeat, and an edge 502 means the sandbox is gone: few attempts suffice.
ATTEMPTS = 2
UNARY_TIMEOUT = 60.0


def envd_base_url(sandbox_id: str, domain: str, override: str | None) -> str:
    """Where the sandbox's envd answers."""
    return override or f"https://{ENVD_PORT}-{sandbox_id}.{domain}"


class Envd:
    """Blocking calls to one sandbox's envd."""

    def __init__(self, sandbox_id: str, base_url: str, access_token: Secret | None) -> None:
        headers: dict[str, str | Secret] = {
            "E2b-Sandbox-Id": sandbox_id,
            "E2b-Sandbox-Port": str(ENVD_PORT),
            "Connect-Protocol-Version": "1",
        }
        if access_token:
            headers["X-Access-Token"] = access_token
        self.sandbox_id = sandbox_id
        self.http = VendorAPI("e2b", base_url, headers=headers, timeout=UNARY_TIMEOUT, attempts=ATTEMPTS)

    def __repr__(self) -> str:
        return f"Envd({self.sandbox_id!r}, {self.http.base_url!r})"

    def call(self, method: str, message: Mapping[str, Any], *, idempotent: bool) -> dict[str, Any]:
        """A unary Connect call such as ``filesystem.Filesystem/Stat``; returns the response message."""
        response = self._send("POST", f"/{method}", json=dict(message), idempotent=idempotent)
        if not response.content:
            return {}
        try:
            found = response.json()
        except ValueError:
            raise errors.ProviderAPIError(f"e2b: envd answered {method} with a body that is not JSON",
                                          status_code=response.status_code, provider="e2b", request_id=None) from None
        return found if isinstance(found, dict) else {}

    @contextmanager
    def stream(self, method: str, message: Mapping[str, Any], *, read_timeout: float,
               headers: Mapping[str, str] | None = None) -> Iterator[Iterator[dict[str, Any]]]:
        """Open a server-streaming call; yields the iterator of its messages and closes it on exit.

        ``read_timeout`` bounds each wait for bytes (envd's keep-alive messages keep it short).
        """
        response = self._send(
            "POST", f"/{method}", data=connect.envelope(dict(message)), idempotent=False, stream=True,
            timeout=read_timeout, headers={"Content-Type": "application/connect+json", **(headers or {})},
        )
        try:
            yield connect.messages(response.raw)
        finally:
            response.close()

    def download(self, path: str) -> bytes:
        """``GET /files``: the file's bytes."""
        response = self._send("GET", "/files", params={"path": path},
                                     headers={"Accept-Encoding": "identity"})
        return response.content

    def upload(self, path: str, content: bytes) -> None:
        """``POST /files`` as multipart (any envd version): create or replace the file, parents included."""
        # requests builds the multipart body; the part's file name is the destination path, as E2B's SDK sends it.
        prepared = requests.Request("POST", "http://multipart.invalid", files={"file": (path, content)}).prepare()
        self._send("POST", "/files", params={"path": path}, data=prepared.body,
                          headers={"Content-Type": prepared.headers["Content-Type"]}, idempotent=True)

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except errors.ProviderAPIError as exc:
            raise _gone(exc, self.sandbox_id) from exc

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


def _gone(exc: errors.ProviderAPIError, sandbox_id: str) -> errors.ComputeSDKError:
    # The edge answers 502 for a sandbox that timed out or was killed.
    if exc.status_code == 502:
        return errors.SandboxNotFoundError(f"e2b: sandbox {sandbox_id} is not running (envd unreachable)",
                                           status_code=502, provider="e2b", request_id=None)
    return exc
