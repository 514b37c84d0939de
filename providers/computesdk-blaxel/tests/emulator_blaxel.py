"""An emulator of Blaxel on loopback: the control plane, and one sandbox API server per sandbox.

The control plane (``/v0/sandboxes...``, previews, preview tokens) keeps sandboxes by name and
checks the workspace headers; Blaxel publishes no document for it, so its traffic is not
validated. Each sandbox is a local-provider sandbox (``LocalBackend``) with its own
:class:`SandboxAPIEmulator` on a port of its own (its ``metadata.url``), validated against the
sandbox API's OpenAPI document. Processes run for real, stream NDJSON while they run and can be
killed as a process group; ``cut`` emulates the CDN that ends requests after a fixed time.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shlex
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate
from typing import Any

from werkzeug.wrappers import Request, Response

from computesdk_core import errors
from computesdk_core.testing.emulator import Emulator, LocalBackend, json_response, route

HOME = "/home/user"
PID_DIR = "/tmp/.blaxel-emulator"
KEEPALIVE_EVERY = 5.0
GONE = ("DELETING", "TERMINATED")


def _iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _ttl_seconds(value: Any) -> float | None:
    if not isinstance(value, str) or not value[:-1].isdigit():
        return None
    return float(value[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(value[-1], 0) or None


def gateway_timeout() -> Response:
    """What the CDN answers for a request it cut: 504 with an HTML page."""
    return Response("<html><body><h1>504 Gateway Timeout</h1>The request could not be satisfied.</body></html>",
                    status=504, mimetype="text/html")


# --- the sandbox API ------------------------------------------------------------------------


class Process:
    """One process started through ``POST /process``."""

    def __init__(self, name: str, command: str, working_dir: str) -> None:
        self.name = name
        self.pid = str(secrets.randbelow(90000) + 10000)
        self.command = command
        self.working_dir = working_dir
        self.status = "running"
        self.exit_code = 0
        #: ("stdout"|"stderr", text) in the order the process printed them.
        self.chunks: list[tuple[str, str]] = []
        self.started_at = time.time()
        self.completed_at: float | None = None

    def output(self, which: str) -> str:
        """Everything the process printed on ``which`` so far."""
        return "".join(text for stream, text in self.chunks if stream == which)

    def view(self) -> dict[str, Any]:
        """``ProcessResponse``."""
        return {"pid": self.pid, "name": self.name, "command": self.command, "workingDir": self.working_dir,
                "status": self.status, "exitCode": self.exit_code, "stdout": self.output("stdout"), "stderr": self.output("stderr"),
                "logs": "".join(text for _, text in self.chunks), "startedAt": formatdate(self.started_at, usegmt=True),
                "completedAt": formatdate(self.completed_at, usegmt=True) if self.completed_at else "",
                "keepAlive": False, "restartCount": 0, "restartOnFailure": False, "maxRestarts": 0}


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status=status)


class SandboxAPIEmulator(Emulator):
    """The API one Blaxel sandbox serves for processes and files, backed by a local sandbox."""

    spec = "blaxel/sandbox-api-openapi.yml"

    def __init__(self, api_key: str, sandbox: Any, envs: dict[str, str]) -> None:
        super().__init__()
        self.api_key = api_key
        self.sandbox = sandbox
        self.envs = envs
        self.processes: dict[str, Process] = {}
        self.changed = threading.Condition()
        #: Seconds after which the CDN in front of the sandbox ends a request (None: never).
        self.cut: float | None = None

    # --- plumbing ----------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # Routing and validation see the path as sent: "%2F" inside a path segment stays encoded.
        raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
        if raw:
            environ["PATH_INFO"] = raw.split("?", 1)[0]
        return super()._wsgi(environ, start_response)

    def _validate_request(self, request: Request) -> None:
        # The server takes multipart file uploads on PUT /filesystem; its document declares JSON only.
        if request.mimetype != "multipart/form-data":
            super()._validate_request(request)

    def _refused(self, request: Request) -> Response | None:
        wanted = f"Bearer {self.api_key}"
        if wanted not in (request.headers.get("Authorization"), request.headers.get("X-Blaxel-Authorization")):
            return _error(401, "Unauthorized")
        return None

    def shutdown(self) -> None:
        """Kill every running process (the sandbox is going away) and stop serving."""
        with self.changed:
            for process in self.processes.values():
                if process.status == "running":
                    process.status, process.exit_code, process.completed_at = "killed", 137, time.time()
            self.changed.notify_all()
        self.stop()

    # --- processes ---------------------------------------------------------------------------

    @route("/process", methods=["POST"])
    def start_process(self, request: Request) -> Response:
        """Start a process; wait for it, stream it as NDJSON, or return at once."""
        refused = self._refused(request)
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        command = body.get("command")
        if not isinstance(command, str) or not command:
            return _error(400, "command is required")
        name = body.get("name") or f"proc-{secrets.token_hex(6)}"
        with self.changed:
            existing = self.processes.get(name)
            if existing is not None and existing.status == "running":
                return _error(400, f"process with name '{name}' already exists and is running")
            process = Process(name, command, body.get("workingDir") or HOME)
            self.processes[name] = process
            self.processes[process.pid] = process
        threading.Thread(target=self._execute, args=(process, dict(body.get("env") or {}), body.get("timeout")),
                         name=f"blaxel-emulator-{name}", daemon=True).start()
        if "text/event-stream" in request.headers.get("Accept", ""):
            return Response(self._stream(process), mimetype="application/x-ndjson")
        if not body.get("waitForCompletion"):
            return json_response(process.view())
        with self.changed:
            done = self.changed.wait_for(lambda: process.status != "running", timeout=self.cut)
        return json_response(process.view()) if done else gateway_timeout()

    def _execute(self, process: Process, env: dict[str, str], timeout: Any) -> None:
        def sink(which: str) -> Callable[[str], None]:
            def append(chunk: str) -> None:
                with self.changed:
                    process.chunks.append((which, chunk))
                    self.changed.notify_all()
            return append

        timer = None
        if isinstance(timeout, int) and timeout > 0:
            timer = threading.Timer(timeout, self._kill, args=(process,))
            timer.name, timer.daemon = f"blaxel-emulator-timeout-{process.name}", True
            timer.start()
        # The command's shell leads its own process group; its pid file lets kill reach the group.
        # Directory and variables are set by that same shell, so nothing stands between it and the group.
        exports = "".join(f"export {key}={shlex.quote(value)}; " for key, value in {**self.envs, **env}.items())
        wrapped = (f"mkdir -p {PID_DIR} && echo $$ > {PID_DIR}/{process.pid}.pid && "
                   f"cd -- {shlex.quote(process.working_dir)} && {exports}exec sh -c {shlex.quote(process.command)}")
        try:
            code = self.sandbox.run_command(wrapped, on_stdout=sink("stdout"), on_stderr=sink("stderr")).exit_code
        except errors.ComputeSDKError:
            code = 137
        if timer is not None:
            timer.cancel()
        with self.changed:
            if process.status == "running":
                process.status = "completed" if code == 0 else "failed"
                process.exit_code = code
                process.completed_at = time.time()
            self.changed.notify_all()

    def _kill(self, process: Process) -> None:
        if process.status != "running":
            return
        pid_file = f"{PID_DIR}/{process.pid}.pid"
        self.sandbox.run_command(
            f"for i in $(seq 50); do [ -s {pid_file} ] && break; sleep 0.1; done; "
            f'kill -KILL -- "-$(cat {pid_file})" 2>/dev/null; true', timeout=30)
        with self.changed:
            if process.status == "running":
                process.status, process.exit_code, process.completed_at = "killed", 137, time.time()
            self.changed.notify_all()

    def _stream(self, process: Process) -> Iterator[bytes]:
        started = time.monotonic()
        sent = 0
        while True:
            if self.cut is not None and time.monotonic() - started >= self.cut:
                return  # the CDN closes the connection; no result line
            with self.changed:
                self.changed.wait_for(lambda seen=sent: len(process.chunks) > seen or process.status != "running",  # type: ignore[misc]
                                      timeout=min(KEEPALIVE_EVERY, self.cut or KEEPALIVE_EVERY))
                fresh = process.chunks[sent:]
                finished = process.status != "running"
            sent += len(fresh)
            for which, text in fresh:
                yield (json.dumps({"type": which, "data": text}) + "\n").encode()
            if finished and len(fresh) == 0:
                yield (json.dumps({"type": "result", "data": json.dumps(process.view())}) + "\n").encode()
                return
            if not fresh:
                yield (json.dumps({"type": "keepalive", "data": ""}) + "\n").encode()

    def _process(self, request: Request, identifier: str) -> tuple[Process | None, Response | None]:
        refused = self._refused(request)
        if refused:
            return None, refused
        process = self.processes.get(identifier)
        return (process, None) if process else (None, _error(404, f"process {identifier} not found"))

    @route("/process", methods=["GET"])
    def list_processes(self, request: Request) -> Response:
        """Every process."""
        refused = self._refused(request)
        unique = {id(p): p for p in self.processes.values()}
        return refused or json_response([p.view() for p in unique.values()])

    @route("/process/<identifier>", methods=["GET"])
    def get_process(self, request: Request, identifier: str) -> Response:
        """A process by pid or name."""
        process, refused = self._process(request, identifier)
        return refused or json_response(process.view())  # type: ignore[union-attr]

    @route("/process/<identifier>/logs", methods=["GET"])
    def logs(self, request: Request, identifier: str) -> Response:
        """A process's output so far."""
        process, refused = self._process(request, identifier)
        if refused:
            return refused
        assert process is not None
        view = process.view()
        return json_response({key: view[key] for key in ("stdout", "stderr", "logs")})

    @route("/process/<identifier>/kill", methods=["DELETE"])
    def kill(self, request: Request, identifier: str) -> Response:
        """Kill a process's whole group."""
        process, refused = self._process(request, identifier)
        if refused:
            return refused
        assert process is not None
        self._kill(process)
        return json_response({"message": "Process killed"})

    # --- files -------------------------------------------------------------------------------

    @staticmethod
    def _path(raw: str) -> str:
        path = urllib.parse.unquote(raw)
        if path.startswith("~"):
            path = HOME + path[1:]
        return path if path.startswith("/") else f"{HOME}/{path}"

    @route("/filesystem/<path:raw>", methods=["GET"])
    def read(self, request: Request, raw: str) -> Response:
        """A file (JSON with content, or raw bytes when asked) or a directory listing."""
        refused = self._refused(request)
        if refused:
            return refused
        path = self._path(raw)
        fs = self.sandbox.filesystem
        if not fs.exists(path):
            return _error(404, f"file not found: {path}")
        try:
            entries = fs.readdir(path)
        except errors.ComputeSDKError:
            entries = None
        if entries is not None:
            return json_response({
                "name": path.rstrip("/").rsplit("/", 1)[-1], "path": path,
                "files": [self._file(path, e) for e in entries if e.type == "file"],
                "subdirectories": [{"name": e.name, "path": f"{path.rstrip('/')}/{e.name}"}
                                   for e in entries if e.type == "directory"]})
        data = fs.read_bytes(path)
        if request.args.get("download") == "true" or "application/octet-stream" in request.headers.get("Accept", ""):
            return Response(data, mimetype="application/octet-stream")
        name = path.rsplit("/", 1)[-1]
        return json_response({"path": path, "name": name, "size": len(data), "permissions": "-rw-r--r--",
                              "owner": "user", "group": "user", "lastModified": _iso(time.time()),
                              "content": data.decode("utf-8", errors="replace")})

    @staticmethod
    def _file(parent: str, entry: Any) -> dict[str, Any]:
        return {"name": entry.name, "path": f"{parent.rstrip('/')}/{entry.name}", "size": entry.size,
                "permissions": "-rw-r--r--", "owner": "user", "group": "user",
                "lastModified": entry.modified.isoformat().replace("+00:00", "Z")}

    @route("/filesystem/<path:raw>", methods=["PUT"])
    def write(self, request: Request, raw: str) -> Response:
        """Write a file (JSON content or a multipart upload) or make a directory, parents included."""
        refused = self._refused(request)
        if refused:
            return refused
        path = self._path(raw)
        fs = self.sandbox.filesystem
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                return _error(400, "multipart field 'file' is missing")
            fs.write_file(path, upload.read())
            return json_response({"message": "File uploaded successfully", "path": path})
        body = request.get_json(silent=True) or {}
        if body.get("isDirectory"):
            fs.mkdir(path)
            return json_response({"message": "Directory created successfully", "path": path})
        fs.write_file(path, body.get("content") or "")
        return json_response({"message": "File created successfully", "path": path})

    @route("/filesystem/<path:raw>", methods=["DELETE"])
    def delete(self, request: Request, raw: str) -> Response:
        """Remove a file, or a directory (recursively only when asked)."""
        refused = self._refused(request)
        if refused:
            return refused
        path = self._path(raw)
        fs = self.sandbox.filesystem
        if not fs.exists(path):
            return _error(404, f"file not found: {path}")
        try:
            children = fs.readdir(path)
        except errors.ComputeSDKError:
            children = []
        if children and request.args.get("recursive") != "true":
            return _error(422, f"directory not empty: {path}")
        fs.remove(path)
        return json_response({"message": "File deleted successfully", "path": path})


# --- the control plane ----------------------------------------------------------------------


class BlaxelEmulator(Emulator):
    """Blaxel's control plane under ``/v0``, each sandbox a local sandbox with its own API server."""

    def __init__(self, api_key: str, workspace: str, backend: LocalBackend) -> None:
        super().__init__()
        self.api_key = api_key
        self.workspace = workspace
        self.backend = backend
        self.sandboxes: dict[str, dict[str, Any]] = {}
        self.servers: dict[str, SandboxAPIEmulator] = {}
        self.previews: dict[tuple[str, str], dict[str, Any]] = {}
        self.lock = threading.RLock()
        #: Seconds a new sandbox stays DEPLOYING (create answers before it is DEPLOYED when > 0).
        self.deploy_delay = 0.0
        #: When set, the next create answers 504 from the CDN while the sandbox deploys anyway.
        self.gateway_timeout_on_create = False
        #: The CDN cut (seconds) of every sandbox API server started from now on.
        self.cut: float | None = None

    @property
    def url(self) -> str:
        """The control plane's base URL (with ``/v0``)."""
        return super().url + "/v0"

    @property
    def violations_everywhere(self) -> list[str]:
        """Spec findings of every sandbox API server, those already stopped included."""
        found = list(self.violations)
        for server in self.servers.values():
            found += server.violations
        return found

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("X-Blaxel-Authorization") != f"Bearer {self.api_key}":
            return json_response({"code": 401, "message": "Unauthorized: invalid API key"}, status=401)
        if request.headers.get("X-Blaxel-Workspace") != self.workspace:
            return json_response({"code": 403, "message": "Forbidden: not a member of this workspace"}, status=403)
        return None

    def _live(self, name: str) -> dict[str, Any] | None:
        """The sandbox named ``name`` unless it is gone; an expired one is deleted now."""
        with self.lock:
            box = self.sandboxes.get(name)
            if box is None or box["status"] in GONE:
                return None
            if box["_expires"] is not None and time.time() >= box["_expires"]:
                self._terminate(name)
                return None
            return box

    def _terminate(self, name: str) -> None:
        box = self.sandboxes.pop(name, None)
        if box is not None:
            box["status"] = "TERMINATED"
        server = self.servers.get(name)
        if server is not None:
            server.shutdown()
        self.backend.destroy(name)

    def _view(self, box: dict[str, Any]) -> dict[str, Any]:
        view = {key: value for key, value in box.items() if not key.startswith("_")}
        if box["_expires"] is not None:
            view["expiresIn"] = max(0, int(box["_expires"] - time.time()))
        return view

    def _set_lifetime(self, box: dict[str, Any]) -> None:
        runtime = box["spec"].get("runtime") or {}
        ttl = _ttl_seconds(runtime.get("ttl"))
        box["_expires"] = box["_created"] + ttl if ttl else None

    @route("/v0/sandboxes", methods=["POST"])
    def create(self, request: Request) -> Response:
        """Create (and deploy) a sandbox under the name asked for."""
        refused = self._refused(request)
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        metadata = dict(body.get("metadata") or {})
        spec = dict(body.get("spec") or {})
        name = metadata.get("name") or f"sandbox-{secrets.token_hex(4)}"
        with self.lock:
            if name in self.sandboxes:
                return json_response({"code": "SANDBOX_ALREADY_EXISTS", "message": f"sandbox {name} already exists",
                                      "sandbox_name": name, "status_code": 409}, status=409)
            now = time.time()
            box: dict[str, Any] = {
                "metadata": {"name": name, "displayName": name, "labels": dict(metadata.get("labels") or {}),
                             "workspace": self.workspace, "createdAt": _iso(now), "updatedAt": _iso(now), "url": None},
                "spec": spec, "status": "DEPLOYING", "state": "RUNNING", "events": [], "_created": now,
            }
            self._set_lifetime(box)
            self.sandboxes[name] = box
        if self.deploy_delay > 0 or self.gateway_timeout_on_create:
            threading.Thread(target=self._deploy, args=(box, self.deploy_delay), daemon=True,
                             name=f"blaxel-emulator-deploy-{name}").start()
            if self.gateway_timeout_on_create:
                self.gateway_timeout_on_create = False
                return gateway_timeout()
            return json_response(self._view(box))
        self._deploy(box, 0.0)
        return json_response(self._view(box))

    def _deploy(self, box: dict[str, Any], delay: float) -> None:
        time.sleep(delay)
        name = box["metadata"]["name"]
        runtime = box["spec"].get("runtime") or {}
        envs = {item["name"]: item["value"] for item in runtime.get("envs") or []}
        try:
            sandbox = self.backend.create(name, envs)
            server = SandboxAPIEmulator(self.api_key, sandbox, envs)
            server.cut = self.cut
            server.start()
        except Exception as exc:  # a sandbox that cannot start is FAILED, as on Blaxel
            box["status"] = "FAILED"
            box["events"].append({"type": "error", "message": str(exc)})
            return
        with self.lock:
            self.servers[name] = server
            box["metadata"]["url"] = server.url
            box["status"] = "DEPLOYED"

    @route("/v0/sandboxes", methods=["GET"])
    def list_sandboxes(self, request: Request) -> Response:
        """Sandboxes, oldest first, in pages of ``limit`` after ``cursor`` (a sandbox name)."""
        refused = self._refused(request)
        if refused:
            return refused
        with self.lock:
            names = [name for name in list(self.sandboxes) if self._live(name) is not None]
        cursor = request.args.get("cursor")
        if cursor in names:
            names = names[names.index(cursor) + 1:]
        limit = int(request.args.get("limit") or 20)
        page = names[:limit]
        return json_response({"data": [self._view(self.sandboxes[n]) for n in page if n in self.sandboxes],
                              "meta": {"hasMore": len(names) > limit, "nextCursor": page[-1] if page else None,
                                       "total": len(names)}})

    @route("/v0/sandboxes/<name>", methods=["GET"])
    def get(self, request: Request, name: str) -> Response:
        """One sandbox."""
        refused = self._refused(request)
        if refused:
            return refused
        box = self._live(name)
        if box is None:
            return json_response({"code": 404, "message": f"Sandbox {name} not found"}, status=404)
        return json_response(self._view(box))

    @route("/v0/sandboxes/<name>", methods=["PUT"])
    def update(self, request: Request, name: str) -> Response:
        """Replace a sandbox's labels and spec (its lifetime counts from creation)."""
        refused = self._refused(request)
        if refused:
            return refused
        box = self._live(name)
        if box is None:
            return json_response({"code": 404, "message": f"Sandbox {name} not found"}, status=404)
        body = request.get_json(silent=True) or {}
        with self.lock:
            box["metadata"]["labels"] = dict((body.get("metadata") or {}).get("labels") or {})
            box["spec"] = dict(body.get("spec") or box["spec"])
            box["metadata"]["updatedAt"] = _iso(time.time())
            self._set_lifetime(box)
        return json_response(self._view(box))

    @route("/v0/sandboxes/<name>", methods=["DELETE"])
    def delete(self, request: Request, name: str) -> Response:
        """Delete a sandbox: it answers DELETING and is gone right after."""
        refused = self._refused(request)
        if refused:
            return refused
        with self.lock:
            box = self._live(name)
            if box is None:
                return json_response({"code": 404, "message": f"Sandbox {name} not found"}, status=404)
            view = {**self._view(box), "status": "DELETING"}
            self._terminate(name)
        return json_response(view)

    @route("/v0/sandboxes/<name>/previews", methods=["POST"])
    def create_preview(self, request: Request, name: str) -> Response:
        """Make a preview of a port; 409 when the sandbox already has one of that name."""
        refused = self._refused(request)
        if refused:
            return refused
        if self._live(name) is None:
            return json_response({"code": 404, "message": f"Sandbox {name} not found"}, status=404)
        body = request.get_json(silent=True) or {}
        preview_name = (body.get("metadata") or {}).get("name") or f"preview-{secrets.token_hex(4)}"
        spec = dict(body.get("spec") or {})
        with self.lock:
            if (name, preview_name) in self.previews:
                return json_response({"code": 409, "message": f"preview {preview_name} already exists"}, status=409)
            spec["url"] = f"https://{secrets.token_hex(6)}-{spec.get('port')}.{self.workspace}.preview.bl.run"
            preview = {"metadata": {"name": preview_name, "workspace": self.workspace}, "spec": spec, "_tokens": []}
            self.previews[(name, preview_name)] = preview
        return json_response(self._view_preview(preview))

    @staticmethod
    def _view_preview(preview: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in preview.items() if not key.startswith("_")}

    @route("/v0/sandboxes/<name>/previews/<preview_name>", methods=["GET"])
    def get_preview(self, request: Request, name: str, preview_name: str) -> Response:
        """One preview."""
        refused = self._refused(request)
        if refused:
            return refused
        preview = self.previews.get((name, preview_name))
        if preview is None or self._live(name) is None:
            return json_response({"code": 404, "message": f"preview {preview_name} not found"}, status=404)
        return json_response(self._view_preview(preview))

    @route("/v0/sandboxes/<name>/previews/<preview_name>/tokens", methods=["POST"])
    def create_token(self, request: Request, name: str, preview_name: str) -> Response:
        """A token for a private preview."""
        refused = self._refused(request)
        if refused:
            return refused
        preview = self.previews.get((name, preview_name))
        if preview is None:
            return json_response({"code": 404, "message": f"preview {preview_name} not found"}, status=404)
        body = request.get_json(silent=True) or {}
        token = {"metadata": dict(body.get("metadata") or {}),
                 "spec": {"token": secrets.token_urlsafe(24), "expiresAt": (body.get("spec") or {}).get("expiresAt")}}
        preview["_tokens"].append(token)
        return json_response(token)

    def close(self) -> None:
        """Stop every sandbox API server and the control plane."""
        with self.lock:
            for name in list(self.sandboxes):
                self._terminate(name)
        self.stop()
