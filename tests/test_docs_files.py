"""The examples of docs/files.md run against a local sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from tests.docs_examples import python_blocks, run_examples


def test_the_examples_run(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks("files.md")
    assert len(blocks) >= 6, "files.md lost its examples"
    run_examples("files.md", sandbox)
    printed = capsys.readouterr().out.splitlines()
    for line in ("hello.txt", "13", "0", "config.json", "start.sh", "4", "Directories: ['src']",
                 "Directory does not exist", "list() of a missing directory raises PathNotFoundError",
                 "Hello, World!", "Config file not found, using defaults", "File still exists: False",
                 "ok   /project/a.txt", "[True, True]", "Final version", "1",
                 "/project/ok.txt True None", "File exists!", "True", "False", "File created successfully"):
        assert line in printed, f"{line!r} not printed"
    assert any(line.startswith("/project/missing.txt False no such file") for line in printed)
    assert "['/project/new.txt', '/project/old.txt', '/project/updated.txt']" in printed
