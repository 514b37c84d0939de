"""The daemon's OpenAPI document describes every route it serves."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web
from computesdk_daemon.app import build_app
from computesdk_daemon.config import DaemonConfig
from computesdk_daemon.testing import DaemonProcess

from computesdk_core.secrets import Secret

_METHODS = {"get", "post", "put", "patch", "delete", "head"}


def _registered(app: web.Application) -> set[tuple[str, str]]:
    found: dict[tuple[str, str], object] = {}
    for route in app.router.routes():
        method = route.method.lower()
        if method not in _METHODS:
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or ""
        # aiohttp writes a pattern parameter as {name:regex}; OpenAPI as {name}.
        found[(method, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path))] = route.handler
    # add_get also answers HEAD with the GET handler; only a HEAD of its own needs describing.
    return {(method, path) for (method, path), handler in found.items()
            if not (method == "head" and found.get(("get", path)) is handler)}


def test_every_route_is_in_the_openapi_document(daemon: DaemonProcess, tmp_path: Path) -> None:
    served = daemon.session.get(daemon.url + "/openapi.json", headers={"Authorization": ""}, timeout=30)
    assert served.status_code == 200, "the document is public"
    doc = served.json()
    assert doc["openapi"].startswith("3.1")
    described = {(method, path) for path, item in doc["paths"].items() for method in item if method in _METHODS}
    routes = _registered(build_app(DaemonConfig(token=Secret("t" * 16), workdir=tmp_path)))
    assert ("post", "/run/command") in routes and ("get", "/files/{tail}") in routes
    missing = sorted(routes - described)
    assert not missing, f"routes without an OpenAPI description: {missing}"
    stale = sorted(described - routes)
    assert not stale, f"described routes the daemon does not serve: {stale}"


def test_every_operation_has_a_summary_and_responses(daemon: DaemonProcess) -> None:
    doc = daemon.request("GET", "/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in _METHODS:
                assert operation.get("summary"), f"{method.upper()} {path} has no summary"
                assert operation.get("responses"), f"{method.upper()} {path} has no responses"
