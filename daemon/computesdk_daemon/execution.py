"""Running one child to its end: output pumping, the timeout that kills its whole group."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from computesdk_daemon.output import OutputPump, TextSink
from computesdk_daemon.processes import Child, ProcessSupervisor

# How long output written after the leader's exit is still collected. Longer-lived members of
# the group (``cmd &``) may keep the pipes open, and the daemon must not wait for them.
DRAIN_GRACE = 0.5


@dataclass(frozen=True)
class Outcome:
    """How a child ended."""

    exit_code: int
    duration_ms: int
    timed_out: bool


async def run_child(
    supervisor: ProcessSupervisor,
    child: Child,
    stdout_sink: TextSink,
    stderr_sink: TextSink | None,
    timeout: float | None,
    started: float | None = None,
) -> Outcome:
    """Feed the child's output to the sinks until it exits or ``timeout`` seconds pass.

    On timeout the whole process group is SIGKILLed at once (exit code 137). Everything
    written before the leader's exit is delivered, however slow the sinks are; what comes
    later is delivered for at most ``DRAIN_GRACE`` seconds, then the pipes are drained in the
    background (and the text dropped) until their writers are gone.
    """
    started = time.monotonic() if started is None else started
    pumps: list[OutputPump] = []
    if child.stdout is not None:
        pumps.append(OutputPump(child.stdout, stdout_sink))
    if child.stderr is not None and stderr_sink is not None:
        pumps.append(OutputPump(child.stderr, stderr_sink))
    for pump in pumps:
        supervisor.track(pump.task)
    timed_out = False
    try:
        exit_code = await asyncio.wait_for(child.wait(), timeout)
    except asyncio.TimeoutError:
        timed_out = True
        child.kill_group()
        exit_code = await child.wait()
    except asyncio.CancelledError:
        child.kill_group()
        raise
    duration_ms = int((time.monotonic() - started) * 1000)
    targets = [pump.written() for pump in pumps]
    await asyncio.gather(*(pump.consume_through(target) for pump, target in zip(pumps, targets, strict=True)))
    tasks = [pump.task for pump in pumps]
    if tasks:
        await asyncio.wait(tasks, timeout=DRAIN_GRACE)
    for pump in pumps:
        pump.detach()
    return Outcome(exit_code=exit_code, duration_ms=duration_ms, timed_out=timed_out)
