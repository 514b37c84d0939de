"""Which interpreter runs a snippet of code: named languages, and a guess when none is named."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """A language the daemon can run: its reported name, interpreter and file suffix."""

    name: str
    interpreter: str
    suffix: str


_PYTHON = Language("python", "python3", ".py")
_NODE = Language("node", "node", ".js")

LANGUAGES: dict[str, Language] = {
    "python": _PYTHON,
    "python3": _PYTHON,
    "node": _NODE,
    "javascript": _NODE,
    "js": _NODE,
    "bash": Language("bash", "bash", ".sh"),
    "sh": Language("sh", "sh", ".sh"),
    "ruby": Language("ruby", "ruby", ".rb"),
}

_PYTHON_HINTS = re.compile(
    r"""
    \bprint\s*\(                                   # print(...)
    | ^\s*def\s+\w+\s*\(                           # def f(
    | ^\s*from\s+[\w.]+\s+import\s                 # from x import y
    | ^\s*import\s+[\w.]+(\s+as\s+\w+)?\s*(,\s*[\w.]+\s*)*$   # import x[, y] (not JS's import .. from '..')
    | \bf["']                                      # f-strings
    | __\w+__                                      # dunders (__name__, __init__)
    """,
    re.MULTILINE | re.VERBOSE,
)


def language_for(name: str | None, code: str) -> Language | None:
    """The language called ``name`` (None if unknown), or a guess from ``code`` when unnamed."""
    if name:
        return LANGUAGES.get(name.strip().lower())
    return _PYTHON if _PYTHON_HINTS.search(code) else _NODE
