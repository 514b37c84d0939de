"""The local provider against the core conformance suite (computesdk_core.testing)."""

from __future__ import annotations

from computesdk_core.testing import ConformanceSuite


class TestLocalConformance(ConformanceSuite):
    """Every conformance test, on sandboxes of this machine (bubblewrap + the daemon)."""

    provider = "local"
    create_options = {}
    # The local sandbox shares the host's network, so its URLs answer from here.
    check_url_reachable = True
