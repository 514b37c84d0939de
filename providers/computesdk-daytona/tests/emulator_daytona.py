"""An emulator of Daytona: the control plane and the toolbox, each on its own loopback port.

As on Daytona's cloud the two are separate services: the control plane hands out sandbox objects
whose ``toolboxProxyUrl`` points at the toolbox server, which serves every sandbox below
``/toolbox/{sandboxId}``. Commands and files run for real in local sandboxes (LocalBackend).
Traffic is validated against Daytona's two OpenAPI documents (``daytona/api-openapi.yaml`` and
``daytona/toolbox-openapi.yaml``); error answers are left out of that check because neither
document describes error bodies.

What differs from Daytona: sessions do not keep a shell between commands (each command runs in a
fresh shell, which is all the plugin relies on), preview URLs lead nowhere, image builds
(``buildInfo``) are refused, a snapshot keeps only ``/home`` and ``/tmp`` (a tar archive
restored into the new sandbox), ``autoStopInterval`` is recorded but never fires.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import selectors
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import requests
import yaml
from werkzeug.wrappers import Request, Response

from computesdk_core.errors import CommandTimeoutError, ComputeSDKError, PathNotFoundError
from computesdk_core.testing.emulator import READ_ONLY_MOUNT_EXCLUDES, Emulator, LocalBackend, find_vendor_specs, json_response, route

DEFAULT_SNAPSHOT = "daytonaio/sandbox:0.4.3"
SPLIT_LOGS_SINCE = (0, 167, 0)
_LOCAL_LIFETIME = 3600.0
_SAVE = "/var/tmp/.daytona-emulator-snapshot.tgz"
_RESTORE = "/var/tmp/.daytona-emulator-restore.tgz"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _version(text: str | None) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in (text or "").lstrip("v").split(".")[:3])
    except ValueError:
        return ()


class _Command:
    """One session command running in a thread; its output kept as it arrives."""

    def __init__(self, command: str) -> None:
        self.id = uuid.uuid4().hex
        self.command = command
        self.lock = threading.Lock()
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.combined: list[str] = []
        self.exit_code: int | None = None
        self.done = threading.Event()
        self.pid_file = f"/tmp/.daytona-emulator-{self.id}.pid"

    def out(self, chunk: str) -> None:
        with self.lock:
            self.stdout.append(chunk)
            self.combined.append(chunk)

    def err(self, chunk: str) -> None:
        with self.lock:
            self.stderr.append(chunk)
            self.combined.append(chunk)

    def logs(self) -> tuple[str, str, str]:
        with self.lock:
            return "".join(self.stdout), "".join(self.stderr), "".join(self.combined)

    def run(self, box: Any) -> None:
        # The process group's id goes to a file first, so that deleting the session can kill it.
        script = f"echo $$ > {self.pid_file}\n{self.command}"
        try:
            code = box.run_command(script, on_stdout=self.out, on_stderr=self.err).exit_code
        except ComputeSDKError as exc:
            self.err(f"daytona emulator: {exc}\n")
            code = -1
        with self.lock:
            self.exit_code = code
        self.done.set()

    def kill(self, box: Any) -> None:
        deadline = time.monotonic() + 5
        while not self.done.is_set() and time.monotonic() < deadline:
            try:
                box.run_command(f"[ -s {self.pid_file} ] && kill -KILL -- -$(cat {self.pid_file})", timeout=10)
            except ComputeSDKError:
                return
            if self.done.wait(0.1):
                return


class _Sandbox:
    """A Daytona sandbox as the emulator keeps it: the object it returns, and its sessions."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.sessions: dict[str, dict[str, _Command]] = {}
        self.lock = threading.Lock()
        self.preview_token = uuid.uuid4().hex

    @property
    def id(self) -> str:
        return str(self.data["id"])


class DaytonaWorld:
    """State shared by the two servers: the key, the sandboxes and the local backend."""

    def __init__(self, api_key: str, backend: LocalBackend) -> None:
        self.api_key = api_key
        self.backend = backend
        self.sandboxes: dict[str, _Sandbox] = {}
        self.lock = threading.Lock()
        self.toolbox_url = ""
        self.failures: list[str] = []
        self.servers: list[Emulator] = []
        # Snapshot id -> (its object, the tar.gz of the sandbox's saved directories).
        self.snapshots: dict[str, tuple[dict[str, Any], bytes]] = {}

    def snapshot(self, key: str) -> tuple[dict[str, Any], bytes] | None:
        with self.lock:
            return self.snapshots.get(key) or next(
                (s for s in self.snapshots.values() if s[0]["name"] == key), None)

    def violations(self) -> list[str]:
        return [finding for server in self.servers for finding in server.violations]

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.api_key}"

    def sandbox(self, key: str) -> _Sandbox | None:
        with self.lock:
            found = self.sandboxes.get(key)
            if found is None:
                found = next((s for s in self.sandboxes.values() if s.data.get("name") == key
                              and s.data["state"] != "destroyed"), None)
        return found


class _DaytonaServer(Emulator):
    """Common parts of the two servers: the world, auth, error bodies, error answers not validated."""

    def __init__(self, world: DaytonaWorld) -> None:
        self.world = world
        super().__init__()

    def _validate_response(self, request: Request, response: Response) -> None:
        # Neither document describes error bodies; only successful answers can be checked.
        if response.status_code < 400:
            super()._validate_response(request, response)

    def error(self, request: Request, status: int, message: str) -> Response:
        raise NotImplementedError

    def denied(self, request: Request) -> Response | None:
        if self.world.authorized(request):
            return None
        return self.error(request, 401, "Invalid credentials")


class ControlPlane(_DaytonaServer):
    """``/sandbox...``: lifecycle, labels, auto-stop, activity, preview links, toolbox URL."""

    spec: ClassVar[str | None] = "daytona/api-openapi.yaml"
    unvalidated: ClassVar[tuple[str, ...]] = ("/_emulator/violations",)

    def error(self, request: Request, status: int, message: str) -> Response:
        phrase = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 409: "Conflict"}.get(status, "Error")
        return json_response({"path": request.path, "timestamp": _now(), "statusCode": status,
                              "error": phrase, "message": message}, status=status)

    def _live(self, request: Request, key: str) -> _Sandbox | Response:
        denied = self.denied(request)
        if denied is not None:
            return denied
        box = self.world.sandbox(key)
        if box is None or box.data["state"] == "destroyed":
            return self.error(request, 404, f"Sandbox with ID or name {key} not found")
        return box

    @route("/_emulator/violations", methods=["GET"])
    def report(self, request: Request) -> Response:
        """Not Daytona's: the findings of both servers, for the test process that started this one."""
        return json_response({"validating": self.validating, "violations": self.world.violations()})

    @route("/sandbox", methods=["POST"])
    def create_sandbox(self, request: Request) -> Response:
        denied = self.denied(request)
        if denied is not None:
            return denied
        body = request.get_json(silent=True) or {}
        for field in ("labels", "env"):
            if not isinstance(body.get(field, {}), dict):
                return self.error(request, 400, f"{field} must be an object")
        if body.get("buildInfo"):
            return self.error(request, 400, "the emulator cannot build images (buildInfo)")
        snapshot = body.get("snapshot") or DEFAULT_SNAPSHOT
        saved = self.world.snapshot(snapshot)
        if snapshot != DEFAULT_SNAPSHOT and (saved is None or saved[0]["state"] != "active"):
            return self.error(request, 404, f"Snapshot {snapshot} not found")
        sandbox_id = str(uuid.uuid4())
        now = _now()
        data: dict[str, Any] = {
            "id": sandbox_id, "organizationId": "emulator-organization", "name": body.get("name") or sandbox_id,
            "snapshot": snapshot, "user": body.get("user") or "daytona", "env": dict(body.get("env") or {}),
            "labels": dict(body.get("labels") or {}), "public": bool(body.get("public", False)),
            "networkBlockAll": bool(body.get("networkBlockAll", False)), "target": body.get("target") or "us",
            "cpu": 1, "gpu": 0, "memory": 1, "disk": 3, "state": "creating", "desiredState": "started",
            "autoStopInterval": body.get("autoStopInterval", 15), "autoArchiveInterval": 10080,
            "autoDeleteInterval": -1, "createdAt": now, "updatedAt": now, "lastActivityAt": now,
            "toolboxProxyUrl": self.world.toolbox_url, "daemonVersion": "0.190.0",
        }
        box = _Sandbox(data)
        with self.world.lock:
            self.world.sandboxes[sandbox_id] = box
        # Like Daytona, answer before the sandbox runs: the client polls until "started".
        threading.Thread(target=self._start, args=(box, saved[1] if saved else None), name=f"daytona-emulator-create-{sandbox_id[:8]}",
                         daemon=True).start()
        return json_response(data)

    def _start(self, box: _Sandbox, archive: bytes | None) -> None:
        try:
            local = self.world.backend.create(box.id, envs=box.data["env"], timeout=_LOCAL_LIFETIME)
            if archive is not None:
                local.filesystem.write_file(_RESTORE, archive)
                restored = local.run_command(f"tar -C / -xzf {_RESTORE} && rm -f {_RESTORE}", timeout=120)
                if restored.exit_code != 0:
                    raise ComputeSDKError(f"restoring the snapshot failed: {restored.stderr.strip()}")
        except ComputeSDKError as exc:
            box.data.update(state="error", errorReason=str(exc))
            self.world.failures.append(str(exc))
            return
        box.data.update(state="started", updatedAt=_now())

    @route("/sandbox", methods=["GET"])
    def list_sandboxes(self, request: Request) -> Response:
        denied = self.denied(request)
        if denied is not None:
            return denied
        wanted = json.loads(request.args["labels"]) if request.args.get("labels") else {}
        with self.world.lock:
            boxes = [b for b in self.world.sandboxes.values() if b.data["state"] != "destroyed"]
        boxes = [b for b in boxes if all(b.data["labels"].get(k) == v for k, v in wanted.items())]
        start = int(request.args.get("cursor") or 0)
        limit = int(float(request.args.get("limit") or 100))
        page = boxes[start:start + limit]
        more = start + limit < len(boxes)
        items = [{k: v for k, v in b.data.items() if k not in ("env", "networkBlockAll")} for b in page]
        return json_response({"items": items, "nextCursor": str(start + limit) if more else None})

    @route("/sandbox/<key>", methods=["GET"])
    def get_sandbox(self, request: Request, key: str) -> Response:
        box = self._live(request, key)
        return box if isinstance(box, Response) else json_response(box.data)

    @route("/sandbox/<key>", methods=["DELETE"])
    def delete_sandbox(self, request: Request, key: str) -> Response:
        box = self._live(request, key)
        if isinstance(box, Response):
            return box
        with box.lock:
            commands = [c for session in box.sessions.values() for c in session.values()]
            box.sessions.clear()
        local = self.world.backend.get(box.id)
        for command in commands:
            if local is not None:
                command.kill(local)
        self.world.backend.destroy(box.id)
        box.data.update(state="destroyed", desiredState="destroyed", updatedAt=_now())
        return json_response({**box.data, "state": "destroying"})

    def _transition(self, request: Request, key: str, allowed: set[str], state: str) -> Response:
        box = self._live(request, key)
        if isinstance(box, Response):
            return box
        if box.data["state"] not in allowed:
            return self.error(request, 400, f"Sandbox is {box.data['state']}, cannot become {state}")
        box.data.update(state=state, desiredState=state, updatedAt=_now())
        return json_response(box.data)

    @route("/sandbox/<key>/start", methods=["POST"])
    def start_sandbox(self, request: Request, key: str) -> Response:
        return self._transition(request, key, {"started", "stopped", "paused", "archived"}, "started")

    @route("/sandbox/<key>/stop", methods=["POST"])
    def stop_sandbox(self, request: Request, key: str) -> Response:
        return self._transition(request, key, {"started", "stopped"}, "stopped")

    @route("/sandbox/<key>/pause", methods=["POST"])
    def pause_sandbox(self, request: Request, key: str) -> Response:
        return self._transition(request, key, {"started", "paused"}, "paused")

    @route("/sandbox/<key>/archive", methods=["POST"])
    def archive_sandbox(self, request: Request, key: str) -> Response:
        return self._transition(request, key, {"stopped", "archived"}, "archived")

    @route("/sandbox/<key>/autostop/<int:interval>", methods=["POST"])
    def autostop(self, request: Request, key: str, interval: int) -> Response:
        box = self._live(request, key)
        if isinstance(box, Response):
            return box
        box.data.update(autoStopInterval=interval, updatedAt=_now())
        return Response(status=200)

    @route("/sandbox/<key>/last-activity", methods=["POST"])
    def last_activity(self, request: Request, key: str) -> Response:
        box = self._live(request, key)
        if isinstance(box, Response):
            return box
        box.data["lastActivityAt"] = _now()
        return Response(status=201)

    @route("/sandbox/<key>/labels", methods=["PUT"])
    def labels(self, request: Request, key: str) -> Response:
        box = self._live(request, key)
        if isinstance(box, Response):
            return box
        box.data["labels"] = dict((request.get_json(silent=True) or {}).get("labels") or {})
        return json_response({"labels": box.data["labels"]})

    @route("/sandbox/<key>/ports/<int:port>/preview-url", methods=["GET"])
    def preview_url(self, request: Request, key: str, port: int) -> Response:
        box = self._live(request, key)
        if isinstance(box, Response):
            return box
        return json_response({"sandboxId": box.id, "url": f"https://{port}-{box.id}.proxy.daytona.invalid",
                              "token": box.preview_token})

    @route("/sandbox/<key>/ports/<int:port>/signed-preview-url", methods=["GET"])
    def signed_preview_url(self, request: Request, key: str, port: int) -> Response:
        box = self._live(request, key)
        if isinstance(box, Response):
            return box
        token = uuid.uuid4().hex[:16]
        return json_response({"sandboxId": box.id, "port": port, "token": token,
                              "url": f"https://{port}-{token}.proxy.daytona.invalid"})

    @route("/sandbox/<key>/snapshot", methods=["POST"])
    def snapshot_sandbox(self, request: Request, key: str) -> Response:
        box = self._live(request, key)
        if isinstance(box, Response):
            return box
        name = str((request.get_json(silent=True) or {}).get("name") or "")
        if not name or self.world.snapshot(name) is not None:
            return self.error(request, 409, f"Snapshot {name!r} already exists or has no name")
        if box.data["state"] != "started":
            return self.error(request, 400, f"Sandbox is {box.data['state']}, not started")
        now = _now()
        snapshot = {"id": str(uuid.uuid4()), "organizationId": box.data["organizationId"], "general": False,
                    "name": name, "state": "pending", "size": None, "entrypoint": [], "cpu": 1, "gpu": 0, "mem": 1,
                    "disk": 3, "errorReason": None, "createdAt": now, "updatedAt": now, "lastUsedAt": None}
        with self.world.lock:
            self.world.snapshots[snapshot["id"]] = (snapshot, b"")
        box.data.update(state="snapshotting", updatedAt=now)
        threading.Thread(target=self._save, args=(box, snapshot), name=f"daytona-emulator-snapshot-{name[:16]}",
                         daemon=True).start()
        return json_response(box.data)

    def _save(self, box: _Sandbox, snapshot: dict[str, Any]) -> None:
        # What a snapshot keeps here: /home and /tmp (Daytona keeps the whole disk).
        local = self.world.backend.get(box.id)
        archive = b""
        try:
            saved = local.run_command(f"cd / && tar -czf {_SAVE} {READ_ONLY_MOUNT_EXCLUDES} --exclude='./tmp/.daytona-emulator-*' "
                                      f"$(ls -d ./home ./tmp 2>/dev/null)", timeout=120)
            if saved.exit_code != 0:
                raise ComputeSDKError(saved.stderr.strip() or "tar failed")
            archive = local.filesystem.read_bytes(_SAVE)
            local.run_command(f"rm -f {_SAVE}", timeout=30)
            snapshot.update(state="active", size=round(len(archive) / 2**30, 6))
        except (ComputeSDKError, AttributeError) as exc:
            snapshot.update(state="error", errorReason=str(exc))
        snapshot["updatedAt"] = _now()
        with self.world.lock:
            self.world.snapshots[snapshot["id"]] = (snapshot, archive)
        box.data.update(state="started", updatedAt=_now())

    @route("/snapshots", methods=["GET"])
    def list_snapshots(self, request: Request) -> Response:
        denied = self.denied(request)
        if denied is not None:
            return denied
        with self.world.lock:
            items = [s for s, _ in self.world.snapshots.values()]
        if request.args.get("name"):
            items = [s for s in items if request.args["name"] in s["name"]]
        limit = int(float(request.args.get("limit") or 100))
        page = int(float(request.args.get("page") or 1))
        pages = max(1, -(-len(items) // limit))
        return json_response({"items": items[(page - 1) * limit:page * limit], "total": len(items), "page": page,
                              "totalPages": pages})

    @route("/snapshots/<key>", methods=["GET"])
    def get_snapshot(self, request: Request, key: str) -> Response:
        denied = self.denied(request)
        if denied is not None:
            return denied
        found = self.world.snapshot(key)
        return json_response(found[0]) if found else self.error(request, 404, f"Snapshot {key} not found")

    @route("/snapshots/<key>", methods=["DELETE"])
    def delete_snapshot(self, request: Request, key: str) -> Response:
        denied = self.denied(request)
        if denied is not None:
            return denied
        with self.world.lock:
            found = self.world.snapshots.pop(key, None)
        return Response(status=200) if found else self.error(request, 404, f"Snapshot {key} not found")

    @route("/sandbox/<key>/toolbox-proxy-url", methods=["GET"])
    def toolbox_proxy_url(self, request: Request, key: str) -> Response:
        box = self._live(request, key)
        return box if isinstance(box, Response) else json_response({"url": self.world.toolbox_url})


class Toolbox(_DaytonaServer):
    """``/toolbox/{sandboxId}/...``: process execute, sessions and files of every sandbox."""

    spec: ClassVar[str | None] = "daytona/toolbox-openapi.yaml"

    def _load_spec(self) -> Any:
        # The document's paths start below the sandbox id, which Daytona's proxy puts in front.
        folder = find_vendor_specs()
        if self.spec is None or folder is None or not (folder / self.spec).is_file():
            return None
        from openapi_core import OpenAPI

        document = yaml.safe_load((folder / self.spec).read_text())
        document["servers"] = [{"url": "/toolbox/{sandboxId}", "variables": {"sandboxId": {"default": "id"}}}]
        return OpenAPI.from_dict(document)

    def error(self, request: Request, status: int, message: str) -> Response:
        return json_response({"statusCode": status, "message": message, "code": "ERROR", "timestamp": _now(),
                              "path": request.path, "method": request.method}, status=status)

    def _local(self, request: Request, sandbox_id: str) -> tuple[_Sandbox, Any] | Response:
        denied = self.denied(request)
        if denied is not None:
            return denied
        box = self.world.sandbox(sandbox_id)
        if box is None or box.data["state"] == "destroyed":
            return self.error(request, 404, f"sandbox {sandbox_id} not found")
        local = self.world.backend.get(box.id)
        if box.data["state"] != "started" or local is None:
            return self.error(request, 409, f"sandbox {sandbox_id} is not running ({box.data['state']})")
        return box, local

    # --- processes ----------------------------------------------------------------------------

    @route("/toolbox/<sandbox_id>/process/execute", methods=["POST"])
    def execute(self, request: Request, sandbox_id: str) -> Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        _, local = found
        body = request.get_json(silent=True) or {}
        envs = dict(body.get("envs") or {})
        if any(not key or not (key[0].isalpha() or key[0] == "_") or not key.replace("_", "").isalnum() for key in envs):
            return self.error(request, 400, "invalid environment variable name")
        combined: list[str] = []
        timeout = body.get("timeout") or None
        # Daytona gives the command one pipe for both streams, so the output keeps the order of writes.
        try:
            result = local.run_command(f"{{\n{body['command']}\n}} 2>&1", cwd=body.get("cwd"), env=envs,
                                       timeout=timeout, on_stdout=combined.append, on_stderr=combined.append)
        except CommandTimeoutError:
            return self.error(request, 408, "command execution timeout")
        return json_response({"exitCode": result.exit_code, "result": "".join(combined)})

    @route("/toolbox/<sandbox_id>/process/session", methods=["POST"])
    def create_session(self, request: Request, sandbox_id: str) -> Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        box, _ = found
        session_id = str((request.get_json(silent=True) or {}).get("sessionId") or "")
        with box.lock:
            if not session_id or session_id in box.sessions:
                return self.error(request, 409, f"session {session_id!r} already exists or has no id")
            box.sessions[session_id] = {}
        return Response(status=201)

    def _session(self, request: Request, sandbox_id: str, session_id: str) -> tuple[_Sandbox, Any, dict[str, _Command]] | Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        box, local = found
        with box.lock:
            session = box.sessions.get(session_id)
        if session is None:
            return self.error(request, 404, f"session {session_id} not found")
        return box, local, session

    @route("/toolbox/<sandbox_id>/process/session/<session_id>", methods=["DELETE"])
    def delete_session(self, request: Request, sandbox_id: str, session_id: str) -> Response:
        found = self._session(request, sandbox_id, session_id)
        if isinstance(found, Response):
            return found
        box, local, session = found
        with box.lock:
            box.sessions.pop(session_id, None)
        for command in list(session.values()):
            command.kill(local)
        return Response(status=204)

    @route("/toolbox/<sandbox_id>/process/session/<session_id>/exec", methods=["POST"])
    def session_exec(self, request: Request, sandbox_id: str, session_id: str) -> Response:
        found = self._session(request, sandbox_id, session_id)
        if isinstance(found, Response):
            return found
        box, local, session = found
        body = request.get_json(silent=True) or {}
        command = _Command(str(body.get("command") or ""))
        with box.lock:
            session[command.id] = command
        if body.get("runAsync") or body.get("async"):
            threading.Thread(target=command.run, args=(local,), name=f"daytona-emulator-cmd-{command.id[:8]}",
                             daemon=True).start()
            return json_response({"cmdId": command.id}, status=202)
        command.run(local)
        stdout, stderr, output = command.logs()
        return json_response({"cmdId": command.id, "output": output, "stdout": stdout, "stderr": stderr,
                              "exitCode": command.exit_code})

    def _command(self, request: Request, sandbox_id: str, session_id: str, command_id: str) -> _Command | Response:
        found = self._session(request, sandbox_id, session_id)
        if isinstance(found, Response):
            return found
        command = found[2].get(command_id)
        return command if command is not None else self.error(request, 404, f"command {command_id} not found")

    @route("/toolbox/<sandbox_id>/process/session/<session_id>/command/<command_id>", methods=["GET"])
    def command_status(self, request: Request, sandbox_id: str, session_id: str, command_id: str) -> Response:
        command = self._command(request, sandbox_id, session_id, command_id)
        if isinstance(command, Response):
            return command
        body: dict[str, Any] = {"id": command.id, "command": command.command}
        with command.lock:
            if command.exit_code is not None:
                body["exitCode"] = command.exit_code
        return json_response(body)

    @route("/toolbox/<sandbox_id>/process/session/<session_id>/command/<command_id>/logs", methods=["GET"])
    def command_logs(self, request: Request, sandbox_id: str, session_id: str, command_id: str) -> Response:
        command = self._command(request, sandbox_id, session_id, command_id)
        if isinstance(command, Response):
            return command
        if request.args.get("follow") == "true":
            return self.error(request, 400, "following logs needs a WebSocket connection")
        stdout, stderr, output = command.logs()
        if _version(request.headers.get("X-Daytona-SDK-Version")) >= SPLIT_LOGS_SINCE:
            return json_response({"output": output, "stdout": stdout, "stderr": stderr})
        return Response(output, mimetype="text/plain")

    # --- files --------------------------------------------------------------------------------

    def _info(self, local: Any, path: str) -> dict[str, Any] | None:
        if not local.filesystem.exists(path):
            return None
        parent, name = posixpath.split(path.rstrip("/") or "/")
        entry = None
        if name:
            entry = next((e for e in local.filesystem.readdir(parent or "/") if e.name == name), None)
        is_dir = entry is None or entry.type == "directory"
        modified = entry.modified if entry is not None else dt.datetime.now(dt.timezone.utc)
        return _file_info(name or "/", is_dir, entry.size if entry is not None else 0, modified)

    @route("/toolbox/<sandbox_id>/files/download", methods=["GET"])
    def download(self, request: Request, sandbox_id: str) -> Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        path = request.args.get("path", "")
        try:
            data = found[1].filesystem.read_bytes(path)
        except PathNotFoundError:
            return self.error(request, 404, f"file not found: {path}")
        except ComputeSDKError as exc:
            return self.error(request, 400, str(exc))
        return Response(data, mimetype="application/octet-stream")

    @route("/toolbox/<sandbox_id>/files/upload", methods=["POST"])
    def upload(self, request: Request, sandbox_id: str) -> Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        path = request.args.get("path", "")
        upload = request.files.get("file")
        if upload is None:
            return self.error(request, 400, "multipart part 'file' is missing")
        parent = posixpath.dirname(path)
        # Whether Daytona creates missing parents is not documented: refuse, so callers make them first.
        if parent and not found[1].filesystem.exists(parent):
            return self.error(request, 400, f"directory {parent} does not exist")
        found[1].filesystem.write_file(path, upload.read())
        return Response(status=200)

    @route("/toolbox/<sandbox_id>/files/folder", methods=["POST"])
    def folder(self, request: Request, sandbox_id: str) -> Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        found[1].filesystem.mkdir(request.args.get("path", ""))
        return Response(status=201)

    @route("/toolbox/<sandbox_id>/files", methods=["GET"])
    def list_files(self, request: Request, sandbox_id: str) -> Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        path = request.args.get("path", "")
        try:
            entries = found[1].filesystem.readdir(path)
        except PathNotFoundError:
            return self.error(request, 404, f"directory not found: {path}")
        return json_response([_file_info(e.name, e.type == "directory", e.size, e.modified) for e in entries])

    @route("/toolbox/<sandbox_id>/files/info", methods=["GET"])
    def file_info(self, request: Request, sandbox_id: str) -> Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        info = self._info(found[1], request.args.get("path", ""))
        return json_response(info) if info is not None else self.error(request, 404, "file not found")

    @route("/toolbox/<sandbox_id>/files", methods=["DELETE"])
    def delete_file(self, request: Request, sandbox_id: str) -> Response:
        found = self._local(request, sandbox_id)
        if isinstance(found, Response):
            return found
        path = request.args.get("path", "")
        info = self._info(found[1], path)
        if info is None:
            return self.error(request, 404, f"file not found: {path}")
        if info["isDir"] and request.args.get("recursive") != "true":
            return self.error(request, 400, "cannot delete a directory without recursive=true")
        found[1].filesystem.remove(path)
        return Response(status=204)


def _file_info(name: str, is_dir: bool, size: int, modified: dt.datetime) -> dict[str, Any]:
    return {"name": name, "isDir": is_dir, "size": size, "mode": "drwxr-xr-x" if is_dir else "-rw-r--r--",
            "permissions": "0755" if is_dir else "0644", "owner": "daytona", "group": "daytona",
            "modTime": str(modified), "modifiedAt": modified.isoformat().replace("+00:00", "Z")}


class DaytonaEmulator:
    """Both servers around one world; ``url`` is the control plane's base URL (the ``api_url``)."""

    def __init__(self, api_key: str = "emulator-daytona-key", isolation: str = "bwrap") -> None:
        self.api_key = api_key
        self.backend = LocalBackend(isolation=isolation)
        self.world = DaytonaWorld(api_key, self.backend)
        self.control = ControlPlane(self.world)
        self.toolbox = Toolbox(self.world)
        self.world.servers = [self.control, self.toolbox]

    @property
    def url(self) -> str:
        """Base URL of the control plane."""
        return self.control.url

    @property
    def validating(self) -> bool:
        """Whether both servers check traffic against Daytona's documents."""
        return self.control.validating and self.toolbox.validating

    @property
    def violations(self) -> list[str]:
        """Every mismatch with Daytona's documents, from both servers."""
        return [*self.control.violations, *self.toolbox.violations]

    def start(self) -> DaytonaEmulator:
        """Start both servers."""
        self.control.start()
        self.toolbox.start()
        self.world.toolbox_url = f"{self.toolbox.url}/toolbox"
        return self

    def stop(self) -> None:
        """Stop both servers and destroy every local sandbox."""
        self.control.stop()
        self.toolbox.stop()
        self.backend.close()

    def __enter__(self) -> DaytonaEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class EmulatorProcess:
    """A :class:`DaytonaEmulator` in a child process, so that its threads never mix with the SDK's.

    ``url`` is the control plane (the ``api_url``), ``api_key`` the key it accepts.
    """

    def __init__(self, url: str, api_key: str, process: subprocess.Popen[str]) -> None:
        self.url = url
        self.api_key = api_key
        self.process = process

    def report(self) -> tuple[bool, list[str]]:
        """Whether the child validates against Daytona's documents, and what did not match."""
        data = requests.get(f"{self.url}/_emulator/violations", timeout=30).json()
        return bool(data["validating"]), list(data["violations"])


@contextmanager
def spawn(api_key: str = "emulator-daytona-key", isolation: str = "bwrap", ready_within: float = 60) -> Iterator[EmulatorProcess]:
    """Run the emulator in a child process for the ``with`` block; it ends when its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), api_key, isolation], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, cwd=os.getcwd(),
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=ready_within):
                raise RuntimeError(f"the Daytona emulator did not start within {ready_within} s")
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the Daytona emulator exited before it was ready")
        yield EmulatorProcess(json.loads(line)["url"], api_key, process)
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _serve(api_key: str, isolation: str) -> None:
    import logging

    # One line per request would drown the test output; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with DaytonaEmulator(api_key=api_key, isolation=isolation) as emulator:
        print(json.dumps({"url": emulator.url}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
