"""ConformanceSuite: the tests every provider package runs against itself.

Subclass it in a test module of the provider package::

    from computesdk_core.testing import ConformanceSuite

    class TestLocalConformance(ConformanceSuite):
        provider = "local"
        create_options = {}              # extra keyword arguments for sandbox.create
        provider_config = {"api_url": "http://127.0.0.1:8123"}   # optional: compute(local={...})

Most tests share ONE sandbox (fixture ``sandbox``, created once per class and destroyed at the
end even when tests fail); the lifecycle tests create their own (``fresh_sandbox``). Tests of an
optional feature skip, naming it, when ``compute_instance.capabilities(provider)`` lacks it. Any
fixture can be overridden in the subclass, and any test replaced (e.g. by one that skips with
the provider's reason).
"""

from __future__ import annotations

from typing import Any, ClassVar, Iterator, Mapping

import pytest

from computesdk_core import compute
from computesdk_core.testing.suite_code import CodeTests
from computesdk_core.testing.suite_commands import CommandTests
from computesdk_core.testing.suite_concurrency import ConcurrencyTests
from computesdk_core.testing.suite_filesystem import FilesystemTests
from computesdk_core.testing.suite_info import InfoTests
from computesdk_core.testing.suite_lifecycle import LifecycleTests
from computesdk_core.testing.suite_named import NamedTests
from computesdk_core.testing.support import SHARED_ENVS, SHARED_METADATA, slug, unique


def _marks() -> list[pytest.MarkDecorator]:
    marks = [pytest.mark.conformance]
    try:
        import pytest_timeout  # noqa: F401
    except ImportError:  # the marker is only known when the plugin is installed
        return marks
    # Every call has its own deadline; this one catches a hang the suite did not foresee.
    return marks + [pytest.mark.timeout(120)]


class ConformanceSuite(
    LifecycleTests,
    CommandTests,
    CodeTests,
    FilesystemTests,
    ConcurrencyTests,
    NamedTests,
    InfoTests,
):
    """The provider conformance suite; subclass it with ``provider`` set (see the module doc)."""

    pytestmark = _marks()

    provider: ClassVar[str] = ""
    create_options: ClassVar[Mapping[str, Any]] = {}
    provider_config: ClassVar[Mapping[str, Any] | None] = None
    # Lifetime (seconds) of every sandbox the suite creates, so a crashed run leaks nothing for long.
    sandbox_timeout: ClassVar[float] = 600.0
    # A directory every sandbox can write to; the suite works below a unique subdirectory.
    work_root: ClassVar[str] = "/tmp"
    # Whether a URL from get_url is reachable from the machine running the tests.
    check_url_reachable: ClassVar[bool] = False

    def create_kwargs(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``sandbox.create``: lifetime, ``create_options``, then ``extra``."""
        kwargs: dict[str, Any] = {"timeout": self.sandbox_timeout}
        kwargs.update(self.create_options)
        for key, value in extra.items():
            if key in ("envs", "metadata") and key in kwargs:
                value = {**kwargs[key], **value}
            kwargs[key] = value
        return kwargs

    @pytest.fixture(scope="class")
    def compute_instance(self) -> Any:
        """A compute instance bound to ``provider`` (with ``provider_config`` when set)."""
        if not self.provider:
            raise TypeError(f"{type(self).__name__} must set the class attribute 'provider'")
        options = {self.provider: dict(self.provider_config)} if self.provider_config else {}
        return compute(provider=self.provider, **options)

    @pytest.fixture(scope="class")
    def capabilities(self, compute_instance: Any) -> frozenset[str]:
        """The features the provider announces."""
        return frozenset(compute_instance.capabilities(self.provider))

    @pytest.fixture(scope="class")
    def sandbox(self, compute_instance: Any) -> Iterator[Any]:
        """The one sandbox most tests share; destroyed at the end of the class, pass or fail."""
        box = compute_instance.sandbox.create(
            **self.create_kwargs(envs=SHARED_ENVS, metadata=SHARED_METADATA)
        )
        try:
            yield box
        finally:
            compute_instance.sandbox.destroy(box.sandbox_id)

    @pytest.fixture
    def fresh_sandbox(self, compute_instance: Any) -> Iterator[Any]:
        """A sandbox of the test's own, for tests that destroy or reconfigure it."""
        box = compute_instance.sandbox.create(**self.create_kwargs())
        try:
            yield box
        finally:
            compute_instance.sandbox.destroy(box.sandbox_id)

    @pytest.fixture(scope="class")
    def workdir(self, sandbox: Any) -> str:
        """A directory of this run in the shared sandbox (made by a command, not by ``mkdir``)."""
        path = f"{self.work_root.rstrip('/')}/{unique('computesdk-conformance')}"
        result = sandbox.run_command(f"mkdir -p '{path}'", timeout=30)
        assert result.exit_code == 0, result.stderr
        return path

    @pytest.fixture
    def scratch(self, sandbox: Any, workdir: str, request: pytest.FixtureRequest) -> str:
        """An empty directory of the running test, named after it (for reading leftovers)."""
        path = f"{workdir}/{slug(request.node.name)}"
        result = sandbox.run_command(f"mkdir -p '{path}'", timeout=30)
        assert result.exit_code == 0, result.stderr
        return path

    @pytest.fixture(scope="class")
    def node_available(self, sandbox: Any) -> bool:
        """Whether the shared sandbox has a ``node`` executable."""
        return sandbox.run_command("command -v node", timeout=30).exit_code == 0
