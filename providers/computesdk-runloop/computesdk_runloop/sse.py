"""Server-Sent Events (``text/event-stream``) parsing, as Runloop's execution streams send them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs


@attrs.frozen
class Event:
    """One dispatched event: its ``event`` type ("message" unless named) and its joined data lines."""

    type: str
    data: str


def iter_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Events of a byte stream cut anywhere; lines end in LF or CRLF, ``:`` lines are comments."""
    buffer = bytearray()
    kind, data = "", list[str]()
    for chunk in chunks:
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            line = bytes(buffer[start:end]).rstrip(b"\r").decode("utf-8", errors="replace")
            start = end + 1
            if not line:
                if data:
                    yield Event(kind or "message", "\n".join(data))
                kind, data = "", []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)
        del buffer[:start]
