"""E2BSandbox: the native handle of an E2B sandbox (``Sandbox.get_instance()``)."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any

from computesdk_core.secrets import Secret
from computesdk_e2b.api import control_plane
from computesdk_e2b.envd import Envd, envd_base_url


class E2BSandbox:
    """One E2B sandbox: its envd connection, plus what the common interface lacks (pause/resume)."""

    def __init__(self, config: Mapping[str, Any], sandbox_id: str, domain: str | None,
                 access_token: str | None, envd_version: str | None = None) -> None:
        self.sandbox_id = sandbox_id
        self.domain = domain or config["domain"]
        self.envd_version = envd_version
        self._config = config
        self._token = Secret(access_token) if access_token else None
        self._envd: Envd | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"E2BSandbox({self.sandbox_id!r}, domain={self.domain!r})"

    @property
    def envd(self) -> Envd:
        """The client of the sandbox's envd (opened at first use)."""
        with self._lock:
            if self._envd is None:
                base = envd_base_url(self.sandbox_id, self.domain, self._config.get("envd_url"))
                self._envd = Envd(self.sandbox_id, base, self._token)
            return self._envd

    def get_host(self, port: int) -> str:
        """The host name at which ``port`` inside the sandbox is served: ``{port}-{id}.{domain}``."""
        return f"{port}-{self.sandbox_id}.{self.domain}"

    def pause(self) -> None:
        """Pause the sandbox (``POST /sandboxes/{id}/pause``): memory and files are kept, nothing runs.

        Raises ProviderAPIError (HTTP 409) when it is already paused.
        """
        control_plane(self._config).pause(self.sandbox_id)

    def resume(self, timeout: float | None = None) -> None:
        """Resume a paused sandbox (``POST /sandboxes/{id}/connect``) for at least ``timeout`` seconds.

        ``timeout`` defaults to the provider's configured lifetime; on a running sandbox this only
        ever lengthens its lifetime.
        """
        seconds = math.ceil(timeout if timeout is not None else self._config["timeout"])
        found = control_plane(self._config).connect(self.sandbox_id, seconds)
        token = found.get("envdAccessToken")
        with self._lock:
            if token and (self._token is None or token != self._token.reveal()):
                self._token = Secret(token)
                if self._envd is not None:
                    self._envd.close()
                    self._envd = None

    def close(self) -> None:
        """Close the envd connection pool; the sandbox keeps running."""
        with self._lock:
            envd, self._envd = self._envd, None
        if envd is not None:
            envd.close()
