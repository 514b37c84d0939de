"""``python -m computesdk_daemon`` / ``computesdk-daemon``: start the sandbox daemon."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from computesdk_daemon.config import TOKEN_ENV, ConfigError, load_config
from computesdk_daemon.server import serve
from computesdk_daemon.token_scrub import take_secret_from_environment


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, then serve until the sandbox ends; returns the exit status."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    token = take_secret_from_environment(TOKEN_ENV)
    try:
        config = load_config(argv, os.environ, token)
    except ConfigError as exc:
        print(f"computesdk-daemon: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(serve(config))


if __name__ == "__main__":
    sys.exit(main())
