"""Conformance tests of named sandboxes: ``find_or_create`` and ``find``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from typing import Any, ClassVar

import pytest

from computesdk_core.testing.support import require, unique


class NamedTests:
    """The (namespace, name) key: same key, same sandbox; other namespace, other sandbox."""

    provider: ClassVar[str]
    create_kwargs: Callable[..., dict[str, Any]]

    @pytest.fixture
    def named(self, compute_instance: Any, capabilities: Collection[str]) -> Iterator[list[str]]:
        """A list the test appends sandbox ids to; each is destroyed afterwards. Skips without "named"."""
        require(capabilities, "named", self.provider)
        created: list[str] = []
        try:
            yield created
        finally:
            for sandbox_id in created:
                compute_instance.sandbox.destroy(sandbox_id)

    def test_find_or_create_twice_returns_the_same_sandbox(
        self, compute_instance: Any, named: list[str]
    ) -> None:
        """The same (namespace, name) gives the same sandbox, which ``find`` also returns."""
        name, namespace = unique("conformance-app"), unique("conformance-ns")
        first = compute_instance.sandbox.find_or_create(
            name=name, namespace=namespace, **self.create_kwargs()
        )
        named.append(first.sandbox_id)
        second = compute_instance.sandbox.find_or_create(
            name=name, namespace=namespace, **self.create_kwargs()
        )
        named.append(second.sandbox_id)
        assert second.sandbox_id == first.sandbox_id
        found = compute_instance.sandbox.find(name=name, namespace=namespace)
        assert found is not None and found.sandbox_id == first.sandbox_id

    def test_other_namespace_gives_another_sandbox(self, compute_instance: Any, named: list[str]) -> None:
        """The same name in two namespaces names two different sandboxes."""
        name = unique("conformance-app")
        boxes = []
        for namespace in (unique("conformance-ns-a"), unique("conformance-ns-b")):
            box = compute_instance.sandbox.find_or_create(
                name=name, namespace=namespace, **self.create_kwargs()
            )
            named.append(box.sandbox_id)
            boxes.append(box)
        assert boxes[0].sandbox_id != boxes[1].sandbox_id

    def test_find_of_an_unknown_name_returns_none(self, compute_instance: Any, named: list[str]) -> None:
        """``find`` never creates: an unknown name gives None."""
        assert compute_instance.sandbox.find(name=unique("unknown"), namespace=unique("ns")) is None

    def test_find_after_destroy_returns_none(self, compute_instance: Any, named: list[str]) -> None:
        """Once destroyed, a named sandbox is not found any more, and find_or_create makes a new one."""
        name, namespace = unique("conformance-app"), unique("conformance-ns")
        box = compute_instance.sandbox.find_or_create(name=name, namespace=namespace, **self.create_kwargs())
        named.append(box.sandbox_id)
        compute_instance.sandbox.destroy(box.sandbox_id)
        assert compute_instance.sandbox.find(name=name, namespace=namespace) is None
        again = compute_instance.sandbox.find_or_create(
            name=name, namespace=namespace, **self.create_kwargs()
        )
        named.append(again.sandbox_id)
        assert again.sandbox_id != box.sandbox_id
