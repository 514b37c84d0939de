"""Secrets (API keys, tokens) kept out of messages, ``repr`` output and log lines.

A credential is wrapped in :class:`Secret` as soon as it is read; its ``str`` and ``repr``
are masked and the value is only reachable through :meth:`Secret.reveal`. Every revealed
value is also remembered so that :func:`redact` can scrub it from text that came from
elsewhere (a vendor's error message that echoes the key, for example).
"""

from __future__ import annotations

import threading

_MASK = "***"
_known: set[str] = set()
_lock = threading.Lock()
# Short values would scrub ordinary words out of messages; real credentials are longer.
_MIN_SCRUB_LENGTH = 6


class Secret:
    """A credential whose value never shows in ``str``, ``repr`` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= _MIN_SCRUB_LENGTH:
            with _lock:
                _known.add(value)

    def reveal(self) -> str:
        """Return the real value, to put in a request header and nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str) -> str:
    """Replace every known secret value in ``text`` with a mask."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, _MASK)
    return text
