#!/usr/bin/env python3
"""Client-side overhead of the e2b provider's ``run_command``, printed as plain text (a script, not a test).

Against the E2B emulator of ``providers/computesdk-e2b/tests`` (real local sandboxes behind E2B's
wire format) it times ``sandbox.run_command("true")`` through the plugin and a bare ``requests``
POST of the same ``process.Process/Start`` call to the same endpoint, read to its end, and prints
the medians, p95s and their ratio. Both run the same command in the same sandbox, so the ratio is
what the plugin adds (framing, decoding, error mapping, result building) on top of the wire.

Usage: ``python benchmarks/bench_e2b.py [--iterations 100]``
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import struct
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "providers" / "computesdk-e2b" / "tests"))

from emulator_e2b import E2BEmulator  # noqa: E402

from computesdk_core import compute  # noqa: E402

COMMAND = "true"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def bare_call(session: requests.Session, url: str, headers: dict[str, str]) -> None:
    """One Start call with plain requests: send one envelope, read the stream to its end."""
    body = json.dumps({"process": {"cmd": "/bin/bash", "args": ["-l", "-c", COMMAND]}, "stdin": False}).encode()
    response = session.post(url, data=struct.pack(">BI", 0, len(body)) + body, headers=headers, timeout=60)
    response.raise_for_status()
    assert response.content  # the whole stream, end message included


def main() -> None:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    with E2BEmulator() as emulator:
        e2b = compute(provider="e2b", e2b=emulator.config)
        with e2b.sandbox.create(timeout=600) as sandbox:
            box = emulator.state.live(sandbox.sandbox_id)
            token = box.token if box is not None and box.token else ""
            headers = {"Content-Type": "application/connect+json", "Connect-Protocol-Version": "1",
                       "E2b-Sandbox-Id": sandbox.sandbox_id, "E2b-Sandbox-Port": "49983", "X-Access-Token": token}
            url = f"{emulator.envd.url}/process.Process/Start"
            session = requests.Session()
            for _ in range(5):  # warm both paths: connections, imports, the sandbox's shell
                sandbox.run_command(COMMAND, timeout=60)
                bare_call(session, url, headers)
            plugin_times, bare_times = [], []
            for _ in range(args.iterations):
                start = time.perf_counter()
                sandbox.run_command(COMMAND, timeout=60)
                plugin_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                bare_call(session, url, headers)
                bare_times.append(time.perf_counter() - start)
            session.close()
    plugin_median, bare_median = statistics.median(plugin_times), statistics.median(bare_times)
    print(f"e2b run_command({COMMAND!r}) over the emulator, {args.iterations} iterations")
    print(f"  through the plugin : median {plugin_median * 1000:7.2f} ms   p95 {percentile(plugin_times, .95) * 1000:7.2f} ms")
    print(f"  bare requests      : median {bare_median * 1000:7.2f} ms   p95 {percentile(bare_times, .95) * 1000:7.2f} ms")
    print(f"  ratio (median)     : {plugin_median / bare_median:.2f}x   "
          f"client overhead {max(0.0, plugin_median - bare_median) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
