"""The local provider against the core conformance suite (computesdk_core.testing).

Each class keeps its sandboxes in a state directory of its own, so that the suite neither sees
nor leaves anything in the user's real one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from local_helpers import needs_bwrap

from computesdk_core import compute
from computesdk_core.testing import ConformanceSuite


class _LocalSuite(ConformanceSuite):
    provider = "local"
    # The local sandbox shares the host's network, so its URLs answer from here.
    check_url_reachable = True

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls, tmp_path_factory: pytest.TempPathFactory) -> Any:
        """A compute instance whose local sandboxes live in a state directory of this class only."""
        home = tmp_path_factory.mktemp("local-conformance")
        return compute(provider="local", local={"home": str(home)})


@needs_bwrap
class TestLocalConformance(_LocalSuite):
    """Every conformance test, on sandboxes of this machine (bubblewrap + the daemon)."""

    create_options: ClassVar[Mapping[str, Any]] = {}


_SAME_DAEMON = "a timing test of the daemon, which is the same with and without isolation (run above)"


class TestLocalConformanceWithoutIsolation(_LocalSuite):
    """The conformance suite on sandboxes that are plain host processes (isolation "none").

    The few tests that only wait on the daemon's own timing are left to the bubblewrap class.
    """

    create_options: ClassVar[Mapping[str, Any]] = {"isolation": "none"}

    def test_background_command_returns_at_once_and_keeps_running(self) -> None:
        """Skipped: the daemon's background commands do not depend on the isolation."""
        pytest.skip(_SAME_DAEMON)

    def test_timeout_raises_with_partial_output_and_kills_the_command(self) -> None:
        """Skipped: the daemon's command timeouts do not depend on the isolation."""
        pytest.skip(_SAME_DAEMON)

    def test_on_stdout_streams_before_the_command_ends(self) -> None:
        """Skipped: the daemon's output streaming does not depend on the isolation."""
        pytest.skip(_SAME_DAEMON)
