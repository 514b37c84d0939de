"""The examples of docs/env.md run against a local sandbox."""

from __future__ import annotations

import pytest

from computesdk_core import compute
from tests.docs_examples import python_blocks, run_examples

pytestmark = pytest.mark.timeout(120)


def test_the_examples_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(python_blocks("env.md")) == 4, "docs/env.md lost examples"
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        run_examples("env.md", sandbox)
        final = sandbox.env.retrieve(".env")
        production = sandbox.env.retrieve(".env.production")
        local = sandbox.env.retrieve(".env.local")
    finally:
        sandbox.destroy()
    printed = capsys.readouterr().out
    assert "{'API_KEY': 'secret', 'DEBUG': 'true', 'PORT': '3000'}" in printed
    assert "No local config found, using defaults" in printed and "Created new local environment file" in printed
    assert "['API_KEY', 'DEBUG']" in printed and "['OLD_KEY', 'DEPRECATED']" in printed
    assert "['line one', 'line two']" in printed and "# app settings" in printed
    assert "DEBUG variable removed from local environment" in printed
    assert "Production environment file created" in printed
    assert final == {"API_KEY": "new-secret", "DEBUG": "true", "PORT": "3000",
                     "GREETING": "it's a \"test\" # not a comment", "MOTD": "line one\nline two"}
    assert production == {"NODE_ENV": "production", "DATABASE_URL": "postgres://prod-server/db"}
    assert local == {"LOG_LEVEL": "verbose"}
