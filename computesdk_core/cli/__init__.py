"""The ``computesdk`` command line."""

from computesdk_core.cli.main import main

__all__ = ["main"]
