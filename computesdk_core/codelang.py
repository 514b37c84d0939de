"""Which language a ``run_code`` snippet is written in, when the caller does not say."""

from __future__ import annotations

import re

# Patterns a snippet in Python shows and one in JavaScript does not (the seeds' list).
_PYTHON_HINTS = [
    re.compile(r"^\s*print\s*\(", re.M),
    re.compile(r"^\s*(import\s+\w+|from\s+[\w.]+\s+import\s)", re.M),
    re.compile(r"^\s*def\s+\w+\s*\(", re.M),
    re.compile(r"\bf[\"']"),
    re.compile(r"__\w+__"),
    re.compile(r"^\s*(elif|class\s+\w+.*:|with\s.+:|for\s+\w+\s+in\s.+:)\s*$", re.M),
]
_JS_HINTS = [
    re.compile(r"\b(console\.log|require\s*\(|const\s|let\s|function\s*\w*\s*\(|=>)"),
]
ALIASES = {
    "python": "python", "python3": "python", "py": "python",
    "node": "node", "javascript": "node", "js": "node", "nodejs": "node",
}


def detect_language(code: str) -> str:
    """Return ``"python"`` when the snippet looks like Python, else ``"node"`` (the seeds' rule)."""
    python_score = sum(1 for pattern in _PYTHON_HINTS if pattern.search(code))
    js_score = sum(1 for pattern in _JS_HINTS if pattern.search(code))
    return "python" if python_score > js_score or (python_score and not js_score) else "node"


def normalise_language(language: str | None, code: str) -> str:
    """Resolve a caller's language name (or None) to ``"python"`` or ``"node"``."""
    if language is None:
        return detect_language(code)
    try:
        return ALIASES[language.lower()]
    except KeyError:
        from computesdk_core.errors import ValidationError

        raise ValidationError(
            f"unknown language {language!r}; use one of: {', '.join(sorted(set(ALIASES)))}"
        ) from None
