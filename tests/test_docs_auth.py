"""The examples of docs/session_tokens.md and docs/magic_links.md run against a local sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from tests.docs_examples import python_blocks, run_examples


@pytest.mark.parametrize("page", ["session_tokens.md", "magic_links.md"])
def test_the_examples_run(page: str, sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks(page)
    assert len(blocks) >= 3, f"{page} lost its examples"
    run_examples(page, sandbox)
    printed = capsys.readouterr().out
    assert "Traceback" not in printed
    if page == "session_tokens.md":
        assert "a session token cannot manage tokens" in printed and "Token not found" in printed
        assert "All tokens revoked" in printed
    else:
        assert "302 /dashboard" in printed and "session_token" in printed and "refused:" in printed
