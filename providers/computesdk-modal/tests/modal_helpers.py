"""Shared pieces of the Modal tests: a compute instance whose modal provider uses a FakeAdapter."""

from __future__ import annotations

from typing import Any

from modal_fake import FakeAdapter

from computesdk_core import compute


def compute_for(adapter: FakeAdapter, **extra: Any) -> Any:
    """A compute instance bound to the modal provider, every Modal call served by ``adapter``."""
    return compute(provider="modal", modal={"adapter": adapter, **extra})
