"""Connect-RPC server streams over HTTP/1.1: the 5-byte envelope framing, JSON codec.

Each envelope is one flags byte, a big-endian 32-bit length and that many bytes of JSON. Flag
bit 0x02 marks the end-of-stream message, which carries the call's error when it failed.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any, BinaryIO

from computesdk_core import errors

END_STREAM = 0x02
COMPRESSED = 0x01
_HEADER = struct.Struct(">BI")
# Far above any message envd sends; a larger length means the stream is not Connect framing.
MAX_MESSAGE = 64 * 1024 * 1024


def envelope(message: Any, flags: int = 0) -> bytes:
    """Frame one JSON message."""
    data = json.dumps(message, separators=(",", ":")).encode()
    return _HEADER.pack(flags, len(data)) + data


class StreamError(errors.ProviderAPIError):
    """A server stream ended with an error; ``code`` is the Connect code (e.g. ``deadline_exceeded``)."""

    code: str


def messages(raw: BinaryIO) -> Iterator[dict[str, Any]]:
    """Yield the data messages of a response body until its end-of-stream message.

    Raises StreamError for an end message carrying an error, ConnectionLostError when the body
    stops before the end message, and ProviderAPIError for bytes that are not Connect framing.
    """
    while True:
        header = _read_exactly(raw, _HEADER.size)
        if header is None:
            raise errors.ConnectionLostError("e2b: the envd stream ended before its end-of-stream message")
        flags, length = _HEADER.unpack(header)
        if length > MAX_MESSAGE or flags & COMPRESSED:
            raise errors.ProviderAPIError("e2b: envd sent a stream that is not uncompressed Connect framing",
                                          status_code=None, provider="e2b", request_id=None)
        body = _read_exactly(raw, length) if length else b""
        if body is None:
            raise errors.ConnectionLostError("e2b: the envd stream broke off inside a message")
        try:
            message = json.loads(body) if body else {}
        except ValueError:
            raise errors.ProviderAPIError("e2b: envd sent a stream message that is not JSON",
                                          status_code=None, provider="e2b", request_id=None) from None
        if flags & END_STREAM:
            error = message.get("error") if isinstance(message, dict) else None
            if error:
                code = str(error.get("code", "unknown"))
                raise StreamError(f"e2b: envd: {error.get('message') or code}", code=code,
                                  status_code=None, provider="e2b", request_id=None)
            return
        if isinstance(message, dict):
            yield message


def _read_exactly(raw: BinaryIO, size: int) -> bytes | None:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        chunk = raw.read(remaining)
        if not chunk:
            return None
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)
