"""Conformance tests of ``sandbox.run_code``: Python, Node.js, detection and errors."""

from __future__ import annotations

from typing import Any

import pytest

from computesdk_core.types import CodeResult

# Quotes, a dollar sign and a backslash: the snippet must reach the interpreter unchanged.
PYTHON_SNIPPET = '''
def greet(name):
    return f"Hello, {name}!"

print(greet("World"))
print('it\\'s "$HOME" \\\\ done')
'''


class CodeTests:
    """run_code with an explicit language, with detection, and with a failing snippet."""

    def test_run_code_python(self, sandbox: Any) -> None:
        """A multi-line Python snippet with quotes and ``$`` runs and prints exactly its output."""
        result = sandbox.run_code(PYTHON_SNIPPET, language="python")
        assert isinstance(result, CodeResult)
        assert (result.exit_code, result.language) == (0, "python")
        assert result.output == 'Hello, World!\nit\'s "$HOME" \\ done\n'

    def test_run_code_node(self, sandbox: Any, node_available: bool) -> None:
        """A Node.js snippet runs when the sandbox has node."""
        if not node_available:
            pytest.skip("the sandbox has no node executable")
        result = sandbox.run_code('const n = 6 * 7;\nconsole.log(`answer ${n}`, "$HOME");', language="node")
        assert (result.exit_code, result.language) == (0, "node")
        assert result.output == "answer 42 $HOME\n"

    def test_run_code_detects_python(self, sandbox: Any) -> None:
        """Without a language, ``print("x")`` runs as Python."""
        result = sandbox.run_code('print("x")')
        assert (result.language, result.exit_code, result.output) == ("python", 0, "x\n")

    def test_run_code_detects_node(self, sandbox: Any, node_available: bool) -> None:
        """Without a language, ``console.log("x")`` is taken for Node.js (and runs when node exists)."""
        result = sandbox.run_code('console.log("x")')
        assert result.language == "node"
        if node_available:
            assert (result.exit_code, result.output) == (0, "x\n")

    def test_run_code_error_gives_nonzero_exit_and_traceback(self, sandbox: Any) -> None:
        """A snippet that raises is a result: non-zero exit code, traceback in the output."""
        result = sandbox.run_code(
            'print("before")\nraise ValueError("conformance-boom")', language="python"
        )
        assert result.exit_code != 0
        assert "before" in result.output
        assert "Traceback" in result.output
        assert "ValueError: conformance-boom" in result.output
