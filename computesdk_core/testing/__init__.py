"""Test helpers for provider packages: the reusable conformance suite.

A provider package runs the whole suite against itself with one subclass::

    from computesdk_core.testing import ConformanceSuite

    class TestLocalConformance(ConformanceSuite):
        provider = "local"
        create_options = {}

The suite is imported lazily, so that the pytest plugin living in this package loads (and
registers its marker) without importing the rest of the library.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ConformanceSuite"]


def __getattr__(name: str) -> Any:
    """Import :class:`ConformanceSuite` on first use."""
    if name == "ConformanceSuite":
        from computesdk_core.testing.conformance import ConformanceSuite

        return ConformanceSuite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
