#!/usr/bin/env python3
"""Client-side overhead of ``run_command`` on the Runloop provider, against the emulator of Runloop's API.

For each kind of run it times ``sandbox.run_command`` through the plugin and the bare ``requests``
calls the same run needs against the same emulator endpoints, and prints the medians and their
ratio (the plugin's overhead on top of the HTTP it must do anyway):

* a plain run (``execute_sync``: one POST);
* a streamed run with ``on_stdout`` (``execute_async``, both SSE streams, the completion long-poll).

Usage: ``python benchmarks/bench_runloop.py [--iterations 100]`` (a script, not a test).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "providers" / "computesdk-runloop" / "tests"))

from overhead import iterations_from_argv, print_ratios  # noqa: E402
from runloop_helpers import API_KEY, compute_for, start_emulator, stop_emulator  # noqa: E402

COMMAND = "echo benchmark"



def main() -> None:
    """Run the benchmark and print one line per kind of run."""
    iterations = iterations_from_argv(__doc__.splitlines()[0])
    emulator, backend = start_emulator()
    try:
        sandbox = compute_for(emulator).sandbox.create(timeout=600)
        base = f"{emulator.url}/v1/devboxes/{sandbox.sandbox_id}"
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {API_KEY}"

        def bare_sync() -> None:
            session.post(f"{base}/execute_sync", json={"command": COMMAND}, timeout=60).raise_for_status()

        def bare_streamed() -> None:
            execution = session.post(f"{base}/execute_async", json={"command": COMMAND}, timeout=60).json()
            prefix = f"{base}/executions/{execution['execution_id']}"

            def drain(which: str) -> None:
                with session.get(f"{prefix}/stream_{which}_updates", params={"offset": "0"}, stream=True,
                                 timeout=60) as response:
                    for _ in response.iter_content(chunk_size=None):
                        pass

            readers = [threading.Thread(target=drain, args=(which,), name=f"bench-{which}", daemon=True)
                       for which in ("stdout", "stderr")]
            for reader in readers:
                reader.start()
            session.post(f"{prefix}/wait_for_status", json={"statuses": ["completed"], "timeout_seconds": 25},
                         timeout=60).raise_for_status()
            for reader in readers:
                reader.join(timeout=30)

        cases = {
            "plain run (execute_sync)": (lambda: sandbox.run_command(COMMAND), bare_sync),
            "streamed run (execute_async + SSE)": (
                lambda: sandbox.run_command(COMMAND, timeout=60, on_stdout=lambda chunk: None), bare_streamed),
        }
        print_ratios("runloop run_command overhead against its emulator", cases, iterations)
        sandbox.destroy()
    finally:
        stop_emulator(emulator, backend)


if __name__ == "__main__":
    main()
