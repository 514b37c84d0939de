"""Conformance test of one sandbox used from several threads at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from computesdk_core.testing.support import ChunkRecorder

WORKERS = 8


class ConcurrencyTests:
    """Commands, streams and file writes from 8 threads on one sandbox, none crossed."""

    def test_eight_threads_share_one_sandbox(self, sandbox: Any, scratch: str) -> None:
        """Each thread gets back exactly its own output and its own file content."""
        # Every worker starts its calls together, so the sandbox really serves them at once.
        barrier = threading.Barrier(WORKERS, timeout=30)

        def work(index: int) -> tuple[str, str, str, str, str]:
            token = f"worker-{index}-" + "x" * (index * 1000)
            recorder = ChunkRecorder()
            barrier.wait()
            result = sandbox.run_command(
                f"printf %s {token}; printf %s err-{index} >&2; sleep 0.2; printf %s -done",
                timeout=60,
                on_stdout=recorder,
            )
            path = f"{scratch}/file-{index}.txt"
            sandbox.filesystem.write_file(path, token * 3)
            return token, result.stdout, result.stderr, recorder.text, sandbox.filesystem.read_file(path)

        with ThreadPoolExecutor(WORKERS, thread_name_prefix="conformance-worker") as pool:
            futures = [pool.submit(work, index) for index in range(WORKERS)]
            outcomes = [future.result(timeout=120) for future in futures]

        for index, (token, stdout, stderr, streamed, content) in enumerate(outcomes):
            assert stdout == f"{token}-done", f"worker {index} got another command's stdout"
            assert stderr == f"err-{index}"
            assert streamed == stdout, f"worker {index}'s on_stdout saw other output"
            assert content == token * 3, f"worker {index} read another file's content"
