"""The conformance suite against the real Vercel API: runs only when Vercel credentials are set."""

from __future__ import annotations

import os

import pytest

from computesdk_core.testing import ConformanceSuite

_CREDENTIALS = bool(os.environ.get("VERCEL_OIDC_TOKEN")) or all(
    os.environ.get(name) for name in ("VERCEL_TOKEN", "VERCEL_TEAM_ID", "VERCEL_PROJECT_ID"))


@pytest.mark.skipif(not _CREDENTIALS, reason="neither VERCEL_OIDC_TOKEN nor VERCEL_TOKEN with VERCEL_TEAM_ID and "
                                             "VERCEL_PROJECT_ID is set: no live Vercel tests")
class TestVercelLive(ConformanceSuite):
    """Every conformance test on real Vercel sandboxes (they cost money; each lives at most 10 minutes)."""

    provider = "vercel"
    create_options = {"ports": [3000, 8080]}
    work_root = "/vercel/sandbox"
