"""Conformance tests of a sandbox's life: create, look up, list, destroy, close."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from computesdk_core.errors import ComputeSDKError
from computesdk_core.testing.support import SHARED_ENVS, unique, wait_until


class LifecycleTests:
    """create / get_by_id / list / destroy / context manager / close."""

    provider: ClassVar[str]
    create_kwargs: Callable[..., dict[str, Any]]

    def test_create_returns_a_working_sandbox_of_the_provider(self, sandbox: Any) -> None:
        """A new sandbox has an id, names its provider and runs a command at once."""
        assert isinstance(sandbox.sandbox_id, str) and sandbox.sandbox_id
        assert sandbox.provider == self.provider
        result = sandbox.run_command("echo ready", timeout=30)
        assert (result.exit_code, result.stdout) == (0, "ready\n")

    def test_create_envs_reach_every_command(self, sandbox: Any) -> None:
        """``envs`` given to create are set, unexpanded, in the sandbox's commands."""
        result = sandbox.run_command('printf %s "$COMPUTESDK_CONFORMANCE"', timeout=30)
        assert result.stdout == SHARED_ENVS["COMPUTESDK_CONFORMANCE"]

    def test_get_by_id_returns_a_handle_to_the_same_sandbox(
        self, compute_instance: Any, sandbox: Any, scratch: str
    ) -> None:
        """A handle from ``get_by_id`` sees what was done through the first handle."""
        marker = f"{scratch}/marker.txt"
        sandbox.run_command(f"echo seen-by-both > '{marker}'", timeout=30)
        other = compute_instance.sandbox.get_by_id(sandbox.sandbox_id)
        assert other is not None, "get_by_id returned None for a live sandbox"
        assert other.sandbox_id == sandbox.sandbox_id
        assert other.provider == self.provider
        assert other.run_command(f"cat '{marker}'", timeout=30).stdout == "seen-by-both\n"

    def test_get_by_id_of_an_id_that_never_existed_returns_none(self, compute_instance: Any) -> None:
        """Looking up an unknown id is not an error: it gives None."""
        assert compute_instance.sandbox.get_by_id(unique("never-existed")) is None

    def test_list_contains_the_sandbox(self, compute_instance: Any, sandbox: Any) -> None:
        """``list()`` returns sandboxes of the provider, among them the live one."""
        listed = compute_instance.sandbox.list()
        assert sandbox.sandbox_id in [box.sandbox_id for box in listed]
        assert all(box.provider == self.provider for box in listed)

    def test_destroy_is_idempotent_and_forgets_the_sandbox(
        self, compute_instance: Any, fresh_sandbox: Any
    ) -> None:
        """After ``destroy(id)`` the sandbox is gone from get_by_id and list; again is no error."""
        sandbox_id = fresh_sandbox.sandbox_id
        compute_instance.sandbox.destroy(sandbox_id)
        assert compute_instance.sandbox.get_by_id(sandbox_id) is None
        assert sandbox_id not in [box.sandbox_id for box in compute_instance.sandbox.list()]
        compute_instance.sandbox.destroy(sandbox_id)
        fresh_sandbox.destroy()

    def test_destroyed_sandbox_refuses_commands(self, fresh_sandbox: Any) -> None:
        """A command on a destroyed sandbox raises a computesdk error instead of hanging."""
        fresh_sandbox.destroy()
        with pytest.raises(ComputeSDKError):
            fresh_sandbox.run_command("echo still-here", timeout=10)

    def test_context_manager_destroys_the_sandbox_on_exit(self, compute_instance: Any) -> None:
        """``with create() as sandbox:`` destroys the sandbox when the block ends."""
        sandbox_id = None
        try:
            with compute_instance.sandbox.create(**self.create_kwargs()) as box:
                sandbox_id = box.sandbox_id
                assert box.run_command("echo inside", timeout=30).stdout == "inside\n"
            assert compute_instance.sandbox.get_by_id(sandbox_id) is None
        finally:
            if sandbox_id is not None:
                compute_instance.sandbox.destroy(sandbox_id)

    def test_close_releases_the_handle_but_keeps_the_sandbox(
        self, compute_instance: Any, sandbox: Any
    ) -> None:
        """``close()`` (twice) on one handle neither destroys the sandbox nor breaks other handles."""
        other = compute_instance.sandbox.get_by_id(sandbox.sandbox_id)
        assert other is not None
        other.run_command("true", timeout=30)
        other.close()
        other.close()
        assert compute_instance.sandbox.get_by_id(sandbox.sandbox_id) is not None
        assert sandbox.run_command("echo alive", timeout=30).stdout == "alive\n"

    def test_threads_of_a_sandbox_are_daemons_and_end_with_it(self, compute_instance: Any) -> None:
        """Threads a sandbox starts are named daemon threads that are gone after it is destroyed."""
        before = set(threading.enumerate())
        started: list[threading.Thread] = []
        sandbox_id = None
        try:
            with compute_instance.sandbox.create(**self.create_kwargs()) as box:
                sandbox_id = box.sandbox_id
                box.run_command("echo streamed", timeout=30, on_stdout=lambda chunk: None)
                box.filesystem.write_file("/tmp/computesdk-conformance-thread-check", "x")
                box.filesystem.remove("/tmp/computesdk-conformance-thread-check")
                started = [t for t in threading.enumerate() if t not in before]
                assert all(t.daemon for t in started), [t.name for t in started if not t.daemon]
                assert not [t.name for t in started if t.name.startswith("Thread-")], (
                    "threads without a name"
                )
        finally:
            if sandbox_id is not None:
                compute_instance.sandbox.destroy(sandbox_id)
        assert wait_until(lambda: not [t for t in started if t.is_alive()], timeout=10), [
            t.name for t in started if t.is_alive()
        ]
