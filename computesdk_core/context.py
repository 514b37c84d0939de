"""SandboxContext: what hooks on one sandbox receive as their ``sandbox`` argument."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from computesdk_core.types import SandboxRecord

if TYPE_CHECKING:
    from computesdk_core.daemon_client import DaemonClient
    from computesdk_core.plugins import ProviderHost


class SandboxContext:
    """One sandbox as plugins see it: its provider, the provider's config and its record.

    It also owns the sandbox's connections (the daemon client), so that a provider's hooks and
    the core's defaults share one HTTP session and one WebSocket per sandbox.
    """

    def __init__(self, host: ProviderHost, config: Mapping[str, Any], record: SandboxRecord) -> None:
        self.host = host
        self.provider = host.name
        self.config = config
        self.record = record
        self._daemon: DaemonClient | None = None
        self._daemon_resolved = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SandboxContext({self.provider!r}, {self.record.sandbox_id!r})"

    @property
    def sandbox_id(self) -> str:
        """The sandbox's id."""
        return self.record.sandbox_id

    def daemon(self) -> DaemonClient | None:
        """The client of the sandbox's daemon, or None when the provider runs none."""
        from computesdk_core.daemon_client import DaemonClient

        with self._lock:
            if not self._daemon_resolved:
                endpoint = self.host.hook.sandbox_daemon(sandbox=self)
                self._daemon = DaemonClient(endpoint, name=self.sandbox_id) if endpoint else None
                self._daemon_resolved = True
            return self._daemon

    def require_daemon(self, feature: str) -> DaemonClient:
        """The daemon client; raise UnsupportedFeatureError naming ``feature`` when there is none."""
        from computesdk_core import errors

        daemon = self.daemon()
        if daemon is None:
            raise errors.UnsupportedFeatureError(
                f"provider {self.provider!r} does not support {feature} (its sandboxes run no computesdk daemon)",
                provider=self.provider, feature=feature,
            )
        return daemon

    def close(self) -> None:
        """Close the connections and threads this context opened; idempotent.

        A later call reopens them, so closing never breaks a handle that is used again.
        """
        with self._lock:
            daemon, self._daemon = self._daemon, None
            self._daemon_resolved = False
        if daemon is not None:
            daemon.close()
