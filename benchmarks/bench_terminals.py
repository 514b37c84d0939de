#!/usr/bin/env python3
"""Benchmark of terminals on the local provider, printed as plain text (a script, not a test).

It measures:

* the PTY round trip: ``write()`` a command line to an interactive shell and wait until what the
  shell ran appears through ``on("output")`` (median and p95 over ``--iterations`` lines);
* foreground commands per second through an exec terminal (``command.run("true")``, one after
  the other, ``--commands`` of them).

The sandbox is destroyed at the end, also on Ctrl-C or SIGTERM, and is created with a short
lifetime, so an interrupted run leaves nothing behind for long.

Usage: ``python benchmarks/bench_terminals.py [--iterations 100] [--commands 200]``
"""

from __future__ import annotations

import argparse
import math
import queue
import signal
import statistics
import sys
import time
from typing import Any, NoReturn

from computesdk_core import compute

# Lifetime (seconds) of the benchmark sandbox: a leak outlives the benchmark only briefly.
SANDBOX_LIFETIME = 600
# Longest wait for one line's output before the run counts as broken.
LINE_DEADLINE = 30.0


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def pty_round_trips(sandbox: Any, iterations: int) -> list[float]:
    """Seconds from each ``write`` to the arrival of the shell's answer."""
    chunks: queue.Queue[str] = queue.Queue()
    terminal = sandbox.terminals.create(pty=True, shell="/bin/sh")
    try:
        terminal.on("output", chunks.put)
        times: list[float] = []
        for i in range(iterations):
            # The answer (R<i>X) differs from the echoed input (R$((i))X): only running it prints it.
            marker = f"R{i}X"
            seen = ""
            start = time.perf_counter()
            terminal.write(f"echo R$(({i}))X\n")
            deadline = time.monotonic() + LINE_DEADLINE
            while marker not in seen:
                seen += chunks.get(timeout=max(0.0, deadline - time.monotonic()))
            times.append(time.perf_counter() - start)
        return times
    finally:
        terminal.destroy()


def commands_per_second(sandbox: Any, count: int) -> float:
    """Foreground ``true`` commands per second through one exec terminal."""
    terminal = sandbox.terminals.create(pty=False)
    try:
        terminal.command.run("true")  # warm the connection
        start = time.perf_counter()
        for _ in range(count):
            result = terminal.command.run("true")
            if result.exit_code != 0:
                raise RuntimeError(f"'true' exited with {result.exit_code}")
        return count / (time.perf_counter() - start)
    finally:
        terminal.destroy()


def _stop(signum: int, _frame: object) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=100, help="PTY lines to time")
    parser.add_argument("--commands", type=int, default=200, help="exec-terminal commands to run")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    sandbox = compute(provider="local").sandbox.create(timeout=SANDBOX_LIFETIME)
    try:
        trips = pty_round_trips(sandbox, args.iterations)
        rate = commands_per_second(sandbox, args.commands)
    finally:
        sandbox.destroy()
    print(f"PTY echo round trip over {len(trips)} lines: median {statistics.median(trips) * 1000:.2f} ms, "
          f"p95 {percentile(trips, 0.95) * 1000:.2f} ms")
    print(f"exec terminal, foreground 'true': {rate:.1f} commands/s over {args.commands} commands")
    return 0


if __name__ == "__main__":
    sys.exit(main())
