"""The Modal plugin against the core conformance suite, with Modal replaced by the FakeAdapter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from modal_fake import FakeAdapter
from modal_helpers import compute_for

from computesdk_core.testing import ConformanceSuite


class TestModalConformance(ConformanceSuite):
    """Every conformance test, on local sandboxes standing for Modal sandboxes."""

    provider = "modal"
    # get_url needs its ports declared when the sandbox is created.
    create_options = {"ports": [3000, 8080]}

    @pytest.fixture(scope="class")
    @classmethod
    def fake_adapter(cls) -> Iterator[FakeAdapter]:
        """The fake Modal of this class; its sandboxes are destroyed at the end."""
        adapter = FakeAdapter()
        try:
            yield adapter
        finally:
            adapter.close()

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls, fake_adapter: FakeAdapter) -> Any:
        """A compute instance whose modal provider talks to the fake."""
        return compute_for(fake_adapter)
