"""An emulator of E2B for the provider's tests: the control plane and envd, running commands for real.

Two loopback servers share one state: :class:`ControlPlaneEmulator` speaks E2B's REST API
(validated against ``e2b/openapi.yml``) and :class:`EnvdEmulator` speaks envd (``/files``
validated against ``e2b/envd.yaml``; the Connect-RPC calls checked by hand against the fields of
``process.proto`` and ``filesystem.proto``). Every E2B sandbox is a real local sandbox
(:class:`LocalBackend`); envd tells sandboxes apart by the ``E2b-Sandbox-Id`` header, as E2B's
router host does, so the plugin reaches it through its ``envd_url`` option.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import queue
import shlex
import struct
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs
from werkzeug.wrappers import Request, Response

from computesdk_core import errors
from computesdk_core.testing.emulator import READ_ONLY_MOUNT_EXCLUDES, Emulator, LocalBackend, json_response, route

DOMAIN = "e2b.app"
ENVD_VERSION = "0.5.7"
# Directories a snapshot keeps: those a local sandbox owns and a user writes to.
SNAPSHOT_DIRS = ("home", "tmp", "srv")
# Connect error code -> HTTP status (the Connect protocol's table).
CONNECT_STATUS = {"invalid_argument": 400, "unauthenticated": 401, "not_found": 404, "already_exists": 409,
                  "deadline_exceeded": 504, "internal": 500}
# Fields each Connect request message may carry (proto3 JSON names).
RPC_FIELDS = {
    "process.Process/Start": {"process", "pty", "tag", "stdin"},
    "process.Process/SendSignal": {"process", "signal"},
    "filesystem.Filesystem/Stat": {"path"},
    "filesystem.Filesystem/ListDir": {"path", "depth"},
    "filesystem.Filesystem/MakeDir": {"path"},
    "filesystem.Filesystem/Remove": {"path"},
}
PROCESS_CONFIG_FIELDS = {"cmd", "args", "envs", "cwd"}


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@attrs.define
class Box:
    """One emulated E2B sandbox."""

    sandbox_id: str
    template: str
    metadata: dict[str, str]
    started_at: dt.datetime
    end_at: dt.datetime
    token: str | None
    state: str = "running"


class ConnectFailure(Exception):
    """A Connect error answer (``code`` is the Connect code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class E2BState:
    """What both servers share: the sandboxes, snapshots, running processes and the API key."""

    def __init__(self, api_key: str, backend: LocalBackend) -> None:
        self.api_key = api_key
        self.backend = backend
        self.boxes: dict[str, Box] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.processes: dict[tuple[str, int], threading.Thread] = {}
        self.lock = threading.Lock()
        # Page size of list answers, lowered by tests to exercise pagination.
        self.page_size = 100
        self.killed: list[str] = []

    def live(self, sandbox_id: str) -> Box | None:
        """The sandbox, or None when unknown, killed or past its end (it is then reaped)."""
        with self.lock:
            box = self.boxes.get(sandbox_id)
            if box is None:
                return None
            if box.end_at > _now():
                return box
            del self.boxes[sandbox_id]
        self.backend.destroy(sandbox_id)
        return None

    def kill(self, sandbox_id: str) -> bool:
        """Forget the sandbox and destroy its local sandbox."""
        with self.lock:
            box = self.boxes.pop(sandbox_id, None)
        if box is None:
            return False
        self.killed.append(sandbox_id)
        self.backend.destroy(sandbox_id)
        return True


def _error(status: int, message: str) -> Response:
    return json_response({"code": status, "message": message}, status=status)


class ControlPlaneEmulator(Emulator):
    """E2B's REST API at ``/sandboxes``, ``/v2/sandboxes``, ``/snapshots`` and ``/templates``."""

    spec = "e2b/openapi.yml"

    def __init__(self, state: E2BState) -> None:
        super().__init__()
        self.state = state
        self._ids = itertools.count(1)

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("X-API-Key") == self.state.api_key

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # E2B checks the key before anything else.
        if Request(environ).headers.get("X-API-Key") != self.state.api_key:
            self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
            return _error(401, "Invalid API key, it must start with 'e2b_' and be valid")(environ, start_response)
        raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "").split("?", 1)[0]
        if raw.startswith("/templates/"):
            # A named snapshot's id holds a "/", sent as %2F; routing (and validation) must see one segment.
            environ["PATH_INFO"] = raw
        return super()._wsgi(environ, start_response)

    def _detail(self, box: Box) -> dict[str, Any]:
        return {
            "templateID": box.template, "sandboxID": box.sandbox_id, "clientID": "emulator",
            "startedAt": _rfc3339(box.started_at), "endAt": _rfc3339(box.end_at), "cpuCount": 2,
            "memoryMB": 512, "diskSizeMB": 2048, "metadata": box.metadata, "state": box.state,
            "envdVersion": ENVD_VERSION, **({"envdAccessToken": box.token} if box.token else {}),
            "domain": DOMAIN,
        }

    def _summary(self, box: Box) -> dict[str, Any]:
        summary = {"templateID": box.template, "sandboxID": box.sandbox_id, "clientID": "emulator",
                   "envdVersion": ENVD_VERSION, "domain": DOMAIN}
        if box.token:
            summary["envdAccessToken"] = box.token
        return summary

    @route("/sandboxes", methods=["POST"])
    def create(self, request: Request) -> Response:
        """Create a sandbox from ``base`` or from a snapshot."""
        body = request.get_json(silent=True) or {}
        template = body.get("templateID")
        snapshot = self.state.snapshots.get(template) if isinstance(template, str) else None
        if template != "base" and snapshot is None:
            return _error(400, f"template '{template}' not found")
        sandbox_id = f"i{uuid.uuid4().hex[:19]}"
        timeout = int(body.get("timeout", 15))
        local = self.state.backend.create(sandbox_id, envs=dict(body.get("envVars") or {}), timeout=3600)
        if snapshot is not None:
            local.filesystem.write_file("/var/tmp/snapshot.tgz", snapshot["archive"])
            local.run_command("tar -C / -xzf /var/tmp/snapshot.tgz && rm /var/tmp/snapshot.tgz", timeout=60)
        started = _now()
        box = Box(sandbox_id, template, dict(body.get("metadata") or {}), started,
                  started + dt.timedelta(seconds=timeout), uuid.uuid4().hex if body.get("secure") else None)
        with self.state.lock:
            self.state.boxes[sandbox_id] = box
        return json_response(self._summary(box), status=201)

    @route("/v2/sandboxes")
    def list_sandboxes(self, request: Request) -> Response:
        """Sandboxes filtered by metadata and state, newest first, one page at a time."""
        wanted = dict(urllib.parse.parse_qsl(request.args.get("metadata", "")))
        states = set((request.args.get("state") or "running,paused").split(","))
        with self.state.lock:
            ids = list(self.state.boxes)
        boxes = [box for box in (self.state.live(i) for i in ids) if box is not None]
        boxes = [b for b in boxes if b.state in states and all(b.metadata.get(k) == v for k, v in wanted.items())]
        boxes.sort(key=lambda b: b.started_at, reverse=True)
        start = int(request.args.get("nextToken") or 0)
        size = min(int(request.args.get("limit") or 100), self.state.page_size)
        page = boxes[start : start + size]
        headers = {"X-Next-Token": str(start + size)} if start + size < len(boxes) else {}
        return json_response([self._detail(b) for b in page], headers=headers)

    @route("/sandboxes/<sandbox_id>")
    def get(self, request: Request, sandbox_id: str) -> Response:
        """One sandbox's details."""
        box = self.state.live(sandbox_id)
        return _error(404, f"sandbox \"{sandbox_id}\" doesn't exist") if box is None else json_response(self._detail(box))

    @route("/sandboxes/<sandbox_id>", methods=["DELETE"])
    def kill(self, request: Request, sandbox_id: str) -> Response:
        """Kill a sandbox."""
        if self.state.live(sandbox_id) is None or not self.state.kill(sandbox_id):
            return _error(404, f"sandbox \"{sandbox_id}\" doesn't exist")
        return Response(status=204)

    @route("/sandboxes/<sandbox_id>/timeout", methods=["POST"])
    def set_timeout(self, request: Request, sandbox_id: str) -> Response:
        """End the sandbox ``timeout`` seconds from now."""
        box = self.state.live(sandbox_id)
        if box is None:
            return _error(404, f"sandbox \"{sandbox_id}\" doesn't exist")
        box.end_at = _now() + dt.timedelta(seconds=int((request.get_json(silent=True) or {}).get("timeout", 0)))
        return Response(status=204)

    @route("/sandboxes/<sandbox_id>/pause", methods=["POST"])
    def pause(self, request: Request, sandbox_id: str) -> Response:
        """Pause a running sandbox (its envd stops answering)."""
        box = self.state.live(sandbox_id)
        if box is None:
            return _error(404, f"sandbox \"{sandbox_id}\" doesn't exist")
        if box.state == "paused":
            return _error(409, f"sandbox \"{sandbox_id}\" is already paused")
        box.state = "paused"
        return Response(status=204)

    @route("/sandboxes/<sandbox_id>/connect", methods=["POST"])
    def connect(self, request: Request, sandbox_id: str) -> Response:
        """Resume a paused sandbox (201) or just answer for a running one (200); the end only moves later."""
        box = self.state.live(sandbox_id)
        if box is None:
            return _error(404, f"sandbox \"{sandbox_id}\" doesn't exist")
        wanted = _now() + dt.timedelta(seconds=int((request.get_json(silent=True) or {}).get("timeout", 0)))
        box.end_at = max(box.end_at, wanted)
        resumed = box.state == "paused"
        box.state = "running"
        return json_response(self._summary(box), status=201 if resumed else 200)

    @route("/sandboxes/<sandbox_id>/snapshots", methods=["POST"])
    def snapshot(self, request: Request, sandbox_id: str) -> Response:
        """Save the sandbox's own directories as a template that ``POST /sandboxes`` accepts."""
        box = self.state.live(sandbox_id)
        local = self.state.backend.get(sandbox_id)
        if box is None or local is None:
            return _error(404, f"sandbox \"{sandbox_id}\" doesn't exist")
        dirs = " ".join(SNAPSHOT_DIRS)
        packed = local.run_command(f"cd / && tar -czf /var/tmp/snap.tgz {READ_ONLY_MOUNT_EXCLUDES} --ignore-failed-read "
                                   f"{dirs} 2>/dev/null; true",
                                   timeout=120)
        archive = local.filesystem.read_bytes("/var/tmp/snap.tgz")
        local.run_command("rm -f /var/tmp/snap.tgz", timeout=30)
        assert packed.exit_code == 0
        name = (request.get_json(silent=True) or {}).get("name")
        snapshot_id = f"emulator-team/{name}:default" if name else f"snap{next(self._ids)}:default"
        info = {"snapshotID": snapshot_id, "names": [snapshot_id] if name else []}
        with self.state.lock:
            self.state.snapshots[snapshot_id] = {**info, "archive": archive, "sandbox": sandbox_id}
        return json_response(info, status=201)

    @route("/snapshots")
    def list_snapshots(self, request: Request) -> Response:
        """Every snapshot, one page at a time."""
        with self.state.lock:
            items = [{"snapshotID": s["snapshotID"], "names": s["names"]} for s in self.state.snapshots.values()]
        start = int(request.args.get("nextToken") or 0)
        size = min(int(request.args.get("limit") or 100), self.state.page_size)
        headers = {"X-Next-Token": str(start + size)} if start + size < len(items) else {}
        return json_response(items[start : start + size], headers=headers)

    @route("/templates/<template_id>", methods=["DELETE"])
    def delete_template(self, request: Request, template_id: str) -> Response:
        """Delete a snapshot (the spec knows only 204 here, also for one already gone)."""
        with self.state.lock:
            self.state.snapshots.pop(urllib.parse.unquote(template_id), None)
        return Response(status=204)


def _frame(message: Any, flags: int = 0) -> bytes:
    data = json.dumps(message).encode()
    return struct.pack(">BI", flags, len(data)) + data


class EnvdEmulator(Emulator):
    """envd of every emulated sandbox, told apart by the ``E2b-Sandbox-Id`` header."""

    spec = "e2b/envd.yaml"
    unvalidated = tuple(f"/{method}" for method in RPC_FIELDS)

    def __init__(self, state: E2BState) -> None:
        super().__init__()
        self.state = state

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        # E2B's edge answers for sandboxes that are not running, before envd sees the request.
        request = Request(environ)
        box = self.state.live(request.headers.get("E2b-Sandbox-Id", ""))
        if request.headers.get("E2b-Sandbox-Port") != "49983":
            self.violations.append(f"{request.method} {request.path}: E2b-Sandbox-Port is not 49983")
        if box is None or box.state != "running":
            return _error(502, "The sandbox is not running")(environ, start_response)
        if box.token is not None and request.headers.get("X-Access-Token") != box.token:
            return _error(401, "invalid access token")(environ, start_response)
        return super()._wsgi(environ, start_response)

    def _local(self, request: Request) -> Any:
        return self.state.backend.get(request.headers["E2b-Sandbox-Id"])

    # --- /files -------------------------------------------------------------------------------

    @route("/health")
    def health(self, request: Request) -> Response:
        """envd is alive."""
        return Response(status=204)

    @route("/files")
    def download(self, request: Request) -> Response:
        """A file's bytes."""
        path = request.args.get("path", "")
        try:
            data = self._local(request).filesystem.read_bytes(path)
        except errors.PathNotFoundError:
            return _error(404, f"path '{path}' does not exist")
        except errors.ComputeSDKError:
            return _error(400, f"path '{path}' is a directory")
        return Response(data, mimetype="application/octet-stream")

    @route("/files", methods=["POST"])
    def upload(self, request: Request) -> Response:
        """Write the multipart ``file`` parts (or a raw body) to their paths."""
        local = self._local(request)
        written = []
        if request.mimetype == "application/octet-stream":
            targets = [(request.args.get("path", ""), request.get_data())]
        else:
            parts = request.files.getlist("file")
            if not parts:
                return _error(400, "no file part in the multipart body")
            single = request.args.get("path") if len(parts) == 1 else None
            targets = [(single or part.filename or "", part.read()) for part in parts]
        for path, data in targets:
            if not path.startswith("/"):
                return _error(400, f"path '{path}' is not absolute")
            local.filesystem.write_file(path, data)
            written.append({"path": path, "name": path.rsplit("/", 1)[-1], "type": "file"})
        return json_response(written)

    # --- Connect RPC --------------------------------------------------------------------------

    def _message(self, request: Request, method: str, streaming: bool) -> dict[str, Any]:
        """The request message, with every departure from Connect or the proto kept as a violation."""
        expected = "application/connect+json" if streaming else "application/json"
        if request.mimetype != expected:
            self.violations.append(f"{method}: Content-Type {request.mimetype!r}, expected {expected!r}")
        if request.headers.get("Connect-Protocol-Version") != "1":
            self.violations.append(f"{method}: no Connect-Protocol-Version: 1 header")
        body = request.get_data()
        if streaming:
            flags, length = struct.unpack(">BI", body[:5])
            if flags != 0 or length != len(body) - 5:
                self.violations.append(f"{method}: the request is not one uncompressed envelope")
            body = body[5:]
        message = json.loads(body or b"{}")
        unknown = set(message) - RPC_FIELDS[method]
        if unknown:
            self.violations.append(f"{method}: unknown fields {sorted(unknown)}")
        return dict(message)

    def _unary(self, request: Request, method: str, answer: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
        try:
            return json_response(answer(self._message(request, method, streaming=False)))
        except ConnectFailure as failure:
            return json_response({"code": failure.code, "message": failure.message},
                                 status=CONNECT_STATUS.get(failure.code, 500))

    def _entry(self, local: Any, path: str) -> dict[str, Any]:
        result = local.run_command(f"stat -c '%F|%s|%Y|%a|%A|%U|%G' -- {shlex.quote(path)}", timeout=30)
        if result.exit_code != 0:
            raise ConnectFailure("not_found", f"no such file or directory: {path}")
        kind, size, mtime, mode, permissions, owner, group = result.stdout.strip().split("|")
        entry = {
            "name": path.rstrip("/").rsplit("/", 1)[-1], "path": path,
            "type": "FILE_TYPE_DIRECTORY" if kind == "directory" else "FILE_TYPE_FILE",
            "size": size, "mode": int(mode, 8), "permissions": permissions, "owner": owner, "group": group,
            "modifiedTime": _rfc3339(dt.datetime.fromtimestamp(int(mtime), dt.timezone.utc)),
        }
        # proto3 JSON leaves zero values out.
        return {k: v for k, v in entry.items() if v not in ("0", 0, "")}

    @route("/filesystem.Filesystem/Stat", methods=["POST"])
    def stat(self, request: Request) -> Response:
        """One entry's information."""
        return self._unary(request, "filesystem.Filesystem/Stat",
                           lambda m: {"entry": self._entry(self._local(request), m.get("path", ""))})

    @route("/filesystem.Filesystem/ListDir", methods=["POST"])
    def list_dir(self, request: Request) -> Response:
        """A directory's entries (depth 1)."""

        def answer(message: dict[str, Any]) -> dict[str, Any]:
            path = message.get("path", "")
            try:
                entries = self._local(request).filesystem.readdir(path)
            except errors.PathNotFoundError:
                raise ConnectFailure("not_found", f"path '{path}' does not exist") from None
            return {"entries": [{
                "name": e.name, "path": f"{path.rstrip('/')}/{e.name}",
                "type": "FILE_TYPE_DIRECTORY" if e.type == "directory" else "FILE_TYPE_FILE",
                **({"size": str(e.size)} if e.size else {}), "modifiedTime": _rfc3339(e.modified),
            } for e in entries]}

        return self._unary(request, "filesystem.Filesystem/ListDir", answer)

    @route("/filesystem.Filesystem/MakeDir", methods=["POST"])
    def make_dir(self, request: Request) -> Response:
        """Make a directory with its parents; ``already_exists`` when it is there."""

        def answer(message: dict[str, Any]) -> dict[str, Any]:
            local, path = self._local(request), message.get("path", "")
            if local.filesystem.exists(path):
                raise ConnectFailure("already_exists", f"directory '{path}' already exists")
            local.filesystem.mkdir(path)
            return {"entry": self._entry(local, path)}

        return self._unary(request, "filesystem.Filesystem/MakeDir", answer)

    @route("/filesystem.Filesystem/Remove", methods=["POST"])
    def remove(self, request: Request) -> Response:
        """Remove a path recursively; like envd (os.RemoveAll), a missing path is no error."""

        def answer(message: dict[str, Any]) -> dict[str, Any]:
            self._local(request).run_command(f"rm -rf -- {shlex.quote(message.get('path', ''))}", timeout=60)
            return {}

        return self._unary(request, "filesystem.Filesystem/Remove", answer)

    @route("/process.Process/SendSignal", methods=["POST"])
    def send_signal(self, request: Request) -> Response:
        """Signal a started process's group."""

        def answer(message: dict[str, Any]) -> dict[str, Any]:
            sandbox_id = request.headers["E2b-Sandbox-Id"]
            pid = int((message.get("process") or {}).get("pid", 0))
            with self.state.lock:
                running = (sandbox_id, pid) in self.state.processes
            if not running:
                raise ConnectFailure("not_found", f"process with pid {pid} not found")
            number = {"SIGNAL_SIGKILL": 9, "SIGNAL_SIGTERM": 15}.get(message.get("signal", ""))
            if number is None:
                raise ConnectFailure("invalid_argument", f"unknown signal {message.get('signal')!r}")
            self._local(request).run_command(f"kill -{number} -- -{pid} 2>/dev/null || kill -{number} {pid}", timeout=30)
            return {}

        return self._unary(request, "process.Process/SendSignal", answer)

    @route("/process.Process/Start", methods=["POST"])
    def process_start(self, request: Request) -> Response:
        """Run a process and stream its events: start (pid), data (base64), end, keep-alives."""
        message = self._message(request, "process.Process/Start", streaming=True)
        process = message.get("process") or {}
        if set(process) - PROCESS_CONFIG_FIELDS:
            self.violations.append(f"Start: unknown process fields {sorted(set(process) - PROCESS_CONFIG_FIELDS)}")
        if message.get("stdin") is not False:
            self.violations.append("Start: stdin is not set to false")
        deadline_ms = request.headers.get("Connect-Timeout-Ms")
        deadline = time.monotonic() + int(deadline_ms) / 1000 if deadline_ms else None
        keepalive = float(request.headers.get("Keepalive-Ping-Interval") or 0) or None
        events: queue.Queue[tuple[str, Any]] = queue.Queue()
        sandbox_id = request.headers["E2b-Sandbox-Id"]
        local = self._local(request)
        # The shell prints its pid (the process group envd would signal), then becomes the process.
        argv = " ".join(shlex.quote(str(a)) for a in [process.get("cmd", "/bin/bash"), *process.get("args", [])])
        script = f"echo $$; exec {argv}"
        pid_line: list[str] = []

        def on_stdout(chunk: str) -> None:
            if pid_line and pid_line[0].endswith("\n"):
                events.put(("stdout", chunk))
                return
            pid_line.append(chunk)
            joined = "".join(pid_line)
            if "\n" in joined:
                head, rest = joined.split("\n", 1)
                pid_line[:] = [head + "\n"]
                events.put(("pid", int(head)))
                if rest:
                    events.put(("stdout", rest))

        def run() -> None:
            try:
                result = local.run_command(script, cwd=process.get("cwd"), env=process.get("envs") or {},
                                           on_stdout=on_stdout, on_stderr=lambda c: events.put(("stderr", c)))
                events.put(("end", result.exit_code))
            except errors.ComputeSDKError as exc:
                events.put(("error", str(exc)))

        runner = threading.Thread(target=run, name=f"e2b-emulator-process-{sandbox_id}", daemon=True)
        runner.start()

        def stream() -> Iterator[bytes]:
            pid = None
            try:
                while True:
                    wait = keepalive or 1.0
                    if deadline is not None:
                        wait = min(wait, max(0.0, deadline - time.monotonic()))
                    try:
                        kind, value = events.get(timeout=wait)
                    except queue.Empty:
                        if deadline is not None and time.monotonic() >= deadline:
                            yield _frame({"error": {"code": "deadline_exceeded", "message": "deadline exceeded"}}, 2)
                            return
                        if keepalive:
                            yield _frame({"event": {"keepalive": {}}})
                        continue
                    if kind == "pid":
                        pid = value
                        with self.state.lock:
                            self.state.processes[(sandbox_id, pid)] = runner
                        yield _frame({"event": {"start": {"pid": pid}}})
                    elif kind in ("stdout", "stderr"):
                        data = base64.b64encode(value.encode()).decode()
                        yield _frame({"event": {"data": {kind: data}}})
                    elif kind == "end":
                        end: dict[str, Any] = {"exited": True, "status": f"exit status {value}"}
                        if value:
                            end["exitCode"] = value
                        yield _frame({"event": {"end": end}})
                        yield _frame({}, 2)
                        return
                    else:
                        yield _frame({"error": {"code": "internal", "message": value}}, 2)
                        return
            finally:
                if pid is not None:
                    threading.Thread(target=self._forget, args=(sandbox_id, pid, runner), daemon=True,
                                     name=f"e2b-emulator-reaper-{pid}").start()

        return Response(stream(), status=200, content_type="application/connect+json", direct_passthrough=True)

    def _forget(self, sandbox_id: str, pid: int, runner: threading.Thread) -> None:
        # A background process outlives its stream: it stays signalable until it ends.
        runner.join()
        with self.state.lock:
            self.state.processes.pop((sandbox_id, pid), None)


class E2BEmulator:
    """Both servers over one state and one LocalBackend; ``config`` is the plugin's options for them."""

    def __init__(self, api_key: str = "e2b_emulator_key_0123456789", isolation: str = "bwrap") -> None:
        self.state = E2BState(api_key, LocalBackend(isolation=isolation))
        self.control = ControlPlaneEmulator(self.state)
        self.envd = EnvdEmulator(self.state)

    @property
    def config(self) -> dict[str, Any]:
        """``compute(e2b=...)`` options that reach this emulator."""
        return {"api_key": self.state.api_key, "api_url": self.control.url, "envd_url": self.envd.url}

    @property
    def violations(self) -> list[str]:
        """Every departure from E2B's specs seen by either server."""
        return self.control.violations + self.envd.violations

    @property
    def validating(self) -> bool:
        """Whether both servers found the vendor's specs."""
        return self.control.validating and self.envd.validating

    def start(self) -> E2BEmulator:
        """Start both servers."""
        self.control.start()
        self.envd.start()
        return self

    def stop(self) -> None:
        """Stop both servers and destroy every local sandbox."""
        self.control.stop()
        self.envd.stop()
        self.state.backend.close()

    def __enter__(self) -> E2BEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
