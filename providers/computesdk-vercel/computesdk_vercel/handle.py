"""The native handle of a Vercel sandbox: its name, its current session, its routes.

Vercel sandboxes are addressed by name, but commands and files go to the sandbox's *current
session* (one VM). A session stops (timeout, :meth:`VercelSandbox.stop`, a snapshot) and the
next call then answers 410; :meth:`VercelSandbox.call` resumes the sandbox (a new session
from its saved file system) and repeats the call once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from computesdk_core import errors
from computesdk_vercel.api import VercelAPI, field
from computesdk_vercel.config import PROVIDER

T = TypeVar("T")
# Session states from which a session never comes back (the sandbox resumes into a new one).
ENDED = ("stopped", "failed", "aborted")
# States of a session on its way to ENDED; a call in between answers 422.
ENDING = ("stopping", "snapshotting")
POLL_INTERVAL = 0.25


class VercelSandbox:
    """A Vercel sandbox as ``sandbox.get_instance()`` returns it.

    ``sandbox``, ``session`` and ``routes`` are what the API last said. Beyond the common
    interface: :meth:`stop` (end the session, keep the sandbox and its files), :meth:`resume`,
    :meth:`refresh` and :meth:`url`.
    """

    def __init__(self, api: VercelAPI, answer: Mapping[str, Any]) -> None:
        self.api = api
        self._lock = threading.Lock()
        self.sandbox: dict[str, Any] = field(answer, "sandbox", "the sandbox answer")
        self.session: dict[str, Any] | None = None
        self.routes: list[dict[str, Any]] = []
        self._take(answer)

    def __repr__(self) -> str:
        return f"VercelSandbox({self.name!r}, session={self.session_id!r})"

    @property
    def name(self) -> str:
        """The sandbox's name (computesdk's sandbox id)."""
        return str(self.sandbox["name"])

    @property
    def session_id(self) -> str | None:
        """The id of the session calls go to, when one is known."""
        if self.session and self.session.get("id"):
            return str(self.session["id"])
        current = self.sandbox.get("currentSessionId")
        return str(current) if current else None

    def _take(self, answer: Mapping[str, Any]) -> None:
        if isinstance(answer.get("sandbox"), dict):
            self.sandbox = answer["sandbox"]
        if isinstance(answer.get("session"), dict):
            self.session = answer["session"]
        if isinstance(answer.get("routes"), list):
            self.routes = [route for route in answer["routes"] if isinstance(route, dict)]

    def refresh(self) -> dict[str, Any]:
        """Fetch the sandbox as it is now (without resuming it); SandboxNotFoundError when it was deleted."""
        answer = self.api.get_sandbox(self.name)
        if answer is None:
            raise errors.SandboxNotFoundError(f"vercel sandbox {self.name} does not exist")
        with self._lock:
            self._take(answer)
        return self.sandbox

    def resume(self) -> str:
        """Make sure the sandbox has a running session (starting one from its saved files); return its id."""
        answer = self.api.get_sandbox(self.name, resume=True)
        if answer is None:
            raise errors.SandboxNotFoundError(f"vercel sandbox {self.name} does not exist (it was deleted)")
        with self._lock:
            self._take(answer)
        return self._await_running()

    def stop(self) -> None:
        """Stop the current session without deleting the sandbox; the next call resumes it."""
        session_id = self.session_id
        if session_id is None:
            return
        try:
            answer = self.api.stop_session(session_id)
        except errors.NotFoundError:
            return  # 410: it had stopped already
        with self._lock:
            self._take(answer)

    def url(self, port: int, protocol: str = "https") -> str:
        """The public URL of ``port``, from the routes of the ports declared at create."""
        for route in self.routes:
            if route.get("port") == port:
                base = str(route.get("url") or f"https://{route['subdomain']}.vercel.run")
                return f"{protocol}://{base.split('://', 1)[-1]}"
        declared = sorted(int(route["port"]) for route in self.routes if isinstance(route.get("port"), int))
        raise errors.ValidationError(
            f"vercel sandbox {self.name} has no route for port {port}: Vercel only exposes ports declared at "
            f"create; pass ports=[..., {port}] to sandbox.create (declared: {declared or 'none'})"
        )

    def call(self, operation: Callable[[str], T]) -> T:
        """Run ``operation(session_id)``; when the session has stopped, resume the sandbox and run it once more."""
        session_id = self.session_id or self.resume()
        try:
            return operation(session_id)
        except errors.NotFoundError as exc:
            if getattr(exc, "status_code", None) != 410:
                raise
        except errors.ProviderAPIError as exc:
            if getattr(exc, "status_code", None) != 422 or not self._ended_after_wait(session_id):
                raise
        return operation(self._resumed_since(session_id))

    def _resumed_since(self, failed: str) -> str:
        # Another thread may have resumed already; only resume when we still point at the stopped session.
        with self._lock:
            current = self.session_id
        if current is not None and current != failed:
            return current
        return self.resume()

    def _ended_after_wait(self, session_id: str) -> bool:
        """For a 422: whether the session was stopping or snapshotting and has now ended (bounded wait)."""
        deadline = time.monotonic() + self.api.config["create_timeout"]
        while True:
            status = field(self.api.get_session(session_id), "session", "GET session").get("status")
            if status in ENDED:
                return True
            if status not in ENDING or time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL)

    def _await_running(self) -> str:
        timeout = self.api.config["create_timeout"]
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                session_id, status = self.session_id, (self.session or {}).get("status", "running")
            if session_id is None:
                raise errors.ProviderAPIError(f"vercel sandbox {self.name} has no session after resuming",
                                              status_code=None, provider=PROVIDER, request_id=None)
            if status == "running":
                return session_id
            if status in ENDED:
                raise errors.ProviderAPIError(f"vercel session {session_id} of {self.name} ended as {status!r}",
                                              status_code=None, provider=PROVIDER, request_id=None)
            if time.monotonic() >= deadline:
                raise errors.OperationTimeoutError(
                    f"vercel session {session_id} of {self.name} was still {status!r} after {timeout:g} s")
            time.sleep(POLL_INTERVAL)
            answer = self.api.get_session(session_id)
            with self._lock:
                self._take(answer)

    def wait_until_running(self) -> str:
        """Wait (bounded by ``create_timeout``) until the current session runs; return its id."""
        return self._await_running()
