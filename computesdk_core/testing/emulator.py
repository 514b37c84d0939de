"""Emulators of vendor APIs for provider tests: a real HTTP server on loopback, checked against the spec.

A provider package subclasses :class:`Emulator`, declares routes with :func:`route` and runs the
commands it is asked to run for real (see :class:`LocalBackend`). When the vendor's OpenAPI
document is found (``spec`` names a file under ``shared/vendor-specs``), every request the
plugin sends and every JSON response the emulator returns is validated against it, and what does
not match is collected in :attr:`Emulator.violations` for the tests to assert on.

Needs the ``testing`` extra of computesdk-core (werkzeug, openapi-core, pyyaml).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import yaml
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import ThreadedWSGIServer
from werkzeug.wrappers import Request, Response

SPECS_ENV = "COMPUTESDK_VENDOR_SPECS"
Handler = Callable[..., Response]


def route(rule: str, methods: Iterable[str] = ("GET",)) -> Callable[[Handler], Handler]:
    """Mark an emulator method as the handler of ``rule`` (werkzeug syntax, e.g. ``/sandboxes/<id>``)."""

    def mark(function: Handler) -> Handler:
        function._emulator_routes = [*getattr(function, "_emulator_routes", []), (rule, tuple(methods))]  # type: ignore[attr-defined]
        return function

    return mark


def find_vendor_specs() -> Path | None:
    """The ``vendor-specs`` folder: ``$COMPUTESDK_VENDOR_SPECS``, else ``shared/vendor-specs`` beside a parent."""
    explicit = os.environ.get(SPECS_ENV)
    if explicit:
        return Path(explicit) if Path(explicit).is_dir() else None
    for start in (Path.cwd(), Path(__file__).resolve()):
        for parent in [start, *start.parents]:
            candidate = parent / "shared" / "vendor-specs"
            if candidate.is_dir():
                return candidate
    return None


class _NamedThreadServer(ThreadedWSGIServer):
    """The threaded WSGI server, with every request thread named and a daemon thread."""

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                  name=f"emulator-request-{self.server_port}", daemon=True)
        thread.start()


# Tar options, evaluated by the shell inside a local sandbox, that leave out its read-only mounts: the
# host's Python and computesdk packages shown at their host paths (under /tmp when the checkout is
# there). A snapshot that kept them could not be unpacked over the same mounts in a new sandbox.
READ_ONLY_MOUNT_EXCLUDES = (
    "$(awk '$6 ~ /(^|,)ro(,|$)/ && $5 != \"/\" {print \"--exclude=\" substr($5, 2)}' /proc/self/mountinfo)"
)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return Response(json.dumps(data), status=status, headers=headers, mimetype="application/json")


class Emulator:
    """A vendor API on ``http://127.0.0.1:<free port>``, served by one named daemon thread."""

    #: Path of the vendor's OpenAPI document below ``vendor-specs`` (e.g. ``"e2b/openapi.yml"``).
    spec: ClassVar[str | None] = None
    #: Paths (werkzeug rules) served without spec validation, e.g. streaming endpoints the spec lacks.
    unvalidated: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._map = Map()
        self._handlers: dict[str, Handler] = {}
        for name in dir(type(self)):
            function = getattr(type(self), name, None)
            for rule, methods in getattr(function, "_emulator_routes", []):
                endpoint = f"{name}:{rule}"
                self._map.add(Rule(rule, methods=list(methods), endpoint=endpoint))
                self._handlers[endpoint] = getattr(self, name)
        self.violations: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self._openapi = self._load_spec()
        self._server: ThreadedWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def validating(self) -> bool:
        """Whether traffic is checked against the vendor's spec (False when the spec is absent)."""
        return self._openapi is not None

    def _load_spec(self) -> Any:
        if self.spec is None:
            return None
        folder = find_vendor_specs()
        if folder is None or not (folder / self.spec).is_file():
            return None
        from openapi_core import OpenAPI

        document = yaml.safe_load((folder / self.spec).read_text())
        # Requests come to 127.0.0.1:<port>, not to the vendor's hosts.
        document["servers"] = [{"url": "/"}]
        for item in document.get("paths", {}).values():
            if isinstance(item, dict):
                item.pop("servers", None)
        return OpenAPI.from_dict(document)

    @property
    def url(self) -> str:
        """The emulator's base URL."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> Emulator:
        """Start serving on a free loopback port."""
        self._server = _NamedThreadServer("127.0.0.1", 0, self._wsgi)
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"emulator-{type(self).__name__}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and join the server thread (bounded)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        adapter = self._map.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
            self.requests.append((request.method, request.path))
            rule = next(r.rule for r in self._map.iter_rules() if r.endpoint == endpoint)
            check = self.validating and rule not in self.unvalidated
            if check:
                self._validate_request(request)
            response = self._handlers[endpoint](request, **args)
            if check and response.mimetype == "application/json" and not response.is_streamed:
                self._validate_response(request, response)
        except (NotFound, MethodNotAllowed) as exc:
            self.violations.append(f"{request.method} {request.path}: no such route in the emulator")
            response = json_response({"message": exc.description}, status=exc.code or 404)
        except HTTPException as exc:
            response = json_response({"message": exc.description}, status=exc.code or 500)
        return response(environ, start_response)

    def _validate_request(self, request: Request) -> None:
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest

        try:
            self._openapi.validate_request(WerkzeugOpenAPIRequest(request))
        except Exception as exc:  # every kind of mismatch is a finding, not a crash
            self.violations.append(f"request {request.method} {request.path}: {_describe(exc)}")

    def _validate_response(self, request: Request, response: Response) -> None:
        from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse

        try:
            self._openapi.validate_response(WerkzeugOpenAPIRequest(request), WerkzeugOpenAPIResponse(response))
        except Exception as exc:  # every kind of mismatch is a finding, not a crash
            self.violations.append(f"response {response.status_code} to {request.method} {request.path}: {_describe(exc)}")


def _describe(exc: Exception) -> str:
    details = [str(exc)]
    cause: BaseException | None = exc.__cause__
    while cause is not None and len(details) < 4:
        details.append(str(cause))
        cause = cause.__cause__
    for error in getattr(exc, "schema_errors", []) or []:
        details.append(str(getattr(error, "message", error)))
    return " | ".join(details)[:2000]


class LocalBackend:
    """Real sandboxes behind an emulator: local-provider sandboxes in a private state directory."""

    def __init__(self, isolation: str = "bwrap") -> None:
        from computesdk_core import compute

        self._home = tempfile.mkdtemp(prefix="computesdk-emulator-")
        self.compute = compute(provider="local", local={"home": self._home, "isolation": isolation})
        self._lock = threading.Lock()
        self.sandboxes: dict[str, Any] = {}

    def create(self, key: str, envs: dict[str, str] | None = None, timeout: float = 900) -> Any:
        """Create the real sandbox standing for the vendor's sandbox ``key``."""
        sandbox = self.compute.sandbox.create(timeout=timeout, envs=envs or {})
        with self._lock:
            self.sandboxes[key] = sandbox
        return sandbox

    def get(self, key: str) -> Any | None:
        """The sandbox standing for ``key``, or None."""
        with self._lock:
            return self.sandboxes.get(key)

    def destroy(self, key: str) -> bool:
        """Destroy the sandbox standing for ``key``; False when there was none."""
        with self._lock:
            sandbox = self.sandboxes.pop(key, None)
        if sandbox is None:
            return False
        sandbox.destroy()
        return True

    def close(self) -> None:
        """Destroy every sandbox and remove the state directory."""
        for key in list(self.sandboxes):
            self.destroy(key)
        import shutil

        shutil.rmtree(self._home, ignore_errors=True)

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self.sandboxes))
