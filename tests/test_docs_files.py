"""The examples of docs/files.md run against a local sandbox."""

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


def test_the_examples_run(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _BLOCK.findall((DOCS / "files.md").read_text())
    assert len(blocks) >= 6, "files.md lost its examples"
    namespace: dict[str, Any] = {"sandbox": sandbox}
    # One namespace for the page: later examples use what earlier ones made, as a reader would.
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"files.md[python block {number}]", "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    for line in ("hello.txt", "13", "0", "config.json", "start.sh", "4", "Directories: ['src']",
                 "Directory does not exist", "list() of a missing directory raises PathNotFoundError",
                 "Hello, World!", "Config file not found, using defaults", "File still exists: False",
                 "ok   /project/a.txt", "[True, True]", "Final version", "1",
                 "/project/ok.txt True None", "File exists!", "True", "False", "File created successfully"):
        assert line in printed, f"{line!r} not printed"
    assert any(line.startswith("/project/missing.txt False no such file") for line in printed)
    assert "['/project/new.txt', '/project/old.txt', '/project/updated.txt']" in printed
