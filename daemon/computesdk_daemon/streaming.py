"""Two-phase streamed commands: created over HTTP, started and followed over the WebSocket."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from computesdk_core.protocol import Message
from computesdk_daemon.command_spec import CommandSpec
from computesdk_daemon.errors import ApiError
from computesdk_daemon.exec_terminals import TERMINALS, CommandRecord, follow, new_command_id
from computesdk_daemon.hub import HUB, Connection
from computesdk_daemon.output import TextSink
from computesdk_daemon.processes import SUPERVISOR, Child

# A created command that no client starts within this many seconds is dropped.
PENDING_TTL = 60.0


def channel_of(cmd_id: str) -> str:
    """The WebSocket channel a streamed command's messages go to."""
    return f"command:{cmd_id}"


@dataclass
class PendingStream:
    """A streamed command waiting for its ``command:start``."""

    cmd_id: str
    channel: str
    spec: CommandSpec
    expiry: asyncio.TimerHandle


class StreamRegistry:
    """Pending streamed commands, and the ``command:start`` handler that runs them."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._pending: dict[str, PendingStream] = {}

    def create(self, spec: CommandSpec) -> PendingStream:
        """Register a command to start later; its output will go to the returned channel."""
        cmd_id = new_command_id()
        expiry = asyncio.get_running_loop().call_later(PENDING_TTL, self._pending.pop, cmd_id, None)
        pending = PendingStream(cmd_id, channel_of(cmd_id), spec, expiry)
        self._pending[cmd_id] = pending
        return pending

    async def on_start(self, connection: Connection, message: Message) -> None:
        """``command:start {cmd_id}`` from a client subscribed to the command's channel.

        A start that cannot be honoured is answered with ``command:error {cmd_id, error}`` on
        the command's channel, so a client waiting for that command hears about it.
        """
        cmd_id = message.data.get("cmd_id") if isinstance(message.data, dict) else None
        if not isinstance(cmd_id, str) or not cmd_id:
            raise ApiError(400, "command:start needs a 'cmd_id'")
        pending = self._pending.get(cmd_id)
        channel = pending.channel if pending else channel_of(cmd_id)
        if pending is None:
            problem = f"no pending command {cmd_id} (unknown, expired or already started)"
        elif channel not in connection.channels:
            problem = f"subscribe to {channel} before starting {cmd_id}"
        else:
            problem = None
        if problem is not None or pending is None:
            await connection.send(Message("command:error", channel, {"cmd_id": cmd_id, "error": problem}))
            return
        del self._pending[cmd_id]
        pending.expiry.cancel()
        spec = pending.spec
        supervisor = self._app[SUPERVISOR]
        terminal = self._app[TERMINALS].implicit
        try:
            child = supervisor.spawn(spec.argv, cwd=spec.cwd, env=spec.env)
        except OSError as exc:
            error = f"could not start the command: {exc.strerror or exc}"
            data = {"terminal_id": terminal.id, "cmd_id": cmd_id, "error": error}
            await self._app[HUB].publish(channel, "command:error", data)
            return
        record = terminal.new_command(spec.command, cmd_id)
        supervisor.track(asyncio.ensure_future(self._run(connection, child, record, pending)))

    async def _run(
        self, connection: Connection, child: Child, record: CommandRecord, pending: PendingStream
    ) -> None:
        hub = self._app[HUB]

        def publisher(message_type: str) -> TextSink:
            async def publish(text: str) -> None:
                data = {"terminal_id": record.terminal_id, "cmd_id": record.cmd_id, "output": text}
                await hub.publish(pending.channel, message_type, data)

            return publish

        # The client that started the command owns it: when its socket goes, so does the command.
        cancel_kill = connection.on_close(child.kill_group)
        try:
            outcome = await follow(
                self._app[SUPERVISOR],
                child,
                record,
                pending.spec.timeout,
                on_stdout=publisher("command:stdout"),
                on_stderr=publisher("command:stderr"),
            )
        finally:
            cancel_kill()
        data: dict[str, Any] = {
            "terminal_id": record.terminal_id,
            "cmd_id": record.cmd_id,
            "exit_code": outcome.exit_code,
            "duration_ms": outcome.duration_ms,
        }
        if outcome.timed_out:
            data["timed_out"] = True
        await hub.publish(pending.channel, "command:exit", data)


STREAMS = web.AppKey("streams", StreamRegistry)


def setup(app: web.Application) -> None:
    """Attach the registry and take ``command:start`` messages (after websocket.setup)."""
    registry = StreamRegistry(app)
    app[STREAMS] = registry
    app[HUB].add_handler("command:start", registry.on_start)
