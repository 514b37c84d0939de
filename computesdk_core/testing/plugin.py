"""The pytest plugin of computesdk-core (entry point ``computesdk_conformance`` in group ``pytest11``).

It registers the ``conformance`` marker, which every test of
:class:`computesdk_core.testing.ConformanceSuite` carries, so that provider packages running
with ``--strict-markers`` can select or deselect the suite (``pytest -m conformance``). It also
asks pytest to rewrite the suite's asserts, so that a failing check shows the values involved.
"""

from __future__ import annotations

import pytest

# Must happen before the suite module is first imported, which is why it sits at plugin load.
pytest.register_assert_rewrite("computesdk_core.testing.conformance")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``conformance`` marker."""
    config.addinivalue_line(
        "markers",
        "conformance: a test of the provider conformance suite (computesdk_core.testing.ConformanceSuite)",
    )
