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
fixture can be overridden in the subclass (class-scoped ones as ``@pytest.fixture(scope="class")``
over ``@classmethod``), and any test replaced (e.g. by one that skips with the provider's reason).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

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
    """The suite's marks: ``conformance``, and a per-test deadline when pytest-timeout is there."""
    marks = [pytest.mark.conformance]
    # The timeout marker is only known when the plugin is installed (--strict-markers).
    if importlib.util.find_spec("pytest_timeout") is None:
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

    @classmethod
    def create_kwargs(cls, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for ``sandbox.create``: lifetime, ``create_options``, then ``extra``."""
        kwargs: dict[str, Any] = {"timeout": cls.sandbox_timeout}
        kwargs.update(cls.create_options)
        for key, value in extra.items():
            if key in ("envs", "metadata") and key in kwargs:
                value = {**kwargs[key], **value}
            kwargs[key] = value
        return kwargs

    @pytest.fixture(scope="class")
    @classmethod
    def compute_instance(cls) -> Any:
        """A compute instance bound to ``provider`` (with ``provider_config`` when set)."""
        if not cls.provider:
            raise TypeError(f"{cls.__name__} must set the class attribute 'provider'")
        options = {cls.provider: dict(cls.provider_config)} if cls.provider_config else {}
        return compute(provider=cls.provider, **options)

    @pytest.fixture(scope="class")
    @classmethod
    def capabilities(cls, compute_instance: Any) -> frozenset[str]:
        """The features the provider announces."""
        return frozenset(compute_instance.capabilities(cls.provider))

    @pytest.fixture(scope="class")
    @classmethod
    def sandbox(cls, compute_instance: Any) -> Iterator[Any]:
        """The one sandbox most tests share; destroyed at the end of the class, pass or fail."""
        box = compute_instance.sandbox.create(
            **cls.create_kwargs(envs=SHARED_ENVS, metadata=SHARED_METADATA)
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
    @classmethod
    def workdir(cls, sandbox: Any) -> Iterator[str]:
        """A directory of this run in the shared sandbox (made by a command, not by ``mkdir``).

        It is removed at the end, for providers whose sandboxes outlive the suite.
        """
        path = f"{cls.work_root.rstrip('/')}/{unique('computesdk-conformance')}"
        result = sandbox.run_command(f"mkdir -p '{path}'", timeout=30)
        assert result.exit_code == 0, result.stderr
        try:
            yield path
        finally:
            sandbox.run_command(f"rm -rf '{path}'", timeout=60)

    @pytest.fixture
    def scratch(self, sandbox: Any, workdir: str, request: pytest.FixtureRequest) -> str:
        """An empty directory of the running test, named after it (for reading leftovers)."""
        path = f"{workdir}/{slug(request.node.name)}"
        result = sandbox.run_command(f"mkdir -p '{path}'", timeout=30)
        assert result.exit_code == 0, result.stderr
        return path

    @pytest.fixture(scope="class")
    @classmethod
    def node_available(cls, sandbox: Any) -> bool:
        """Whether the shared sandbox has a ``node`` executable."""
        return bool(sandbox.run_command("command -v node", timeout=30).exit_code == 0)
