"""Conformance tests of what a sandbox says about itself: info, URLs, features, timeout extension."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Collection
from typing import Any, ClassVar
from urllib.parse import urlparse

import pytest
import requests

from computesdk_core.errors import UnsupportedFeatureError
from computesdk_core.testing.support import KNOWN_FEATURES, SHARED_METADATA, require, wait_until
from computesdk_core.types import SandboxInfo

# For each optional feature, a call that needs it (applied to compute instance and sandbox).
FEATURE_PROBES: dict[str, Callable[[Any, Any], Any]] = {
    "extend_timeout": lambda inst, box: inst.sandbox.extend_timeout(box.sandbox_id, duration=60),
    "named": lambda inst, box: inst.sandbox.find(name="computesdk-conformance-probe", namespace="probe"),
    "get_url": lambda inst, box: box.get_url(port=3000),
    "snapshots": lambda inst, box: inst.snapshot.list(),
    "templates": lambda inst, box: inst.template.list(),
}


class InfoTests:
    """get_info, supports/capabilities, unsupported features, get_url and extend_timeout."""

    provider: ClassVar[str]
    check_url_reachable: ClassVar[bool]
    create_kwargs: Callable[..., dict[str, Any]]

    def test_get_info_describes_the_sandbox(self, sandbox: Any) -> None:
        """``get_info`` gives the sandbox's id, provider, status, a tz-aware creation time, metadata."""
        info = sandbox.get_info()
        assert isinstance(info, SandboxInfo)
        assert info.id == sandbox.sandbox_id
        assert info.provider == self.provider
        assert info.status == "running"
        assert isinstance(info.created_at, dt.datetime) and info.created_at.utcoffset() is not None
        age = dt.datetime.now(dt.timezone.utc) - info.created_at
        assert dt.timedelta(minutes=-5) < age < dt.timedelta(hours=1), f"created_at is {info.created_at}"
        for key, value in SHARED_METADATA.items():
            assert info.metadata.get(key) == value
        assert info.timeout == self.create_kwargs()["timeout"]

    def test_supports_agrees_with_capabilities(self, sandbox: Any, capabilities: Collection[str]) -> None:
        """``sandbox.supports(f)`` is True exactly for the features the provider announces."""
        assert "run_command" in capabilities
        for feature in KNOWN_FEATURES:
            assert sandbox.supports(feature) is (feature in capabilities), feature

    def test_unsupported_feature_raises_naming_provider_and_feature(
        self, compute_instance: Any, sandbox: Any, capabilities: Collection[str]
    ) -> None:
        """A call the provider cannot serve raises UnsupportedFeatureError at once, naming it."""
        missing = [feature for feature in FEATURE_PROBES if feature not in capabilities]
        if not missing:
            pytest.skip(f"provider {self.provider!r} supports every optional feature probed")
        for feature in missing:
            with pytest.raises(UnsupportedFeatureError) as caught:
                FEATURE_PROBES[feature](compute_instance, sandbox)
            assert isinstance(caught.value, NotImplementedError)
            assert self.provider in str(caught.value), feature

    def test_get_url_gives_one_url_per_port(self, sandbox: Any, capabilities: Collection[str]) -> None:
        """``get_url`` gives an absolute URL per port, a different one for another port.

        Vendors differ in where the port goes (host name, tunnel, route), so only the shape is
        checked here; ``test_get_url_reaches_a_server_in_the_sandbox`` proves it leads somewhere.
        """
        require(capabilities, "get_url", self.provider)
        url = sandbox.get_url(port=3000)
        parsed = urlparse(url)
        assert isinstance(url, str) and parsed.scheme in ("http", "https") and parsed.netloc
        other = sandbox.get_url(port=8080, protocol="http")
        assert urlparse(other).scheme in ("http", "https") and other != url

    def test_get_url_reaches_a_server_in_the_sandbox(
        self, sandbox: Any, capabilities: Collection[str], scratch: str
    ) -> None:
        """A web server started in the sandbox answers at the URL ``get_url`` gives for its port."""
        require(capabilities, "get_url", self.provider)
        if not self.check_url_reachable:
            pytest.skip("check_url_reachable is off for this provider")
        sandbox.filesystem.write_file(f"{scratch}/hello.txt", "served from the sandbox")
        port = random.randint(20000, 40000)
        pid_file = f"{scratch}/server.pid"
        sandbox.run_command(
            f"echo $$ > '{pid_file}'; exec python3 -m http.server {port}",
            cwd=scratch,
            background=True,
            timeout=60,
        )
        url = sandbox.get_url(port=port, protocol="http").rstrip("/") + "/hello.txt"

        def answered() -> bool:
            try:
                return requests.get(url, timeout=2).text == "served from the sandbox"
            except requests.RequestException:
                return False

        try:
            assert wait_until(answered, timeout=15), f"nothing answered at {url}"
        finally:
            sandbox.run_command(f"kill $(cat '{pid_file}')", timeout=30)

    def test_extend_timeout_keeps_the_sandbox_alive(
        self, compute_instance: Any, sandbox: Any, capabilities: Collection[str]
    ) -> None:
        """``extend_timeout`` succeeds on a live sandbox, which keeps working."""
        require(capabilities, "extend_timeout", self.provider)
        compute_instance.sandbox.extend_timeout(sandbox.sandbox_id, duration=60)
        assert sandbox.run_command("echo extended", timeout=30).stdout == "extended\n"
