#!/usr/bin/env python3
"""Benchmark of file watchers on the local provider, printed as plain text (a script, not a test).

It measures the latency from a file write to the watcher's ``change`` handler in the client:

* **in-sandbox writes**: a process inside the sandbox writes ``--events`` files, each holding
  the wall-clock time taken just before it was opened; the handler (``include_content=True``)
  subtracts that from its own clock. The sandbox shares the host's clock, so this is the
  whole path: inotify, the daemon, the WebSocket, the client's reader and event threads.
* **client writes**: ``sandbox.files.create()`` from this process, timed from the call to the
  handler, so it also holds the HTTP request of the write.

Median and p95 of each are printed. The sandbox is destroyed at the end, also on Ctrl-C or SIGTERM.

Usage: ``python benchmarks/bench_watchers.py [--events 100] [--interval 0.02]``
"""

from __future__ import annotations

import argparse
import math
import signal
import statistics
import threading
import time
from types import FrameType
from typing import NoReturn

from computesdk_core import compute
from computesdk_core.namespaces.watchers import FileChangeEvent

WATCHED = "/bench-watch"
EVENT_DEADLINE = 60.0
SANDBOX_LIFETIME = 600

_WRITER = """
import sys, time
count, interval = int(sys.argv[1]), float(sys.argv[2])
for i in range(count):
    stamp = repr(time.time())
    with open(f"{WATCHED}/inside-{i:04d}.txt", "w") as handle:
        handle.write(stamp)
    time.sleep(interval)
"""


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _report(title: str, seconds: list[float], wanted: int) -> None:
    millis = [value * 1000 for value in seconds]
    if not millis:
        print(f"{title}: no events arrived")
        return
    print(f"{title}: {len(millis)}/{wanted} events, median {statistics.median(millis):.2f} ms, "
          f"p95 {_p95(millis):.2f} ms, min {min(millis):.2f} ms, max {max(millis):.2f} ms")


def _interrupted(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100, help="writes per measurement (at least 50)")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between writes")
    args = parser.parse_args()
    count = max(50, args.events)
    signal.signal(signal.SIGTERM, _interrupted)

    sandbox = compute(provider="local").sandbox.create(timeout=SANDBOX_LIFETIME, metadata={"bench": "watchers"})
    try:
        sandbox.filesystem.mkdir(WATCHED)
        inside: list[float] = []
        client_side: list[float] = []
        started_at: dict[str, float] = {}
        lock = threading.Lock()
        both_done = threading.Event()

        def on_change(event: FileChangeEvent) -> None:
            now = time.time()
            name = event.path.rsplit("/", 1)[-1]
            if event.event not in ("add", "change"):
                return
            with lock:
                if name.startswith("inside-") and isinstance(event.content, str) and event.content:
                    inside.append(now - float(event.content))
                elif name in started_at:
                    client_side.append(time.perf_counter() - started_at.pop(name))
                if len(inside) >= count and len(client_side) >= count:
                    both_done.set()

        with sandbox.watchers.create(WATCHED, include_content=True) as watcher:
            watcher.on("change", on_change)
            script = _WRITER.replace("{WATCHED}", WATCHED)
            sandbox.filesystem.write_file("/tmp/bench_writer.py", script)
            print(f"writing {count} files inside the sandbox, {args.interval * 1000:.0f} ms apart ...")
            sandbox.run_command(f"python3 /tmp/bench_writer.py {count} {args.interval}", timeout=EVENT_DEADLINE)
            print(f"writing {count} files from the client with sandbox.files.create ...")
            for i in range(count):
                name = f"client-{i:04d}.txt"
                with lock:
                    started_at[name] = time.perf_counter()
                sandbox.files.create(f"{WATCHED}/{name}", "x")
                time.sleep(args.interval)
            both_done.wait(timeout=EVENT_DEADLINE)
            with lock:
                inside_copy, client_copy = list(inside), list(client_side)
        _report("write inside the sandbox -> handler", inside_copy, count)
        _report("files.create() call -> handler", client_copy, count)
    finally:
        sandbox.destroy()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted; the sandbox was destroyed")
