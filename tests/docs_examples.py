"""Running the ```python blocks of a page in docs/ against a sandbox, as a reader would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: str) -> list[str]:
    """The Python examples of ``docs/<page>``, in order."""
    return _BLOCK.findall((DOCS / page).read_text())


def run_examples(page: str, sandbox: Any) -> dict[str, Any]:
    """Execute every example of ``page`` in one namespace (later ones use what earlier ones made)."""
    namespace: dict[str, Any] = {"sandbox": sandbox}
    for number, block in enumerate(python_blocks(page), 1):
        exec(compile(block, f"{page}[python block {number}]", "exec"), namespace)
    return namespace
