"""The native handle of a Daytona sandbox (``Sandbox.get_instance()``): state changes and preview links."""

from __future__ import annotations

from typing import Any

import attrs

from computesdk_daytona.api import DaytonaAPI

# Header a client sends with the token of a preview link (unless the sandbox is public).
PREVIEW_TOKEN_HEADER = "x-daytona-preview-token"


@attrs.frozen
class PreviewLink:
    """A port's preview URL and the token to send in the ``x-daytona-preview-token`` header."""

    url: str
    token: str = attrs.field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        """The request headers that open this link on a private sandbox."""
        return {PREVIEW_TOKEN_HEADER: self.token}


class DaytonaSandbox:
    """One Daytona sandbox: its last known object and the calls the common interface lacks.

    ``data`` is the sandbox object as the control plane last returned it (Daytona's field names).
    """

    def __init__(self, client: DaytonaAPI, data: dict[str, Any], start_timeout: float) -> None:
        self.client = client
        self.data = data
        self.start_timeout = start_timeout

    def __repr__(self) -> str:
        return f"DaytonaSandbox({self.id!r}, state={self.state!r})"

    @property
    def id(self) -> str:
        """The sandbox id."""
        return str(self.data["id"])

    @property
    def state(self) -> str | None:
        """The state as last seen (``started``, ``stopped``, ``paused``, ``archived``...)."""
        return self.data.get("state")

    @property
    def toolbox_url(self) -> str:
        """Base URL of this sandbox's toolbox API: ``{toolboxProxyUrl}/{id}``."""
        proxy = self.data.get("toolboxProxyUrl")
        if not proxy:
            proxy = self.client.toolbox_proxy_url(self.id)
            self.data["toolboxProxyUrl"] = proxy
        return f"{str(proxy).rstrip('/')}/{self.id}"

    def refresh(self) -> DaytonaSandbox:
        """Fetch the sandbox object again."""
        from computesdk_core.errors import SandboxNotFoundError

        data = self.client.get_sandbox(self.id)
        if data is None:
            raise SandboxNotFoundError(f"daytona: sandbox {self.id} does not exist any more")
        self.data = data
        return self

    def _act(self, action: str, **params: Any) -> DaytonaSandbox:
        self.client.action(self.id, action, params or None)
        return self.refresh()

    def start(self) -> DaytonaSandbox:
        """Start a stopped or archived sandbox (or resume a paused one) and wait until it runs."""
        self.client.action(self.id, "start")
        self.data = self.client.wait_until_started(self.id, self.start_timeout)
        return self

    def resume(self) -> DaytonaSandbox:
        """Resume a paused sandbox (Daytona's ``start``)."""
        return self.start()

    def stop(self, force: bool = False) -> DaytonaSandbox:
        """Stop the sandbox; its files stay. ``force`` shuts a VM sandbox down instead of pausing it."""
        return self._act("stop", force="true") if force else self._act("stop")

    def pause(self) -> DaytonaSandbox:
        """Pause the sandbox, keeping its memory where the runner can."""
        return self._act("pause")

    def archive(self) -> DaytonaSandbox:
        """Move a stopped sandbox to cheaper storage; ``start`` brings it back."""
        return self._act("archive")

    def set_auto_stop(self, minutes: int) -> DaytonaSandbox:
        """Stop the sandbox after ``minutes`` without activity (0: never)."""
        return self._act(f"autostop/{int(minutes)}")

    def preview_link(self, port: int) -> PreviewLink:
        """The port's preview URL and its token (send it in ``x-daytona-preview-token``)."""
        data = self.client.preview_url(self.id, port)
        return PreviewLink(url=str(data["url"]), token=str(data.get("token") or ""))

    def signed_preview_url(self, port: int, expires_in: int = 60) -> str:
        """A preview URL that carries its own token, valid for ``expires_in`` seconds (1 to 86400)."""
        return str(self.client.signed_preview_url(self.id, port, expires_in)["url"])
