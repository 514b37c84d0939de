#!/usr/bin/env python3
"""Benchmark of the local provider, printed as plain text (a script, not a test).

It measures, on this machine:

* the time from ``sandbox.create()`` to the result of the sandbox's first command
  (median and p95 over ``--runs`` sandboxes);
* the round trip of ``run_command("true")`` against ``subprocess.run(["true"])`` on the host,
  measured in the same run, and their ratio;
* write and read throughput of a 10 MB file (``write_file`` / ``read_bytes``);
* the peak growth of the client's resident memory while a command's 50 MB of output stream
  through ``on_stdout`` (sampled in a fresh child process, so earlier steps do not blur it).

Every sandbox it creates is destroyed at the end, also on Ctrl-C or SIGTERM; each one is also
created with a short lifetime and a metadata tag, so that even a sandbox caught half-created by
an interrupt is found and destroyed.

Usage: ``python benchmarks/bench_local.py [--runs 20] [--iterations 200]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, NoReturn

from computesdk_core import compute

PROVIDER = "local"
# Lifetime (seconds) of every benchmark sandbox: a leak outlives the benchmark only briefly.
SANDBOX_LIFETIME = 600
TAG_KEY = "computesdk-bench"
FILE_SIZE = 10 * 1024 * 1024
STREAM_SIZE = 50 * 1024 * 1024
MB = 1024 * 1024
CHILD_DEADLINE = 300
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def timed(action: Callable[[], Any]) -> float:
    """Seconds ``action()`` took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


class SandboxPool:
    """Creates the benchmark's sandboxes and guarantees every one of them is destroyed."""

    def __init__(self, instance: Any) -> None:
        self.instance = instance
        self.tag = uuid.uuid4().hex
        self.created: list[str] = []

    def create(self) -> Any:
        """Create a tagged sandbox with a short lifetime and remember it."""
        sandbox = self.instance.sandbox.create(timeout=SANDBOX_LIFETIME, metadata={TAG_KEY: self.tag})
        self.created.append(sandbox.sandbox_id)
        return sandbox

    def destroy(self, sandbox_id: str) -> None:
        """Destroy one sandbox now and forget it."""
        self.instance.sandbox.destroy(sandbox_id)
        self.created.remove(sandbox_id)

    def destroy_all(self) -> None:
        """Destroy every sandbox of this run, including ones an interrupt left half-created."""
        leftovers = set(self.created)
        leftovers.update(
            box.sandbox_id for box in self.instance.sandbox.list() if box.metadata.get(TAG_KEY) == self.tag
        )
        for sandbox_id in sorted(leftovers):
            self.instance.sandbox.destroy(sandbox_id)
        self.created.clear()


def bench_create_to_first_result(pool: SandboxPool, runs: int) -> list[float]:
    """Seconds from ``create()`` to the first command's result, once per new sandbox."""
    durations = []
    for _ in range(runs):
        start = time.perf_counter()
        sandbox = pool.create()
        sandbox.run_command("true", timeout=30)
        durations.append(time.perf_counter() - start)
        pool.destroy(sandbox.sandbox_id)
    return durations


def bench_round_trip(sandbox: Any, iterations: int) -> tuple[list[float], list[float]]:
    """Seconds per ``run_command("true")`` and per host ``subprocess.run(["true"])``, interleaved
    so that both see the same machine load."""
    for _ in range(5):  # warm up connections and caches before measuring
        sandbox.run_command("true", timeout=30)
    remote, local = [], []
    for _ in range(iterations):
        remote.append(timed(lambda: sandbox.run_command("true", timeout=30)))
        local.append(timed(lambda: subprocess.run(["true"], check=True, timeout=30)))
    return remote, local


def bench_file_throughput(sandbox: Any, repeats: int = 3) -> tuple[float, float]:
    """Median MB/s of writing and of reading back a 10 MB file."""
    data = os.urandom(FILE_SIZE)
    path = "/tmp/computesdk-bench-10mb.bin"
    writes, reads = [], []
    for _ in range(repeats):
        writes.append(timed(lambda: sandbox.filesystem.write_file(path, data)))
        start = time.perf_counter()
        back = sandbox.filesystem.read_bytes(path)
        reads.append(time.perf_counter() - start)
        if back != data:
            raise RuntimeError("the 10 MB file read back differs from what was written")
    sandbox.filesystem.remove(path)
    return FILE_SIZE / MB / statistics.median(writes), FILE_SIZE / MB / statistics.median(reads)


def measure_stream_in_child(sandbox_id: str) -> dict[str, Any]:
    """Run the 50 MB streaming measurement in a fresh interpreter and return what it reported."""
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--stream-child", sandbox_id],
        capture_output=True,
        text=True,
        timeout=CHILD_DEADLINE,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the streaming measurement failed:\n{completed.stderr.strip()}")
    return json.loads(completed.stdout)


class RssSampler:
    """Samples this process's resident memory every few milliseconds on a named daemon thread.

    Sampling the current RSS (rather than reading the lifetime peak ``ru_maxrss``) keeps a peak
    reached before the measurement from hiding the growth during it.
    """

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.baseline = self.current()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss-sampler", daemon=True)

    @staticmethod
    def current() -> int:
        """Resident memory of this process now, in bytes (Linux ``/proc/self/statm``)."""
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.current())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.peak = max(self.peak, self.current())


def stream_child(sandbox_id: str) -> None:
    """(In the child process.) Stream 50 MB through ``on_stdout`` and print the RSS growth as JSON."""
    sandbox = compute(provider=PROVIDER).sandbox.get_by_id(sandbox_id)
    if sandbox is None:
        raise SystemExit(f"sandbox {sandbox_id} vanished")
    sandbox.run_command("echo warm", timeout=30, on_stdout=lambda chunk: None)
    received = {"chars": 0, "chunks": 0}

    def count(chunk: str) -> None:
        received["chars"] += len(chunk)
        received["chunks"] += 1

    start = time.perf_counter()
    with RssSampler() as rss:
        result = sandbox.run_command(
            f"head -c {STREAM_SIZE} /dev/zero | tr '\\0' 'a'", timeout=CHILD_DEADLINE - 30, on_stdout=count
        )
    seconds = time.perf_counter() - start
    sandbox.close()
    print(
        json.dumps(
            {
                "growth_mb": (rss.peak - rss.baseline) / MB,
                "streamed_mb": received["chars"] / MB,
                "result_mb": len(result.stdout) / MB,
                "chunks": received["chunks"],
                "seconds": seconds,
            }
        )
    )


def report(runs: int, iterations: int) -> None:
    """Run every measurement and print the results."""
    instance = compute(provider=PROVIDER)
    pool = SandboxPool(instance)
    print(f"computesdk local provider benchmark: runs={runs}, iterations={iterations}")
    try:
        startup = bench_create_to_first_result(pool, runs)
        print(
            f"create() -> first command result    median {statistics.median(startup) * 1000:8.1f} ms"
            f"   p95 {percentile(startup, 0.95) * 1000:8.1f} ms   (n={runs})"
        )
        sandbox = pool.create()
        remote, local = bench_round_trip(sandbox, iterations)
        remote_ms, local_ms = statistics.median(remote) * 1000, statistics.median(local) * 1000
        print(f'run_command("true") round trip       median {remote_ms:8.2f} ms   (n={iterations})')
        print(f'subprocess.run(["true"]) on the host median {local_ms:8.2f} ms   (n={iterations})')
        print(f"ratio run_command / subprocess.run          {remote_ms / local_ms:8.1f} x")
        write_rate, read_rate = bench_file_throughput(sandbox)
        print(f"10 MB write_file                            {write_rate:8.1f} MB/s (median of 3)")
        print(f"10 MB read_bytes                            {read_rate:8.1f} MB/s (median of 3)")
        stream = measure_stream_in_child(sandbox.sandbox_id)
        print(
            f"50 MB through on_stdout: peak client RSS growth {stream['growth_mb']:.1f} MB"
            f" ({stream['growth_mb'] / (STREAM_SIZE / MB):.2f} x the output);"
            f" {stream['streamed_mb']:.1f} MB streamed in {stream['chunks']} chunks,"
            f" result.stdout {stream['result_mb']:.1f} MB, {stream['seconds']:.2f} s"
        )
    finally:
        # A second Ctrl-C must not cut the clean-up short; each destroy has its own deadline.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            pool.destroy_all()
        finally:
            signal.signal(signal.SIGINT, previous)


def _terminate(signum: int, frame: Any) -> NoReturn:
    """Turn SIGTERM into an exception so that the ``finally`` clean-up runs."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the benchmark; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=20, help="sandboxes created for the start-up time (>= 20)"
    )
    parser.add_argument("--iterations", type=int, default=200, help="round trips timed (>= 20)")
    parser.add_argument("--stream-child", metavar="SANDBOX_ID", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stream_child:
        stream_child(args.stream_child)
        return 0
    if args.runs < 20 or args.iterations < 20:
        parser.error("--runs and --iterations must be at least 20 for a meaningful p95")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        report(args.runs, args.iterations)
    except KeyboardInterrupt:
        print("interrupted; every sandbox of this run was destroyed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
