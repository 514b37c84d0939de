#!/usr/bin/env python3
"""Client-side overhead of ``run_command`` on the Vercel provider, against the emulator of Vercel's sandbox API.

It times ``sandbox.run_command`` through the plugin and the bare ``requests`` call the same run
needs (one ``POST .../cmd`` with ``wait`` and ``logs``, its NDJSON stream read to the end) against
the same emulator endpoint, and prints the medians and their ratio: the plugin's overhead (reader
thread, session handling, parsing) on top of the HTTP it must do anyway.

Usage: ``python benchmarks/bench_vercel.py [--iterations 100]`` (a script, not a test).
"""

from __future__ import annotations

import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "providers" / "computesdk-vercel" / "tests"))

from overhead import iterations_from_argv, print_ratios  # noqa: E402
from vercel_helpers import TEAM, TOKEN, compute_for, start_emulator, stop_emulator  # noqa: E402

COMMAND = "echo benchmark"



def main() -> None:
    """Run the benchmark and print one line per kind of run."""
    iterations = iterations_from_argv(__doc__.splitlines()[0])
    emulator, backend = start_emulator()
    try:
        sandbox = compute_for(emulator).sandbox.create(timeout=600)
        session_id = sandbox.get_instance().session_id
        url = f"{emulator.url}/v2/sandboxes/sessions/{session_id}/cmd"
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        body = {"command": "sh", "args": ["-c", COMMAND], "env": {}, "wait": True, "logs": True}

        def bare() -> None:
            with session.post(url, params={"teamId": TEAM}, json=body, stream=True, timeout=60) as response:
                response.raise_for_status()
                for _ in response.iter_lines():
                    pass

        cases = {
            "plain run": (lambda: sandbox.run_command(COMMAND), bare),
            "run with on_stdout and timeout": (
                lambda: sandbox.run_command(COMMAND, timeout=60, on_stdout=lambda chunk: None), bare),
        }
        print_ratios("vercel run_command overhead against its emulator", cases, iterations)
        sandbox.destroy()
    finally:
        stop_emulator(emulator, backend)


if __name__ == "__main__":
    main()
