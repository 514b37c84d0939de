"""``python -m computesdk_daemon`` / ``computesdk-daemon``: start the sandbox daemon."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from computesdk_daemon.config import ConfigError, load_config
from computesdk_daemon.server import serve


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, then serve until the sandbox ends; returns the exit status."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(argv, os.environ)
    except ConfigError as exc:
        print(f"computesdk-daemon: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(serve(config))


if __name__ == "__main__":
    sys.exit(main())
