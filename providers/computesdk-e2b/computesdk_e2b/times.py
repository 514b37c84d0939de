"""RFC 3339 times as E2B writes them (``Z`` suffix, up to nanoseconds)."""

from __future__ import annotations

import datetime as dt


def parse_time(value: object) -> dt.datetime | None:
    """An aware datetime, or None for anything that is not an RFC 3339 string."""
    if not isinstance(value, str):
        return None
    text = value.replace("Z", "+00:00")
    if "." in text:
        # Python reads at most microseconds; Go writes nanoseconds.
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits):]}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
