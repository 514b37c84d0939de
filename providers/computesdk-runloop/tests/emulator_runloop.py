"""An emulator of Runloop's devbox API on loopback, running every command for real.

Each devbox is a local-provider sandbox (``LocalBackend``) whose home is ``/home/user``, as on
Runloop. Devboxes boot asynchronously (``provisioning`` -> ``running``), long-polls hold and
answer 408, executions stream their output as Server-Sent Events with byte offsets, kills reach
the execution's whole process group, tunnels are one per devbox (a second enable is a 400), and
disk snapshots hold the devbox's home directory. Requests and JSON answers are validated against
Runloop's OpenAPI document; error answers are not, because the document declares no error bodies.
"""

from __future__ import annotations

import base64
import json
import secrets
import shlex
import threading
import time
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

from computesdk_core.testing.emulator import Emulator, LocalBackend, json_response, route

HOME = "/home/user"
PID_DIR = "/tmp/.runloop-emulator"
KEEPALIVE_EVERY = 5.0
DEFAULT_LIFETIME = 3600


def _now_ms() -> int:
    return int(time.time() * 1000)


def error(status: int, message: str) -> Response:
    """An error answer in the shape the plugin expects from Runloop."""
    return json_response({"message": message}, status=status)


class Execution:
    """One command started through execute_async: its output so far and its end."""

    def __init__(self, devbox_id: str, execution_id: str) -> None:
        self.devbox_id = devbox_id
        self.id = execution_id
        self.output = {"stdout": bytearray(), "stderr": bytearray()}
        self.exit_status: int | None = None

    @property
    def done(self) -> bool:
        """Whether the command ended."""
        return self.exit_status is not None

    def view(self, last_n: int | None = None) -> dict[str, Any]:
        """``DevboxAsyncExecutionDetailView``; output only once completed, its last ``last_n`` lines."""
        body: dict[str, Any] = {"devbox_id": self.devbox_id, "execution_id": self.id,
                                "status": "completed" if self.done else "running", "shell_name": None}
        if self.done:
            for which in ("stdout", "stderr"):
                lines = self.output[which].decode("utf-8", errors="replace").splitlines(keepends=True)
                kept = lines[-(last_n or 100):]
                body[which] = "".join(kept)
                body[f"{which}_truncated"] = len(kept) < len(lines)
            body["exit_status"] = self.exit_status
        return body


class RunloopEmulator(Emulator):
    """Runloop's ``/v1/devboxes`` API backed by real local sandboxes."""

    spec = "runloop/runloop-api-openapi.yml"

    def __init__(self, api_key: str, backend: LocalBackend) -> None:
        super().__init__()
        self.api_key = api_key
        self.backend = backend
        self.devboxes: dict[str, dict[str, Any]] = {}
        self.executions: dict[str, Execution] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.snapshot_data: dict[str, bytes] = {}
        self.changed = threading.Condition()
        #: Caps every long-poll hold (seconds), so tests can make the API answer 408.
        self.max_hold: float | None = None
        #: Extra seconds a devbox stays "provisioning".
        self.boot_delay = 0.0
        #: When set, each output stream's first connection breaks off after this many events.
        self.drop_streams_after: int | None = None
        self._dropped: set[tuple[str, str]] = set()
        #: (execution id, stream, offset) of every stream opened.
        self.stream_opens: list[tuple[str, str, int]] = []

    # --- plumbing ----------------------------------------------------------------------------

    def _later(self, delay: float, box: dict[str, Any], status: str) -> None:
        timer = threading.Timer(delay, self._set_status, args=(box, status))
        timer.name, timer.daemon = f"runloop-emulator-{status}-{box['id']}", True
        timer.start()

    def _validate_response(self, request: Request, response: Response) -> None:
        if response.status_code < 400:
            super()._validate_response(request, response)

    def _sandbox(self, devbox_id: str) -> Any:
        return self.backend.get(devbox_id)

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def _guard(self, request: Request, devbox_id: str | None = None,
               running: bool = False) -> tuple[dict[str, Any] | None, Response | None]:
        if not self._authorized(request):
            return None, error(401, "Unauthorized: invalid API key")
        if devbox_id is None:
            return None, None
        box = self.devboxes.get(devbox_id)
        if box is None:
            return None, error(404, f"Devbox {devbox_id} not found")
        if running and box["status"] != "running":
            return None, error(400, f"Devbox {devbox_id} is not running (status {box['status']})")
        return box, None

    def _set_status(self, box: dict[str, Any], status: str, **fields: Any) -> None:
        with self.changed:
            box.update(status=status, **fields)
            box["state_transitions"].append({"status": status})
            self.changed.notify_all()

    def _hold(self, asked: Any, limit: int, default: int) -> float:
        seconds = float(asked if isinstance(asked, int) else default)
        seconds = max(0.0, min(seconds, limit))
        return seconds if self.max_hold is None else min(seconds, self.max_hold)

    @staticmethod
    def _view(box: dict[str, Any]) -> dict[str, Any]:
        # Unset optional fields are left out: the spec's "nullable" is void next to a $ref.
        return {key: value for key, value in box.items()
                if not key.startswith("_") and (value is not None or key == "end_time_ms")}

    # --- devboxes -----------------------------------------------------------------------------

    @route("/v1/devboxes", methods=["POST"])
    def create(self, request: Request) -> Response:
        """Create a devbox; it boots on a thread of its own."""
        _, refused = self._guard(request)
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        sources = [key for key in ("blueprint_id", "blueprint_name", "snapshot_id") if body.get(key)]
        if len(sources) > 1:
            return error(400, "Only one of (Snapshot ID, Blueprint ID, Blueprint name) should be specified")
        snapshot_id = body.get("snapshot_id")
        if snapshot_id and snapshot_id not in self.snapshot_data:
            return error(400, f"Snapshot {snapshot_id} not found")
        launch = dict(body.get("launch_parameters") or {})
        launch.setdefault("keep_alive_time_seconds", DEFAULT_LIFETIME)
        if launch["keep_alive_time_seconds"] > 172800:
            return error(400, "keep_alive_time_seconds must be at most 172800")
        devbox_id = "dbx_" + secrets.token_hex(10)
        box: dict[str, Any] = {
            "id": devbox_id, "name": body.get("name"), "status": "provisioning", "create_time_ms": _now_ms(),
            "end_time_ms": None, "initiator_type": "api", "blueprint_id": body.get("blueprint_id"),
            "snapshot_id": snapshot_id, "metadata": dict(body.get("metadata") or {}), "launch_parameters": launch,
            "capabilities": [], "state_transitions": [{"status": "provisioning"}], "tunnel": None,
            "failure_reason": None, "shutdown_reason": None,
            "_envs": dict(body.get("environment_variables") or {}),
        }
        with self.changed:
            self.devboxes[devbox_id] = box
        threading.Thread(target=self._boot, args=(box,), name=f"runloop-emulator-boot-{devbox_id}", daemon=True).start()
        return json_response(self._view(box))

    def _boot(self, box: dict[str, Any]) -> None:
        try:
            time.sleep(self.boot_delay)
            sandbox = self.backend.create(box["id"], box["_envs"], timeout=box["launch_parameters"]["keep_alive_time_seconds"])
            if box["snapshot_id"]:
                sandbox.filesystem.write_file("/tmp/.runloop-snapshot.tar", self.snapshot_data[box["snapshot_id"]])
                restored = sandbox.run_command(f"tar -C {HOME} -xf /tmp/.runloop-snapshot.tar && rm /tmp/.runloop-snapshot.tar")
                if restored.exit_code != 0:
                    raise RuntimeError(restored.stderr)
        except Exception:
            self._set_status(box, "failure", failure_reason="execution_failed", end_time_ms=_now_ms())
            return
        if box["status"] == "provisioning":
            self._set_status(box, "running")

    @route("/v1/devboxes", methods=["GET"])
    def list(self, request: Request) -> Response:
        """Devboxes, oldest first, paged with limit/starting_after, optionally of one status."""
        _, refused = self._guard(request)
        if refused:
            return refused
        status = request.args.get("status")
        limit = int(request.args.get("limit") or 20)
        boxes = [box for box in list(self.devboxes.values()) if not status or box["status"] == status]
        after = request.args.get("starting_after")
        if after:
            ids = [box["id"] for box in boxes]
            boxes = boxes[ids.index(after) + 1:] if after in ids else []
        page = boxes[:limit]
        return json_response({"devboxes": [self._view(box) for box in page], "has_more": len(boxes) > limit,
                              "total_count": None})

    @route("/v1/devboxes/<devbox_id>", methods=["GET"])
    def get(self, request: Request, devbox_id: str) -> Response:
        """One devbox (shut-down ones stay visible, as on Runloop)."""
        box, refused = self._guard(request, devbox_id)
        return refused or json_response(self._view(box))  # type: ignore[arg-type]

    @route("/v1/devboxes/<devbox_id>/wait_for_status", methods=["POST"])
    def wait_for_status(self, request: Request, devbox_id: str) -> Response:
        """Hold until the devbox has one of the statuses; 408 when the hold elapsed."""
        box, refused = self._guard(request, devbox_id)
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        wanted = body.get("statuses") or []
        if not wanted:
            return error(400, "At least one status must be provided")
        with self.changed:
            reached = self.changed.wait_for(lambda: box["status"] in wanted,  # type: ignore[index]
                                            timeout=self._hold(body.get("timeout_seconds"), 30, 10))
        if not reached:
            return error(408, "Timeout waiting for status")
        return json_response(self._view(box))  # type: ignore[arg-type]

    @route("/v1/devboxes/<devbox_id>/shutdown", methods=["POST"])
    def shutdown(self, request: Request, devbox_id: str) -> Response:
        """Shut a devbox down for good (again: the same answer)."""
        box, refused = self._guard(request, devbox_id)
        if refused:
            return refused
        assert box is not None
        if box["status"] not in ("shutdown", "failure"):
            self._set_status(box, "shutdown", shutdown_reason="api_shutdown", end_time_ms=_now_ms())
            self.backend.destroy(devbox_id)
            with self.changed:
                for execution in self.executions.values():
                    if execution.devbox_id == devbox_id and not execution.done:
                        execution.exit_status = 143
                self.changed.notify_all()
        return json_response(self._view(box))

    @route("/v1/devboxes/<devbox_id>/keep_alive", methods=["POST"])
    def keep_alive(self, request: Request, devbox_id: str) -> Response:
        """Reset the idle timer (nothing to do here but answer)."""
        _, refused = self._guard(request, devbox_id, running=True)
        return refused or json_response({})

    @route("/v1/devboxes/<devbox_id>/suspend", methods=["POST"])
    def suspend(self, request: Request, devbox_id: str) -> Response:
        """Suspend: the devbox refuses work until resumed (its files stay)."""
        box, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        assert box is not None
        self._set_status(box, "suspending")
        self._later(0.2, box, "suspended")
        return json_response(self._view(box))

    @route("/v1/devboxes/<devbox_id>/resume", methods=["POST"])
    def resume(self, request: Request, devbox_id: str) -> Response:
        """Resume a suspended devbox; it is running again shortly after."""
        box, refused = self._guard(request, devbox_id)
        if refused:
            return refused
        assert box is not None
        if box["status"] != "suspended":
            return error(400, f"Devbox {devbox_id} is not suspended")
        self._set_status(box, "resuming")
        self._later(0.2, box, "running")
        return json_response(self._view(box))

    @route("/v1/devboxes/<devbox_id>/enable_tunnel", methods=["POST"])
    def enable_tunnel(self, request: Request, devbox_id: str) -> Response:
        """Give the devbox its one tunnel; a second call is refused with 400."""
        box, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        assert box is not None
        if box["tunnel"]:
            return error(400, "Devbox already has a tunnel configured")
        body = request.get_json(silent=True) or {}
        mode = body.get("auth_mode") or "open"
        tunnel = {"tunnel_key": secrets.token_hex(12), "auth_mode": mode, "create_time_ms": _now_ms(),
                  "http_keep_alive": body.get("http_keep_alive", True), "wake_on_http": body.get("wake_on_http", False)}
        if mode == "authenticated":
            tunnel["auth_token"] = secrets.token_urlsafe(24)
        box["tunnel"] = tunnel
        return json_response(tunnel)

    # --- executions ---------------------------------------------------------------------------

    @route("/v1/devboxes/<devbox_id>/execute_sync", methods=["POST"])
    def execute_sync(self, request: Request, devbox_id: str) -> Response:
        """Run a command to its end and answer with its whole output."""
        _, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        command = (request.get_json(silent=True) or {}).get("command")
        result = self._sandbox(devbox_id).run_command(command)
        return json_response({"devbox_id": devbox_id, "stdout": result.stdout, "stderr": result.stderr,
                              "exit_status": result.exit_code, "shell_name": None})

    @route("/v1/devboxes/<devbox_id>/execute_async", methods=["POST"])
    def execute_async(self, request: Request, devbox_id: str) -> Response:
        """Start a command on a thread; its output is kept for the streams and status calls."""
        _, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        command = (request.get_json(silent=True) or {}).get("command")
        execution = Execution(devbox_id, "exe_" + secrets.token_hex(10))
        with self.changed:
            self.executions[execution.id] = execution
        threading.Thread(target=self._execute, args=(execution, command), daemon=True,
                         name=f"runloop-emulator-{execution.id}").start()
        return json_response(execution.view())

    def _execute(self, execution: Execution, command: str) -> None:
        def sink(which: str) -> Any:
            def append(chunk: str) -> None:
                with self.changed:
                    execution.output[which] += chunk.encode("utf-8")
                    self.changed.notify_all()
            return append

        # The command's shell leads its own process group; its pid lets kill reach the whole group.
        wrapped = (f"mkdir -p {PID_DIR} && echo $$ > {PID_DIR}/{execution.id}.pid && "
                   f"exec bash -c {shlex.quote(command)}")
        try:
            sandbox = self._sandbox(execution.devbox_id)
            code = sandbox.run_command(wrapped, on_stdout=sink("stdout"), on_stderr=sink("stderr")).exit_code
        except Exception:
            code = 143
        with self.changed:
            if execution.exit_status is None:
                execution.exit_status = code
            self.changed.notify_all()

    def _execution(self, request: Request, devbox_id: str, execution_id: str) -> tuple[Execution | None, Response | None]:
        _, refused = self._guard(request, devbox_id)
        if refused:
            return None, refused
        execution = self.executions.get(execution_id)
        if execution is None or execution.devbox_id != devbox_id:
            return None, error(404, f"Execution {execution_id} not found")
        return execution, None

    @route("/v1/devboxes/<devbox_id>/executions/<execution_id>", methods=["GET"])
    def execution(self, request: Request, devbox_id: str, execution_id: str) -> Response:
        """The execution's status (and last lines once completed)."""
        execution, refused = self._execution(request, devbox_id, execution_id)
        return refused or json_response(execution.view(_last_n(request)))  # type: ignore[union-attr]

    @route("/v1/devboxes/<devbox_id>/executions/<execution_id>/wait_for_status", methods=["POST"])
    def wait_execution(self, request: Request, devbox_id: str, execution_id: str) -> Response:
        """Hold until the execution completes; 408 when the hold elapsed."""
        execution, refused = self._execution(request, devbox_id, execution_id)
        if refused:
            return refused
        assert execution is not None
        body = request.get_json(silent=True) or {}
        if "completed" not in (body.get("statuses") or []):
            return json_response(execution.view(_last_n(request)))
        with self.changed:
            done = self.changed.wait_for(lambda: execution.done, timeout=self._hold(body.get("timeout_seconds"), 25, 25))
        if not done:
            return error(408, "Timeout waiting for command completion")
        return json_response(execution.view(_last_n(request)))

    @route("/v1/devboxes/<devbox_id>/executions/<execution_id>/kill", methods=["POST"])
    def kill(self, request: Request, devbox_id: str, execution_id: str) -> Response:
        """Kill the execution's process group (or only its shell without kill_process_group)."""
        execution, refused = self._execution(request, devbox_id, execution_id)
        if refused:
            return refused
        assert execution is not None
        group = bool((request.get_json(silent=True) or {}).get("kill_process_group"))
        if not execution.done:
            pid_file = f"{PID_DIR}/{execution.id}.pid"
            target = '-- "-$(cat ' + pid_file + ')"' if group else f'"$(cat {pid_file})"'
            self._sandbox(devbox_id).run_command(
                f"for i in $(seq 50); do [ -s {pid_file} ] && break; sleep 0.1; done; kill -KILL {target} 2>/dev/null; true")
            with self.changed:
                self.changed.wait_for(lambda: execution.done, timeout=5)
        return json_response(execution.view(_last_n(request)))

    @route("/v1/devboxes/<devbox_id>/executions/<execution_id>/stream_stdout_updates", methods=["GET"])
    def stream_stdout(self, request: Request, devbox_id: str, execution_id: str) -> Response:
        """Server-Sent Events of stdout from the byte ``offset``, until the execution completes."""
        return self._stream(request, devbox_id, execution_id, "stdout")

    @route("/v1/devboxes/<devbox_id>/executions/<execution_id>/stream_stderr_updates", methods=["GET"])
    def stream_stderr(self, request: Request, devbox_id: str, execution_id: str) -> Response:
        """Server-Sent Events of stderr from the byte ``offset``, until the execution completes."""
        return self._stream(request, devbox_id, execution_id, "stderr")

    def _stream(self, request: Request, devbox_id: str, execution_id: str, which: str) -> Response:
        execution, refused = self._execution(request, devbox_id, execution_id)
        if refused:
            return refused
        assert execution is not None
        offset = int(request.args.get("offset") or 0)
        self.stream_opens.append((execution.id, which, offset))
        budget = None
        if self.drop_streams_after is not None and (execution.id, which) not in self._dropped:
            self._dropped.add((execution.id, which))
            budget = self.drop_streams_after

        def events() -> Iterator[bytes]:
            position, sent = offset, 0
            while True:
                if budget is not None and sent >= budget:
                    return  # a connection cut short while the command still runs

                with self.changed:
                    self.changed.wait_for(lambda at=position: len(execution.output[which]) > at or execution.done,  # type: ignore[misc]
                                          timeout=KEEPALIVE_EVERY)
                    data = bytes(execution.output[which][position:])
                    done = execution.done
                if data:
                    chunk = {"output": data.decode("utf-8", errors="replace"), "offset": position}
                    position += len(data)
                    sent += 1
                    yield f"data: {json.dumps(chunk)}\n\n".encode()
                elif done:
                    return
                else:
                    yield b": keep-alive\n\n"

        return Response(events(), mimetype="text/event-stream", headers={"Cache-Control": "no-cache"})

    # --- files --------------------------------------------------------------------------------

    @staticmethod
    def _absolute(path: str) -> str:
        return path if path.startswith("/") else f"{HOME}/{path}"

    @route("/v1/devboxes/<devbox_id>/read_file_contents", methods=["POST"])
    def read_file_contents(self, request: Request, devbox_id: str) -> Response:
        """A file as UTF-8 text."""
        _, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        path = self._absolute((request.get_json(silent=True) or {}).get("file_path", ""))
        try:
            data = self._sandbox(devbox_id).filesystem.read_bytes(path)
        except FileNotFoundError:
            return error(400, f"File not found: {path}")
        return Response(data.decode("utf-8", errors="replace"), mimetype="text/plain")

    @route("/v1/devboxes/<devbox_id>/download_file", methods=["POST"])
    def download_file(self, request: Request, devbox_id: str) -> Response:
        """A file's bytes."""
        _, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        path = self._absolute((request.get_json(silent=True) or {}).get("path", ""))
        sandbox = self._sandbox(devbox_id)
        if not sandbox.filesystem.exists(path):
            return error(400, f"File not found: {path}")
        try:
            data = sandbox.filesystem.read_bytes(path)
        except Exception as exc:  # a directory, say: Runloop answers with an error too
            return error(400, f"Cannot read {path}: {exc}")
        return Response(data, mimetype="application/octet-stream",
                        headers={"Content-Disposition": "attachment"})

    def _parent_missing(self, devbox_id: str, path: str) -> bool:
        parent = path.rsplit("/", 1)[0] or "/"
        return not self._sandbox(devbox_id).filesystem.exists(parent)

    @route("/v1/devboxes/<devbox_id>/write_file_contents", methods=["POST"])
    def write_file_contents(self, request: Request, devbox_id: str) -> Response:
        """Write UTF-8 text; like a plain shell redirect, a missing parent fails (in the body)."""
        _, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        path = self._absolute(body.get("file_path", ""))
        if self._parent_missing(devbox_id, path):
            return json_response({"devbox_id": devbox_id, "stdout": "", "exit_status": 1,
                                  "stderr": f"cannot create {path}: No such file or directory\n"})
        self._sandbox(devbox_id).filesystem.write_file(path, body.get("contents", ""))
        return json_response({"devbox_id": devbox_id, "stdout": "", "stderr": "", "exit_status": 0})

    @route("/v1/devboxes/<devbox_id>/upload_file", methods=["POST"])
    def upload_file(self, request: Request, devbox_id: str) -> Response:
        """Write bytes sent as multipart form data; a missing parent is refused."""
        _, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        path = self._absolute(request.form.get("path", ""))
        upload = request.files.get("file")
        if upload is None:
            return error(400, "multipart field 'file' is missing")
        if self._parent_missing(devbox_id, path):
            return error(400, f"cannot create {path}: No such file or directory")
        self._sandbox(devbox_id).filesystem.write_file(path, upload.read())
        return json_response({})

    # --- disk snapshots -----------------------------------------------------------------------

    @route("/v1/devboxes/<devbox_id>/snapshot_disk_async", methods=["POST"])
    def snapshot_disk_async(self, request: Request, devbox_id: str) -> Response:
        """Snapshot the devbox's home directory (in progress until the next status call)."""
        _, refused = self._guard(request, devbox_id, running=True)
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        archived = self._sandbox(devbox_id).run_command(f"tar -C {HOME} -cf - . | base64 -w0")
        if archived.exit_code != 0:
            return error(500, f"snapshot failed: {archived.stderr}")
        snapshot_id = "snp_" + secrets.token_hex(10)
        snapshot: dict[str, Any] = {"id": snapshot_id, "name": body.get("name"), "create_time_ms": _now_ms(),
                    "metadata": dict(body.get("metadata") or {}), "source_devbox_id": devbox_id,
                    "_status": "in_progress"}
        self.snapshot_data[snapshot_id] = base64.b64decode(archived.stdout)
        self.snapshots[snapshot_id] = snapshot
        return json_response(self._view(snapshot))

    @route("/v1/devboxes/disk_snapshots/<snapshot_id>/status", methods=["GET"])
    def snapshot_status(self, request: Request, snapshot_id: str) -> Response:
        """A snapshot's progress: in_progress at the first look, complete afterwards."""
        _, refused = self._guard(request)
        if refused:
            return refused
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None:
            return error(404, f"Snapshot {snapshot_id} not found")
        status = snapshot["_status"]
        snapshot["_status"] = "complete"
        body: dict[str, Any] = {"status": status}
        if status == "complete":
            body["snapshot"] = self._view(snapshot)
        return json_response(body)

    @route("/v1/devboxes/disk_snapshots", methods=["GET"])
    def list_snapshots(self, request: Request) -> Response:
        """Every snapshot, paged like devboxes."""
        _, refused = self._guard(request)
        if refused:
            return refused
        items = [self._view(s) for s in self.snapshots.values()]
        after = request.args.get("starting_after")
        if after:
            ids = [item["id"] for item in items]
            items = items[ids.index(after) + 1:] if after in ids else []
        limit = int(request.args.get("limit") or 20)
        return json_response({"snapshots": items[:limit], "has_more": len(items) > limit, "total_count": None})

    @route("/v1/devboxes/disk_snapshots/<snapshot_id>/delete", methods=["POST"])
    def delete_snapshot(self, request: Request, snapshot_id: str) -> Response:
        """Delete a snapshot; 404 when it is unknown."""
        _, refused = self._guard(request)
        if refused:
            return refused
        if self.snapshots.pop(snapshot_id, None) is None:
            return error(404, f"Snapshot {snapshot_id} not found")
        self.snapshot_data.pop(snapshot_id, None)
        return json_response({})


def _last_n(request: Request) -> int | None:
    value = request.args.get("last_n")
    return int(value) if value and value.isdigit() else None
