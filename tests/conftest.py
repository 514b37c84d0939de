"""Shared fixtures of the core's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from computesdk_core.plugins import registry
from tests.support import hostshell


@pytest.fixture
def hostshell_provider() -> Iterator[str]:
    """Register the command-only test provider as "hostshell" for one test."""
    registry.register("hostshell", hostshell)
    yield "hostshell"
    registry.unregister("hostshell")
