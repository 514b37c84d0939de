"""The few HTTP calls the provider itself makes to a sandbox's daemon (health and timeout extension)."""

from __future__ import annotations

from typing import Any

import requests

from computesdk_core.errors import ConnectionLostError, ProviderAPIError


def _session() -> requests.Session:
    session = requests.Session()
    # The daemon is on the loopback: never route it through a proxy from the environment.
    session.trust_env = False
    return session


def healthy(url: str, timeout: float) -> bool:
    """Say whether ``GET url/health`` answers 200 with status "ok" within ``timeout`` seconds."""
    try:
        with _session() as session:
            response = session.get(f"{url}/health", timeout=timeout)
        return response.status_code == 200 and response.json().get("status") == "ok"
    except (requests.RequestException, ValueError, AttributeError):
        return False


def extend_timeout(url: str, token: str, duration: float, timeout: float) -> dict[str, Any]:
    """POST ``/timeout/extend``; return the response's ``data`` object (empty if it has none)."""
    try:
        with _session() as session:
            response = session.post(
                f"{url}/timeout/extend",
                json={"duration": duration},
                headers={"Authorization": f"Bearer {token}"},
                timeout=timeout,
            )
    except requests.RequestException as exc:
        raise ConnectionLostError(f"local: the sandbox's daemon at {url} did not answer: {exc}") from None
    if not response.ok:
        raise ProviderAPIError(
            f"local: extending the timeout failed with HTTP {response.status_code}: {response.text[:300]}",
            status_code=response.status_code,
            provider="local",
            request_id=None,
        )
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        data = None
    return data if isinstance(data, dict) else {}
