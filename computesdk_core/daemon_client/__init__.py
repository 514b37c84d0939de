"""The client side of the daemon protocol: HTTP through ``requests``, streams through one WebSocket."""

from computesdk_core.daemon_client.client import DaemonClient
from computesdk_core.daemon_client.http import DaemonHTTP
from computesdk_core.daemon_client.websocket import SandboxSocket

__all__ = ["DaemonClient", "DaemonHTTP", "SandboxSocket"]
