"""Fixtures of the local provider's tests: a private state directory, and sandboxes that are always destroyed.

The tests call the hook functions of ``computesdk_local.plugin`` directly and reach the real
daemon over HTTP, so that they hold without the rest of the library.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from computesdk_local import plugin
from local_helpers import TEST_TIMEOUT, Create

from computesdk_core.types import CreateOptions, SandboxRecord


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A state directory of this test only."""
    return tmp_path / "state"


@pytest.fixture
def config(home: Path) -> dict[str, Any]:
    """The provider's config with the test's state directory."""
    return dict(plugin.provider_config(options={"home": str(home)}, environ={}))


@pytest.fixture
def create(config: dict[str, Any]) -> Iterator[Create]:
    """Create sandboxes (keyword arguments of CreateOptions); every one is destroyed after the test."""
    made: list[tuple[Mapping[str, Any], str]] = []

    def make(cfg: Mapping[str, Any] | None = None, **options: Any) -> SandboxRecord:
        options.setdefault("timeout", TEST_TIMEOUT)
        used = cfg or config
        record = plugin.sandbox_create(config=used, options=CreateOptions(**options))
        made.append((used, record.sandbox_id))
        return record

    yield make
    for used, sandbox_id in made:
        plugin.sandbox_destroy(config=used, sandbox_id=sandbox_id)
