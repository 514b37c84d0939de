"""The examples of docs/watchers.md run against a local sandbox (real file events)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.docs_examples import python_blocks, run_examples


def test_the_examples_run(sandbox: Any, capsys: pytest.CaptureFixture[str]) -> None:
    blocks = python_blocks("watchers.md")
    assert len(blocks) >= 8, "watchers.md lost its examples"
    run_examples("watchers.md", sandbox)
    printed = capsys.readouterr().out.splitlines()
    expected = [
        "add: /project/src/app.ts", "change: /project/src/app.ts", "unlink: /project/src/app.ts",
        "outside the ignored: add /project/readme.md",
        "File add: /project/config/settings.json", 'New content: {"debug": true}',
        "Active watchers: 1", "Path /project/config is not watched",
        "Path: /project/src", "Status: active", "Watcher is actively monitoring", "Ignored patterns: ()",
        "Destroyed: True", "already destroyed", "All watchers destroyed",
        "Ignored: ['*.test.ts']", "Active after destroy: False", "inside the block: active",
        "after the block: stopped",
        "addDir: /project/src/utils", "Directory created: /project/src/utils",
        "File created: /project/src/utils/math.ts", "File deleted: /project/src/utils/math.ts",
        "Directory deleted: /project/src/utils", "watcher destroyed",
        "add: /project/config/app.yaml", "Content length: 22",
        "Handler 2: /project/src/second.ts", "Build complete!",
        "Watcher stopped", "Result file created, cleaning up", "Watcher active: False",
    ]
    for line in expected:
        assert line in printed, f"{line!r} not printed"
    ignored = ("node_modules", "debug.log")
    assert not [line for line in printed if line.startswith("outside the ignored") and any(i in line for i in ignored)]
    assert "Handler 1: /project/src/second.ts" not in printed and "Change: /project/src/second.ts" not in printed
    assert any(line.startswith("No such watcher:") for line in printed)
