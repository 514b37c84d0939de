"""An emulator of Vercel's sandbox API (v2/v3, named sandboxes with sessions) running every command for real.

Each sandbox is one local-provider sandbox (``LocalBackend``) whose working directory is
``/home/user``. Sessions are records on top of it: a stopped session answers 410 to every call,
``GET /v2/sandboxes/{name}?resume=true`` starts the next one. Because the local sandbox lives on,
a resumed session finds the files of the stopped one (what Vercel's persistent sandboxes give by
restoring their snapshot); processes survive a stop here, where Vercel's VM would end them.
Commands run ``command`` with ``args`` exactly (no shell of the emulator's own), stream NDJSON
lines while they run, and are killed as a process group. Files are written from gzipped tars.

Vercel publishes no OpenAPI document small enough to keep here (see
``shared/vendor-specs/vercel/SOURCE.txt``), so ``spec`` is None: the wire format follows the
provider notes (``shared/spec/providers/vercel.md``) and nothing is validated.
"""

from __future__ import annotations

import base64
import io
import json
import posixpath
import secrets
import shlex
import tarfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

from computesdk_core.testing.emulator import Emulator, LocalBackend, json_response, route

CWD = "/home/user"
PID_DIR = "/tmp/.vercel-emulator"
DEFAULT_TIMEOUT_MS = 300_000
WAIT_SLICE = 1.0


def _now_ms() -> int:
    return int(time.time() * 1000)


def error(status: int, code: str, message: str) -> Response:
    """An error answer in Vercel's shape."""
    return json_response({"error": {"code": code, "message": message}}, status=status)


def ndjson(lines: Iterator[dict[str, Any]]) -> Response:
    """A streamed ``application/x-ndjson`` answer."""
    return Response((json.dumps(line).encode() + b"\n" for line in lines), mimetype="application/x-ndjson")


class Command:
    """One command of a session: its output events so far and its exit code."""

    def __init__(self, command_id: str, session_id: str, body: dict[str, Any]) -> None:
        self.id = command_id
        self.session_id = session_id
        self.name = str(body.get("command"))
        self.args = [str(arg) for arg in body.get("args") or []]
        self.cwd = body.get("cwd") or CWD
        self.started_at = _now_ms()
        self.events: list[tuple[str, str]] = []
        self.exit_code: int | None = None

    def view(self) -> dict[str, Any]:
        """The ``Command`` object."""
        return {"id": self.id, "name": self.name, "args": self.args, "cwd": self.cwd, "sessionId": self.session_id,
                "exitCode": self.exit_code, "startedAt": self.started_at,
                "durationMs": None if self.exit_code is None else _now_ms() - self.started_at}


class VercelEmulator(Emulator):
    """Vercel's ``/v2``/``/v3`` sandbox API backed by real local sandboxes."""

    spec = None

    def __init__(self, token: str, team_id: str, project_id: str, backend: LocalBackend) -> None:
        super().__init__()
        self.token = token
        self.team_id = team_id
        self.project_id = project_id
        self.backend = backend
        self.sandboxes: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, list[dict[str, Any]]] = {}
        self.commands: dict[str, Command] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.snapshot_data: dict[str, bytes] = {}
        self.changed = threading.Condition()
        #: When set, each command stream (not logs) breaks off after this many output lines.
        self.break_streams_after: int | None = None
        #: Status of sessions as create answers them (Vercel may answer "pending").
        self.initial_status = "running"
        #: Every create body received.
        self.create_bodies: list[dict[str, Any]] = []

    # --- plumbing ----------------------------------------------------------------------------

    def _sandbox(self, name: str) -> Any:
        return self.backend.get(name)

    def _refused(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return error(401, "forbidden", "Not authorized: invalid token")
        if request.args.get("teamId") != self.team_id:
            return error(403, "forbidden", "You don't have access to this team (teamId missing or wrong)")
        return None

    def _project_refused(self, request: Request, key: str) -> Response | None:
        if request.args.get(key) != self.project_id:
            return error(400, "bad_request", f"query parameter {key} must name the project")
        return None

    def _session(self, request: Request, session_id: str) -> tuple[dict[str, Any] | None, Response | None]:
        refused = self._refused(request)
        if refused:
            return None, refused
        session = self.sessions.get(session_id)
        if session is None:
            return None, error(404, "not_found", f"Session {session_id} not found")
        self._expire(session)
        if session["status"] != "running":
            return None, error(410, "session_stopped", f"Session {session_id} is {session['status']}")
        return session, None

    def _expire(self, session: dict[str, Any]) -> None:
        if session["status"] == "running" and _now_ms() > session["startedAt"] + session["timeout"]:
            self._stop(session)

    def _stop(self, session: dict[str, Any], status: str = "stopped") -> None:
        with self.changed:
            session.update(status=status, stoppedAt=_now_ms())
            box = self.sandboxes.get(session["_sandbox"])
            if box is not None and box["currentSessionId"] == session["id"]:
                box.update(status="stopped", statusUpdatedAt=_now_ms())
            self.changed.notify_all()

    def _new_session(self, box: dict[str, Any]) -> dict[str, Any]:
        now = _now_ms()
        session = {"id": "sbs_" + secrets.token_hex(10), "memory": box["memory"], "vcpus": box["vcpus"],
                   "region": box["region"], "runtime": box["runtime"], "timeout": box["timeout"],
                   "status": "running", "requestedAt": now, "startedAt": now, "stoppedAt": None,
                   "sourceSnapshotId": box.get("currentSnapshotId"), "createdAt": now, "updatedAt": now,
                   "cwd": CWD, "interactivePort": None, "_sandbox": box["name"]}
        self.sessions[session["id"]] = session
        box.update(currentSessionId=session["id"], status="running", statusUpdatedAt=now, updatedAt=now)
        return session

    def _answer(self, box: dict[str, Any], resumed: bool | None = None) -> dict[str, Any]:
        session = self.sessions[box["currentSessionId"]]
        body: dict[str, Any] = {"sandbox": _public(box), "session": _public(session),
                                "routes": self.routes.get(box["name"], [])}
        if resumed is not None:
            body["resumed"] = resumed
        return body

    # --- sandboxes ----------------------------------------------------------------------------

    @route("/v3/sandboxes", methods=["POST"])
    def create_v3(self, request: Request) -> Response:
        """Create a sandbox from an image (or a snapshot)."""
        return self._create(request, runtime_allowed=False)

    @route("/v2/sandboxes", methods=["POST"])
    def create_v2(self, request: Request) -> Response:
        """Create a sandbox from a runtime (or a snapshot)."""
        return self._create(request, runtime_allowed=True)

    def _create(self, request: Request, runtime_allowed: bool) -> Response:
        refused = self._refused(request)
        if refused:
            return refused
        body = request.get_json(silent=True) or {}
        self.create_bodies.append(body)
        if body.get("projectId") != self.project_id:
            return error(400, "bad_request", "projectId is missing or names another project")
        if "runtime" in body and not runtime_allowed:
            return error(400, "bad_request", "runtime is not accepted by /v3/sandboxes; use image")
        name = body.get("name") or "sbx-" + secrets.token_hex(8)
        if name in self.sandboxes:
            return error(409, "conflict", f"A sandbox named {name} already exists")
        timeout = body.get("timeout", DEFAULT_TIMEOUT_MS)
        if not isinstance(timeout, int) or timeout < 1000:
            return error(400, "bad_request", "timeout must be an integer of at least 1000 ms")
        tags = body.get("tags") or {}
        if len(tags) > 5:
            return error(400, "bad_request", "at most 5 tags")
        source = body.get("source") or {}
        snapshot_id = source.get("snapshotId") if source.get("type") == "snapshot" else None
        if snapshot_id and snapshot_id not in self.snapshot_data:
            return error(404, "snapshot_not_found", f"Snapshot {snapshot_id} not found")
        sandbox = self.backend.create(name, dict(body.get("env") or {}), timeout=max(600, timeout / 1000))
        if snapshot_id:
            sandbox.filesystem.write_file("/tmp/.vercel-snapshot.tar", self.snapshot_data[snapshot_id])
            restored = sandbox.run_command(f"tar -C {CWD} -xf /tmp/.vercel-snapshot.tar && rm /tmp/.vercel-snapshot.tar")
            if restored.exit_code != 0:
                return error(500, "internal_error", restored.stderr)
        now = _now_ms()
        vcpus = (body.get("resources") or {}).get("vcpus", 2)
        box: dict[str, Any] = {
            "name": name, "persistent": body.get("persistent", True), "region": body.get("region", "iad1"),
            "vcpus": vcpus, "memory": vcpus * 2048, "runtime": body.get("runtime"),
            "image": body.get("image", "vercel/sandbox/universal" if "runtime" not in body else None),
            "timeout": timeout, "createdAt": now, "updatedAt": now, "expiresAt": None, "currentSessionId": None,
            "currentSnapshotId": snapshot_id, "status": "running", "statusUpdatedAt": now, "cwd": CWD,
            "tags": dict(tags), "networkPolicy": body.get("networkPolicy", {"mode": "allow-all"}),
        }
        with self.changed:
            self.sandboxes[name] = box
            self.routes[name] = [{"url": f"https://sb-{secrets.token_hex(5)}-{port}.vercel.run",
                                  "subdomain": "", "port": port} for port in body.get("ports") or []]
            for item in self.routes[name]:
                item["subdomain"] = item["url"][len("https://"):-len(".vercel.run")]
            session = self._new_session(box)
            session["status"] = self.initial_status
        return json_response(self._answer(box))

    @route("/v2/sandboxes/<name>", methods=["GET"])
    def get(self, request: Request, name: str) -> Response:
        """A sandbox, its session and routes; ``resume=true`` starts a new session when it stopped."""
        refused = self._refused(request) or self._project_refused(request, "projectId")
        if refused:
            return refused
        box = self.sandboxes.get(name)
        if box is None:
            return error(404, "not_found", f"Sandbox {name} not found")
        with self.changed:
            session = self.sessions[box["currentSessionId"]]
            self._expire(session)
            resumed = False
            if request.args.get("resume") == "true" and session["status"] != "running":
                self._new_session(box)
                resumed = True
        return json_response(self._answer(box, resumed))

    @route("/v2/sandboxes", methods=["GET"])
    def list(self, request: Request) -> Response:
        """The project's sandboxes, oldest first, filtered by tags, paged with ``cursor``."""
        refused = self._refused(request) or self._project_refused(request, "project")
        if refused:
            return refused
        wanted = [tag.split(":", 1) for tag in request.args.getlist("tags")]
        boxes = [box for box in list(self.sandboxes.values())
                 if all(box["tags"].get(key) == value for key, value in wanted)]
        start = int(request.args.get("cursor") or 0)
        limit = int(request.args.get("limit") or 20)
        page = boxes[start:start + limit]
        following = str(start + limit) if start + limit < len(boxes) else None
        return json_response({"sandboxes": [_public(box) for box in page],
                              "pagination": {"count": len(page), "next": following}})

    @route("/v2/sandboxes/<name>", methods=["DELETE"])
    def delete(self, request: Request, name: str) -> Response:
        """Delete a sandbox with its sessions."""
        refused = self._refused(request) or self._project_refused(request, "projectId")
        if refused:
            return refused
        with self.changed:
            box = self.sandboxes.pop(name, None)
            if box is None:
                return error(404, "not_found", f"Sandbox {name} not found")
            for session in self.sessions.values():
                if session["_sandbox"] == name and session["status"] == "running":
                    session.update(status="stopped", stoppedAt=_now_ms())
            self.changed.notify_all()
        self.backend.destroy(name)
        with self.changed:
            for command in self.commands.values():
                if self.sessions[command.session_id]["_sandbox"] == name and command.exit_code is None:
                    command.exit_code = 137
            self.changed.notify_all()
        return json_response({"sandbox": _public(box)})

    # --- sessions -----------------------------------------------------------------------------

    @route("/v2/sandboxes/sessions/<session_id>", methods=["GET"])
    def get_session(self, request: Request, session_id: str) -> Response:
        """A session (stopped ones too) and its routes."""
        refused = self._refused(request)
        if refused:
            return refused
        session = self.sessions.get(session_id)
        if session is None:
            return error(404, "not_found", f"Session {session_id} not found")
        if session["status"] == "pending":
            session["status"] = "running"  # it boots by the first look
            return json_response({"session": {**_public(session), "status": "pending"},
                                  "routes": self.routes.get(session["_sandbox"], [])})
        self._expire(session)
        return json_response({"session": _public(session), "routes": self.routes.get(session["_sandbox"], [])})

    @route("/v2/sandboxes/sessions/<session_id>/stop", methods=["POST"])
    def stop_session(self, request: Request, session_id: str) -> Response:
        """Stop a session; the sandbox stays and resumes later."""
        session, refused = self._session(request, session_id)
        if refused:
            return refused
        assert session is not None
        self._stop(session)
        box = self.sandboxes.get(session["_sandbox"])
        return json_response({"session": _public(session), **({"sandbox": _public(box)} if box else {})})

    @route("/v2/sandboxes/sessions/<session_id>/extend-timeout", methods=["POST"])
    def extend(self, request: Request, session_id: str) -> Response:
        """Add ``duration`` ms to the session's deadline."""
        session, refused = self._session(request, session_id)
        if refused:
            return refused
        assert session is not None
        duration = (request.get_json(silent=True) or {}).get("duration")
        if not isinstance(duration, int) or duration <= 0:
            return error(400, "bad_request", "duration must be a positive integer of milliseconds")
        session["timeout"] += duration
        return json_response({"session": _public(session)})

    @route("/v2/sandboxes/sessions/<session_id>/snapshot", methods=["POST"])
    def snapshot(self, request: Request, session_id: str) -> Response:
        """Snapshot the working directory; the session stops, as on Vercel."""
        session, refused = self._session(request, session_id)
        if refused:
            return refused
        assert session is not None
        archived = self._sandbox(session["_sandbox"]).run_command(f"tar -C {CWD} -cf - . | base64 -w0")
        if archived.exit_code != 0:
            return error(500, "internal_error", archived.stderr)
        snapshot_id = "snap_" + secrets.token_hex(10)
        snapshot = {"id": snapshot_id, "sourceSessionId": session_id, "region": session["region"],
                    "status": "created", "sizeBytes": len(archived.stdout), "createdAt": _now_ms(),
                    "updatedAt": _now_ms(), "expiresAt": _now_ms() + 7 * 86_400_000}
        self.snapshot_data[snapshot_id] = base64.b64decode(archived.stdout)
        self.snapshots[snapshot_id] = snapshot
        self._stop(session)
        box = self.sandboxes.get(session["_sandbox"])
        if box is not None:
            box["currentSnapshotId"] = snapshot_id
        return json_response({"snapshot": snapshot, "session": _public(session)})

    # --- commands -----------------------------------------------------------------------------

    @route("/v2/sandboxes/sessions/<session_id>/cmd", methods=["POST"])
    def start_command(self, request: Request, session_id: str) -> Response:
        """Start ``command`` with ``args``; with ``wait`` stream NDJSON until it finished."""
        session, refused = self._session(request, session_id)
        if refused:
            return refused
        assert session is not None
        body = request.get_json(silent=True) or {}
        if not isinstance(body.get("command"), str) or not isinstance(body.get("args", []), list):
            return error(400, "bad_request", "command must be a string and args a list")
        command = Command("cmd_" + secrets.token_hex(10), session_id, body)
        with self.changed:
            self.commands[command.id] = command
        threading.Thread(target=self._execute, args=(command, session["_sandbox"], dict(body.get("env") or {})),
                         name=f"vercel-emulator-{command.id}", daemon=True).start()
        if not body.get("wait"):
            return json_response({"command": command.view()})
        return ndjson(self._stream(command, with_commands=True, logs=bool(body.get("logs")),
                                   budget=self.break_streams_after))

    def _execute(self, command: Command, sandbox_name: str, env: dict[str, str]) -> None:
        def sink(which: str) -> Any:
            def append(chunk: str) -> None:
                with self.changed:
                    command.events.append((which, chunk))
                    self.changed.notify_all()
            return append

        # The pid file lets kill reach the command's process group; exec keeps the pid the command's.
        argv = shlex.join([command.name, *command.args])
        wrapped = f"mkdir -p {PID_DIR} && echo $$ > {PID_DIR}/{command.id}.pid && exec {argv}"
        try:
            sandbox = self._sandbox(sandbox_name)
            result = sandbox.run_command(wrapped, cwd=command.cwd, env=env, on_stdout=sink("stdout"),
                                         on_stderr=sink("stderr"))
            code = result.exit_code
        except Exception:
            code = 137
        with self.changed:
            if command.exit_code is None:
                command.exit_code = code
            self.changed.notify_all()

    def _stream(self, command: Command, with_commands: bool, logs: bool,
                budget: int | None = None) -> Iterator[dict[str, Any]]:
        if with_commands:
            yield {"command": {**command.view(), "exitCode": None}}
        position = sent = 0
        while True:
            with self.changed:
                self.changed.wait_for(lambda at=position: len(command.events) > at or command.exit_code is not None,  # type: ignore[misc]
                                      timeout=WAIT_SLICE)
                events = command.events[position:]
                done = command.exit_code is not None
            position += len(events)
            for which, data in events:
                if budget is not None and sent >= budget:
                    return  # the connection breaks off while the command runs
                if logs:
                    sent += 1
                    yield {"stream": which, "data": data}
            if done:
                break
        if with_commands:
            yield {"command": command.view()}

    def _command(self, request: Request, session_id: str, command_id: str) -> tuple[Command | None, Response | None]:
        refused = self._refused(request)
        if refused:
            return None, refused
        command = self.commands.get(command_id)
        if command is None or command.session_id != session_id:
            return None, error(404, "not_found", f"Command {command_id} not found")
        return command, None

    @route("/v2/sandboxes/sessions/<session_id>/cmd/<command_id>", methods=["GET"])
    def get_command(self, request: Request, session_id: str, command_id: str) -> Response:
        """A command; ``wait=true`` holds until it finished."""
        command, refused = self._command(request, session_id, command_id)
        if refused:
            return refused
        assert command is not None
        if request.args.get("wait") == "true":
            with self.changed:
                self.changed.wait_for(lambda: command.exit_code is not None, timeout=60)
        return json_response({"command": command.view()})

    @route("/v2/sandboxes/sessions/<session_id>/cmd/<command_id>/logs", methods=["GET"])
    def command_logs(self, request: Request, session_id: str, command_id: str) -> Response:
        """The command's output from the start, live until it ends."""
        command, refused = self._command(request, session_id, command_id)
        if refused:
            return refused
        assert command is not None
        return ndjson(self._stream(command, with_commands=False, logs=True))

    @route("/v2/sandboxes/sessions/<session_id>/cmd/<command_id>/kill", methods=["POST"])
    def kill(self, request: Request, session_id: str, command_id: str) -> Response:
        """Send ``signal`` (a number) to the command's process group."""
        command, refused = self._command(request, session_id, command_id)
        if refused:
            return refused
        assert command is not None
        signal = (request.get_json(silent=True) or {}).get("signal", 15)
        if not isinstance(signal, int):
            return error(400, "bad_request", "signal must be a number")
        if command.exit_code is None:
            pid_file = f"{PID_DIR}/{command.id}.pid"
            self._sandbox(self.sessions[session_id]["_sandbox"]).run_command(
                f"for i in $(seq 50); do [ -s {pid_file} ] && break; sleep 0.1; done; "
                f'kill -{signal} -- "-$(cat {pid_file})" 2>/dev/null; true')
            with self.changed:
                self.changed.wait_for(lambda: command.exit_code is not None, timeout=5)
        return json_response({"command": command.view()})

    # --- files --------------------------------------------------------------------------------

    @staticmethod
    def _path(body: dict[str, Any]) -> str:
        path = str(body.get("path") or "")
        return posixpath.normpath(posixpath.join(str(body.get("cwd") or CWD), path))

    @route("/v2/sandboxes/sessions/<session_id>/fs/read", methods=["POST"])
    def read_file(self, request: Request, session_id: str) -> Response:
        """A file's bytes; 404 with an empty body when there is none."""
        session, refused = self._session(request, session_id)
        if refused:
            return refused
        assert session is not None
        path = self._path(request.get_json(silent=True) or {})
        sandbox = self._sandbox(session["_sandbox"])
        if not sandbox.filesystem.exists(path):
            return Response(b"", status=404)
        try:
            data = sandbox.filesystem.read_bytes(path)
        except Exception as exc:  # a directory, say
            return error(400, "bad_request", f"cannot read {path}: {exc}")
        return Response(data, mimetype="application/octet-stream")

    @route("/v2/sandboxes/sessions/<session_id>/fs/write", methods=["POST"])
    def write_files(self, request: Request, session_id: str) -> Response:
        """Extract a gzipped tar below ``x-cwd`` (parents made as needed)."""
        session, refused = self._session(request, session_id)
        if refused:
            return refused
        assert session is not None
        if request.mimetype != "application/gzip":
            return error(400, "bad_request", "the body must be a gzipped tar (application/gzip)")
        root = request.headers.get("x-cwd") or CWD
        sandbox = self._sandbox(session["_sandbox"])
        try:
            with tarfile.open(fileobj=io.BytesIO(request.get_data()), mode="r:gz") as archive:
                for member in archive.getmembers():
                    if member.name.startswith("/") or ".." in member.name.split("/"):
                        return error(400, "bad_request", f"entry {member.name!r} leaves the extract directory")
                    if member.isfile():
                        extracted = archive.extractfile(member)
                        assert extracted is not None
                        sandbox.filesystem.write_file(posixpath.join(root, member.name), extracted.read())
        except (tarfile.TarError, OSError, EOFError) as exc:
            return error(400, "bad_request", f"not a gzipped tar: {exc}")
        return json_response({})

    @route("/v2/sandboxes/sessions/<session_id>/fs/mkdir", methods=["POST"])
    def mkdir(self, request: Request, session_id: str) -> Response:
        """Make one directory (not recursive)."""
        session, refused = self._session(request, session_id)
        if refused:
            return refused
        assert session is not None
        path = self._path(request.get_json(silent=True) or {})
        made = self._sandbox(session["_sandbox"]).run_command(f"mkdir -- {shlex.quote(path)}")
        if made.exit_code != 0:
            return error(400, "bad_request", made.stderr.strip())
        return json_response({})

    # --- snapshots ----------------------------------------------------------------------------

    @route("/v2/sandboxes/snapshots", methods=["GET"])
    def list_snapshots(self, request: Request) -> Response:
        """The project's snapshots (one page)."""
        refused = self._refused(request) or self._project_refused(request, "project")
        if refused:
            return refused
        items = list(self.snapshots.values())
        return json_response({"snapshots": items, "pagination": {"count": len(items), "next": None}})

    @route("/v2/sandboxes/snapshots/<snapshot_id>", methods=["DELETE"])
    def delete_snapshot(self, request: Request, snapshot_id: str) -> Response:
        """Delete a snapshot; 410 snapshot_not_found when it is gone."""
        refused = self._refused(request)
        if refused:
            return refused
        snapshot = self.snapshots.pop(snapshot_id, None)
        if snapshot is None:
            return error(410, "snapshot_not_found", f"Snapshot {snapshot_id} not found")
        self.snapshot_data.pop(snapshot_id, None)
        return json_response({"snapshot": {**snapshot, "status": "deleted"}})


def _public(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if not key.startswith("_")}
