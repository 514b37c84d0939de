"""Public URLs of sandbox ports: one Blaxel preview per port, made on first use and then reused.

A preview is looked up by its name first and created only when missing, so several clients (or a
retried call) end up sharing it. Private previews (``public_previews=False``) get a token once,
passed in the URL as ``bl_preview_token``.
"""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
from collections.abc import Mapping
from typing import Any

from computesdk_blaxel.api import BlaxelAPI
from computesdk_blaxel.config import PROVIDER
from computesdk_core import errors

_cache: dict[tuple[str, str, str, int], str] = {}
_lock = threading.Lock()


def preview_name(port: int, public: bool) -> str:
    """The name of the preview of ``port``."""
    return f"computesdk-port-{port}-{'public' if public else 'private'}"


def url(api: BlaxelAPI, sandbox_name: str, port: int, protocol: str) -> str:
    """The URL of ``port`` in the sandbox with ``protocol`` as its scheme."""
    config = api.config
    key = (config["api_url"], config["workspace"], sandbox_name, port)
    with _lock:
        base = _cache.get(key)
    if base is None:
        base = _make(api, sandbox_name, port, bool(config["public_previews"]))
        with _lock:
            _cache[key] = base
    return f"{protocol}://{base.split('://', 1)[-1]}"


def _make(api: BlaxelAPI, sandbox_name: str, port: int, public: bool) -> str:
    name = preview_name(port, public)
    preview = api.get_preview(sandbox_name, name)
    if preview is None:
        body = {"metadata": {"name": name}, "spec": {"port": port, "public": public}}
        try:
            preview = api.create_preview(sandbox_name, body)
        except errors.ProviderAPIError as exc:
            # 409: another client made it between our look-up and our create.
            if getattr(exc, "status_code", None) != 409:
                raise
            preview = api.get_preview(sandbox_name, name)
    link = _spec_url(preview, sandbox_name, port)
    if public:
        return link
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=api.config["preview_token_ttl"])
    token_body = {"metadata": {"name": f"computesdk-{int(expires.timestamp() * 1000)}"},
                  "spec": {"expiresAt": expires.isoformat().replace("+00:00", "Z")}}
    token = ((api.create_preview_token(sandbox_name, name, token_body).get("spec") or {}).get("token"))
    if not isinstance(token, str) or not token:
        raise errors.ProviderAPIError(f"blaxel: the token of preview {name} came without a value",
                                      status_code=200, provider=PROVIDER, request_id=None)
    separator = "&" if "?" in link else "?"
    return f"{link}{separator}{urllib.parse.urlencode({'bl_preview_token': token})}"


def _spec_url(preview: Mapping[str, Any] | None, sandbox_name: str, port: int) -> str:
    link = ((preview or {}).get("spec") or {}).get("url")
    if not isinstance(link, str) or "://" not in link:
        raise errors.ProviderAPIError(f"blaxel: the preview of port {port} of {sandbox_name} has no URL",
                                      status_code=200, provider=PROVIDER, request_id=None)
    return link.rstrip("/")
