"""Reading and editing .env text the way python-dotenv reads it, keeping every other byte.

python-dotenv's parser returns each binding with its original text, so an edit replaces the
text of the bindings it changes and leaves comments, blank lines, odd spacing and untouched
bindings exactly as they were. Values are written back in a form dotenv reads as the same
string: bare when that is unambiguous, else single-quoted (single quotes are never
interpolated, so a ``${X}`` in a value stays literal), with ``\\`` and ``'`` escaped.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping

from dotenv import dotenv_values
from dotenv.parser import parse_stream

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BARE_VALUE = re.compile(r"[A-Za-z0-9_./:@+,%-]+")
_EXPORT = re.compile(r"\s*export\s+")


def invalid_keys(keys: Iterable[str]) -> list[str]:
    """The keys that are not valid variable names."""
    return [key for key in keys if not KEY_PATTERN.fullmatch(key)]


def read_values(text: str) -> dict[str, str]:
    """The variables of a .env text (literal values: no ``${X}`` expansion; bare keys skipped)."""
    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {key: value for key, value in values.items() if value is not None}


def quote_value(value: str) -> str:
    """A value as .env text that dotenv reads back as ``value``."""
    if _BARE_VALUE.fullmatch(value):
        return value
    return "'" + re.sub(r"[\\']", lambda match: "\\" + match.group(), value) + "'"


def _line_ending(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _binding_text(key: str, value: str, original: str | None, newline: str) -> str:
    prefix = ""
    if original is not None:
        exported = _EXPORT.match(original)
        prefix = exported.group() if exported else original[: len(original) - len(original.lstrip())]
    return f"{prefix}{key}={quote_value(value)}{newline}"


def update_text(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with ``variables`` set: bindings of those keys rewritten in place, new ones appended."""
    newline = _line_ending(text)
    parts: list[str] = []
    written: set[str] = set()
    for binding in parse_stream(io.StringIO(text)):
        original = binding.original.string
        key = binding.key
        if key is None or key not in variables:
            parts.append(original)
            continue
        if key in written:
            continue  # a repeated key: its first place keeps the one value
        ending = original[len(original.rstrip("\r\n")):]
        parts.append(_binding_text(key, variables[key], original, ending))
        written.add(key)
    result = "".join(parts)
    missing = [key for key in variables if key not in written]
    if missing and result and not result.endswith(("\n", "\r")):
        result += newline
    for key in missing:
        result += _binding_text(key, variables[key], None, newline)
    return result


def remove_keys(text: str, keys: Iterable[str]) -> tuple[str, list[str]]:
    """``text`` without the bindings of ``keys``, and which of them were there."""
    wanted = set(keys)
    parts: list[str] = []
    removed: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is not None and binding.key in wanted:
            if binding.key not in removed:
                removed.append(binding.key)
            continue
        parts.append(binding.original.string)
    return "".join(parts), removed
