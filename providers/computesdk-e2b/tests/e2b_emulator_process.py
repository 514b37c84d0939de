"""The E2B emulator in a child process, so that its server threads never mix with the client's.

Run as a script it starts :class:`E2BEmulator`, prints one JSON line (the plugin's options and
whether the specs were found), serves until its stdin closes, then prints the violations it saw.
:class:`EmulatorProcess` is the parent's side.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
from pathlib import Path
from typing import Any

STARTUP_DEADLINE = 60.0
SHUTDOWN_DEADLINE = 120.0


class EmulatorProcess:
    """A child process serving the E2B emulator; ``config`` reaches it, ``stop()`` returns its violations."""

    def __init__(self) -> None:
        self._child: subprocess.Popen[str] | None = None
        self.config: dict[str, Any] = {}
        self.validating = False
        self.violations: list[str] = []

    def start(self) -> EmulatorProcess:
        """Start the child and wait (bounded) for its first line."""
        self._child = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )
        assert self._child.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._child.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=STARTUP_DEADLINE):
                self._child.kill()
                raise RuntimeError(f"the E2B emulator did not start within {STARTUP_DEADLINE} s")
        hello = json.loads(self._child.stdout.readline())
        self.config, self.validating = hello["config"], hello["validating"]
        return self

    def stop(self) -> list[str]:
        """Close the child's stdin, collect its violations and wait for it (bounded)."""
        if self._child is None:
            return self.violations
        child, self._child = self._child, None
        try:
            out, _ = child.communicate(input="", timeout=SHUTDOWN_DEADLINE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate(timeout=10)
            raise
        self.violations = json.loads(out.strip().splitlines()[-1])["violations"]
        return self.violations


def main() -> None:
    """Serve until stdin closes."""
    from emulator_e2b import E2BEmulator

    with E2BEmulator() as emulator:
        print(json.dumps({"config": emulator.config, "validating": emulator.validating}), flush=True)
        sys.stdin.read()
        violations = list(emulator.violations)
    print(json.dumps({"violations": violations}), flush=True)


if __name__ == "__main__":
    main()
