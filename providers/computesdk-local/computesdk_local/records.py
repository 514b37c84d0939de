"""The registry record of a local sandbox (``record.json``) and the native handle users get back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from computesdk_local.layout import SandboxDir, write_atomic
from computesdk_local.procs import ProcessRef

STARTING = "starting"
RUNNING = "running"


def _utc(value: str | dt.datetime) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _process(value: Mapping[str, Any] | ProcessRef | None) -> ProcessRef | None:
    if value is None or isinstance(value, ProcessRef):
        return value
    return ProcessRef(pid=int(value["pid"]), start_time=int(value["start_time"]))


@attrs.define
class LocalRecord:
    """What ``record.json`` holds: everything another process needs to find, reach and kill the sandbox.

    The access token is not here (it has its own file, mode 0600), nor are the create ``envs``
    (they may hold secrets). ``launcher`` is the first host process of the sandbox (bubblewrap's
    outer process, or the daemon itself with isolation "none"); ``init`` is the first process of
    the sandbox's PID namespace (killing it ends every process inside).
    """

    id: str
    created_at: dt.datetime = attrs.field(converter=_utc)
    timeout: float
    expires_at: dt.datetime = attrs.field(converter=_utc)
    isolation: str
    network: str
    status: str = STARTING
    name: str | None = None
    namespace: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    port: int | None = None
    url: str | None = None
    launcher: ProcessRef | None = attrs.field(default=None, converter=_process)
    init: ProcessRef | None = attrs.field(default=None, converter=_process)
    forwarder: ProcessRef | None = attrs.field(default=None, converter=_process)
    runtime: str = "python"

    def to_json(self) -> str:
        """Serialise for ``record.json``."""
        data = attrs.asdict(self, recurse=True)
        data["created_at"] = self.created_at.isoformat()
        data["expires_at"] = self.expires_at.isoformat()
        return json.dumps(data, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LocalRecord:
        """Parse ``record.json``; raises ValueError or TypeError for a malformed one."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise TypeError("record is not a JSON object")
        return cls(**data)

    def processes(self) -> list[ProcessRef]:
        """Every host process this record knows of, the PID-namespace init first."""
        return [p for p in (self.init, self.launcher, self.forwarder) if p is not None]


def save(directory: SandboxDir, record: LocalRecord) -> None:
    """Write the record atomically, readable by this user only."""
    write_atomic(directory.record, record.to_json())


def load(directory: SandboxDir) -> LocalRecord | None:
    """Read the record; None when the file is missing or unreadable as a record."""
    try:
        return LocalRecord.from_json(directory.record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None


@attrs.define
class LocalSandbox:
    """The local provider's native handle (``Sandbox.get_instance()``).

    ``url`` is where the sandbox's daemon answers on the host's loopback; ``dir`` is the sandbox's
    directory on the host, where everything it writes lands.
    """

    id: str
    url: str
    token: str = attrs.field(repr=False)
    dir: Path
    isolation: str
    network: str
    expires_at: dt.datetime
