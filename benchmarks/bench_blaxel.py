#!/usr/bin/env python3
"""Client-side overhead of ``run_command`` on the Blaxel provider, against the emulator of Blaxel's APIs.

It times ``sandbox.run_command`` through the plugin and one bare ``requests`` call doing the same
run against the same sandbox API endpoint (``POST /process`` answered as an NDJSON stream, read to
its end), and prints the medians and their ratio (the plugin's overhead on top of the HTTP it must
do anyway: the reader thread, the process name, parsing the result).

Usage: ``python benchmarks/bench_blaxel.py [--iterations 100]`` (a script, not a test).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "providers" / "computesdk-blaxel" / "tests"))

from blaxel_helpers import API_KEY, compute_for, start_emulator, stop_emulator  # noqa: E402
from overhead import iterations_from_argv, print_ratios  # noqa: E402

COMMAND = "echo benchmark"



def main() -> None:
    """Run the benchmark and print one line per kind of run."""
    iterations = iterations_from_argv(__doc__.splitlines()[0])
    emulator = start_emulator()
    try:
        sandbox = compute_for(emulator).sandbox.create(timeout=600)
        base = emulator.servers[sandbox.sandbox_id].url
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {API_KEY}", "Accept": "text/event-stream"})

        def bare() -> None:
            body = {"command": COMMAND, "name": f"bench-{uuid.uuid4().hex}", "waitForCompletion": True, "timeout": 65}
            with session.post(f"{base}/process", json=body, stream=True, timeout=60) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if line and json.loads(line).get("type") == "result":
                        break

        cases = {
            "run (POST /process, NDJSON)": (lambda: sandbox.run_command(COMMAND, timeout=60), bare),
            "run with on_stdout": (lambda: sandbox.run_command(COMMAND, timeout=60, on_stdout=lambda chunk: None), bare),
        }
        print_ratios("blaxel run_command overhead against its emulator", cases, iterations)
        sandbox.destroy()
    finally:
        stop_emulator(emulator)


if __name__ == "__main__":
    main()
