"""Shared by the provider benchmarks: time ``run_command`` through a plugin against bare ``requests``.

Each case pairs a call through the plugin with the bare HTTP calls the same run needs against the
same emulator endpoints; the ratio of their medians is what the plugin adds on the client side.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable, Mapping

Case = tuple[Callable[[], object], Callable[[], object]]


def iterations_from_argv(description: str) -> int:
    """Parse ``--iterations`` (default 100) and quieten the emulator's per-request access log."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--iterations", type=int, default=100)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    iterations: int = parser.parse_args().iterations
    return iterations


def median_ms(function: Callable[[], object], iterations: int) -> float:
    """Median milliseconds of ``iterations`` calls, after one warm-up call (connection pools)."""
    function()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def print_ratios(title: str, cases: Mapping[str, Case], iterations: int) -> None:
    """Time every case (plugin, then bare) and print one line each with the ratio of the medians."""
    print(f"{title}, median of {iterations} runs")
    width = max(len(label) for label in cases)
    for label, (through_plugin, bare) in cases.items():
        plugin_ms = median_ms(through_plugin, iterations)
        bare_ms = median_ms(bare, iterations)
        print(f"  {label:{width}s}  plugin {plugin_ms:7.2f} ms   bare requests {bare_ms:7.2f} ms   "
              f"ratio {plugin_ms / bare_ms:5.2f}")
