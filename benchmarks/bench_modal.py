#!/usr/bin/env python3
"""Client-side overhead of ``run_command`` on the Modal provider, measured over the FakeAdapter.

Modal speaks only gRPC through its own client, so there is no HTTP endpoint to call bare: this
benchmark times ``sandbox.run_command`` through the plugin and, as the baseline, the same
``exec`` the plugin makes called directly on the same FakeAdapter (start ``sh -c``, read both
streams, wait). Both run the command for real in a local sandbox, so the ratio is the plugin's
overhead (option handling, reader threads, hook dispatch) on top of the exec it must do anyway.
It says nothing about Modal's own latency, which only a live run with tokens could show.

Usage: ``python benchmarks/bench_modal.py [--iterations 100]`` (a script, not a test).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "providers" / "computesdk-modal" / "tests"))

from modal_fake import FakeAdapter  # noqa: E402
from modal_helpers import compute_for  # noqa: E402

COMMAND = "echo benchmark"


def _median_ms(function: Callable[[], object], iterations: int) -> float:
    function()  # the first run pays for warming caches
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    """Run the benchmark and print one line per kind of run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    args = parser.parse_args()
    adapter = FakeAdapter()
    try:
        sandbox = compute_for(adapter).sandbox.create(timeout=600)

        def bare_exec() -> None:
            process = adapter.exec(sandbox.sandbox_id, ["sh", "-c", COMMAND], timeout=60)
            _ = ("".join(process.stdout), "".join(process.stderr))
            process.wait()

        cases = {
            "plain run": (lambda: sandbox.run_command(COMMAND, timeout=60), bare_exec),
            "streamed run (on_stdout)": (lambda: sandbox.run_command(COMMAND, timeout=60, on_stdout=lambda _: None),
                                         bare_exec),
        }
        print(f"run_command overhead over a direct FakeAdapter.exec, median of {args.iterations} runs "
              "(commands really run in a local sandbox; Modal itself is not involved)")
        for label, (plugin_call, bare_call) in cases.items():
            plugin_ms = _median_ms(plugin_call, args.iterations)
            bare_ms = _median_ms(bare_call, args.iterations)
            print(f"  {label:26s} plugin {plugin_ms:8.2f} ms   adapter directly {bare_ms:8.2f} ms   "
                  f"ratio {plugin_ms / bare_ms:5.2f}")
        sandbox.destroy()
    finally:
        adapter.close()


if __name__ == "__main__":
    main()
