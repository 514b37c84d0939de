#!/usr/bin/env python3
"""Client-side overhead of the daytona provider's ``run_command``, printed as plain text (a script, not a test).

Against the Daytona emulator of ``providers/computesdk-daytona/tests`` (real local sandboxes behind
Daytona's control plane and toolbox) it times ``sandbox.run_command("true")`` through the plugin and
the same toolbox calls made with bare ``requests``: create a session, execute the command in it
synchronously, delete the session (the plugin's path for a command with no deadline and no
listeners). Both run the same command in the same sandbox, so the ratio is what the plugin adds.
It also prints the plugin's path with a deadline (asynchronous exec, exit code and logs polled) and
one bare session exec alone, the floor of a command that keeps stdout and stderr apart.

Usage: ``python benchmarks/bench_daytona.py [--iterations 100]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "providers" / "computesdk-daytona" / "tests"))

from emulator_daytona import DaytonaEmulator  # noqa: E402

from computesdk_core import compute  # noqa: E402

COMMAND = "true"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def timed(action: Callable[[], object], iterations: int) -> list[float]:
    """Seconds each of ``iterations`` calls of ``action`` took."""
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    with DaytonaEmulator() as emulator:
        daytona = compute(provider="daytona", daytona={"api_key": emulator.api_key, "api_url": emulator.url})
        with daytona.sandbox.create(timeout=600) as sandbox:
            base = sandbox.get_instance().toolbox_url
            session = requests.Session()
            session.headers.update({"Authorization": f"Bearer {emulator.api_key}", "X-Daytona-SDK-Version": "0.190.0"})

            def bare_exec(session_id: str) -> None:
                response = session.post(f"{base}/process/session/{session_id}/exec",
                                        json={"command": f"(\n{COMMAND}\n)", "runAsync": False}, timeout=60)
                response.raise_for_status()
                assert response.json()["exitCode"] == 0

            def bare_run() -> None:
                session_id = uuid.uuid4().hex
                session.post(f"{base}/process/session", json={"sessionId": session_id}, timeout=60).raise_for_status()
                bare_exec(session_id)
                session.delete(f"{base}/process/session/{session_id}", timeout=60).raise_for_status()

            kept = uuid.uuid4().hex
            session.post(f"{base}/process/session", json={"sessionId": kept}, timeout=60).raise_for_status()
            paths: dict[str, Callable[[], object]] = {
                "plugin, no deadline  ": lambda: sandbox.run_command(COMMAND),
                "bare, same 3 calls   ": bare_run,
                "plugin, timeout=60   ": lambda: sandbox.run_command(COMMAND, timeout=60),
                "bare, one exec alone ": lambda: bare_exec(kept),
            }
            for action in paths.values():  # warm every path: connections, imports, the sandbox's shell
                timed(action, 5)
            results = {label: timed(action, args.iterations) for label, action in paths.items()}
            session.close()
    print(f"daytona run_command({COMMAND!r}) over the emulator, {args.iterations} iterations")
    for label, times in results.items():
        print(f"  {label}: median {statistics.median(times) * 1000:7.2f} ms   p95 {percentile(times, .95) * 1000:7.2f} ms")
    plugin, bare = statistics.median(results["plugin, no deadline  "]), statistics.median(results["bare, same 3 calls   "])
    print(f"  ratio plugin / bare (same calls, median): {plugin / bare:.2f}x   client overhead "
          f"{max(0.0, plugin - bare) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
