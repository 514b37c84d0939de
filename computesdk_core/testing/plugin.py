"""The pytest plugin of computesdk-core (entry point ``computesdk_conformance`` in group ``pytest11``).

It registers the ``conformance`` marker, which every test of
:class:`computesdk_core.testing.ConformanceSuite` carries, so that provider packages running
with ``--strict-markers`` can select or deselect the suite (``pytest -m conformance``). It also
asks pytest to rewrite the asserts of the suite's modules, so that a failing check shows the values involved.
"""

from __future__ import annotations

import pytest

# Must happen before the suite's modules are first imported, which is why it sits at plugin load.
pytest.register_assert_rewrite(
    "computesdk_core.testing.conformance",
    "computesdk_core.testing.suite_code",
    "computesdk_core.testing.suite_commands",
    "computesdk_core.testing.suite_concurrency",
    "computesdk_core.testing.suite_filesystem",
    "computesdk_core.testing.suite_info",
    "computesdk_core.testing.suite_lifecycle",
    "computesdk_core.testing.suite_named",
    "computesdk_core.testing.support",
)


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``conformance`` marker."""
    config.addinivalue_line(
        "markers",
        "conformance: a test of the provider conformance suite (computesdk_core.testing.ConformanceSuite)",
    )
