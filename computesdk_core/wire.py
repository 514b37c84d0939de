"""The one cattrs converter used for every JSON body the library sends or reads."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import cattrs

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=False)


def parse_datetime(value: Any) -> dt.datetime:
    """Read an ISO-8601 string (``Z`` suffix allowed) or epoch seconds as an aware UTC datetime."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, (int, float)):
        parsed = dt.datetime.fromtimestamp(value, dt.timezone.utc)
    else:
        text = str(value)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def format_datetime(value: dt.datetime) -> str:
    """Write an aware datetime as ISO-8601 in UTC with a ``Z`` suffix, as the daemon does."""
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


converter.register_structure_hook(dt.datetime, lambda value, _: parse_datetime(value))
converter.register_unstructure_hook(dt.datetime, format_datetime)


def structure(data: Any, cls: type[T]) -> T:
    """Build ``cls`` from a decoded JSON value, ignoring fields it does not know."""
    return converter.structure(data, cls)


def unstructure(value: Any) -> Any:
    """Turn an attrs value into JSON-ready data."""
    return converter.unstructure(value)
