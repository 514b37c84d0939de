"""The examples of docs/session_tokens.md and docs/magic_links.md run against a local sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from computesdk_core import compute

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    made = compute(provider="local").sandbox.create(timeout=300)
    try:
        yield made
    finally:
        made.destroy()


@pytest.mark.parametrize("page", ["session_tokens.md", "magic_links.md"])
def test_the_examples_run(page: str, sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _BLOCK.findall((DOCS / page).read_text())
    assert len(blocks) >= 3, f"{page} lost its examples"
    namespace: dict[str, Any] = {"sandbox": sandbox}
    # One namespace per page: later examples use what earlier ones made, as a reader would.
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"{page}[python block {number}]", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "Traceback" not in printed
    if page == "session_tokens.md":
        assert "a session token cannot manage tokens" in printed and "Token not found" in printed
        assert "All tokens revoked" in printed
    else:
        assert "302 /dashboard" in printed and "session_token" in printed and "refused:" in printed
