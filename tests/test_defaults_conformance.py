"""The core's defaults give a provider that only runs commands the whole basic interface.

The "hostshell" test provider implements the lifecycle and ``sandbox_run_command`` only; the
conformance suite passing against it proves the filesystem, ``run_code`` and ``get_info`` that
the core builds on commands.
"""

from __future__ import annotations

from computesdk_core.plugins import registry
from computesdk_core.testing import ConformanceSuite
from tests.support import hostshell

registry.register("hostshell", hostshell)


class TestCommandOnlyProviderConformance(ConformanceSuite):
    provider = "hostshell"
