"""Binary WebSocket frames of the daemon protocol (big-endian, UTF-8).

A frame is: kind (u8), channel (u16 length + bytes), type (u16 length + bytes), data (u32 length
+ bytes). ``data`` is a flat key-value map when the message carries an object, raw UTF-8 when it
carries a string, raw bytes when it carries bytes, and empty for none.
"""

from __future__ import annotations

import enum
import json
import struct
from typing import Any

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_F64 = struct.Struct(">d")


class FrameKind(enum.IntEnum):
    """The first byte of a frame: it separates control frames from data frames."""

    SUBSCRIBE = 0x01
    UNSUBSCRIBE = 0x02
    DATA = 0x03
    ERROR = 0x04
    CONNECTED = 0x05


class ValueType(enum.IntEnum):
    """Type tag of one value in a key-value map."""

    STRING = 0x01
    NUMBER = 0x02
    BOOLEAN = 0x03
    BYTES = 0x04


class FrameError(ValueError):
    """A frame that does not follow the layout."""


def kind_for_type(message_type: str) -> FrameKind:
    """The frame kind a sender uses for a message type."""
    if message_type == "subscribe":
        return FrameKind.SUBSCRIBE
    if message_type == "unsubscribe":
        return FrameKind.UNSUBSCRIBE
    return FrameKind.DATA


def _encode_value(value: Any) -> tuple[int, bytes]:
    # bool before number: bool is an int subclass.
    if isinstance(value, bool):
        return ValueType.BOOLEAN, b"\x01" if value else b"\x00"
    if isinstance(value, (int, float)):
        return ValueType.NUMBER, _F64.pack(float(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ValueType.BYTES, bytes(value)
    if value is None:
        return ValueType.STRING, b""
    if isinstance(value, (dict, list, tuple)):
        # The map is flat, so nested values travel as JSON strings.
        return ValueType.STRING, json.dumps(value).encode()
    return ValueType.STRING, str(value).encode()


def encode_map(data: dict[str, Any]) -> bytes:
    """Encode a flat dict as a key-value map."""
    parts = [_U16.pack(len(data))]
    for key, value in data.items():
        raw_key = key.encode()
        value_type, raw = _encode_value(value)
        parts += [_U16.pack(len(raw_key)), raw_key, _U8.pack(value_type), _U32.pack(len(raw)), raw]
    return b"".join(parts)


def decode_map(payload: bytes) -> dict[str, Any]:
    """Decode a key-value map; raises FrameError when the payload is not one."""
    view = memoryview(payload)
    try:
        (count,) = _U16.unpack_from(view, 0)
        offset = 2
        result: dict[str, Any] = {}
        for _ in range(count):
            (key_len,) = _U16.unpack_from(view, offset)
            offset += 2
            key = bytes(view[offset : offset + key_len]).decode()
            offset += key_len
            (value_type,) = _U8.unpack_from(view, offset)
            (value_len,) = _U32.unpack_from(view, offset + 1)
            offset += 5
            raw = bytes(view[offset : offset + value_len])
            if len(raw) != value_len:
                raise FrameError("value runs past the end of the map")
            offset += value_len
            if value_type == ValueType.STRING:
                result[key] = raw.decode()
            elif value_type == ValueType.NUMBER:
                if value_len != 8:
                    raise FrameError("a number must be 8 bytes")
                number = _F64.unpack(raw)[0]
                result[key] = int(number) if number.is_integer() else number
            elif value_type == ValueType.BOOLEAN:
                result[key] = raw != b"\x00"
            elif value_type == ValueType.BYTES:
                result[key] = raw
            else:
                raise FrameError(f"unknown value type 0x{value_type:02x}")
    except (struct.error, UnicodeDecodeError) as exc:
        raise FrameError(str(exc)) from exc
    if offset != len(payload):
        raise FrameError("trailing bytes after the map")
    return result


def encode_frame(message_type: str, channel: str = "", data: Any = None) -> bytes:
    """Encode one message as a binary frame."""
    kind = kind_for_type(message_type)
    if kind is not FrameKind.DATA:
        payload = encode_map({})
    elif data is None:
        payload = b""
    elif isinstance(data, dict):
        payload = encode_map(data)
    elif isinstance(data, str):
        payload = data.encode()
    else:
        payload = bytes(data)
    raw_channel = channel.encode()
    raw_type = message_type.encode()
    return b"".join(
        [
            _U8.pack(kind),
            _U16.pack(len(raw_channel)),
            raw_channel,
            _U16.pack(len(raw_type)),
            raw_type,
            _U32.pack(len(payload)),
            payload,
        ]
    )


def decode_frame(frame: bytes) -> tuple[FrameKind, str, str, Any]:
    """Decode a binary frame into ``(kind, channel, type, data)``.

    ``data`` is a dict when the payload is a key-value map, ``{}`` when it is empty, and the raw
    bytes otherwise (the receiver knows whether a type carries text).
    """
    view = memoryview(frame)
    try:
        kind = FrameKind(view[0])
        (channel_len,) = _U16.unpack_from(view, 1)
        offset = 3
        channel = bytes(view[offset : offset + channel_len]).decode()
        offset += channel_len
        (type_len,) = _U16.unpack_from(view, offset)
        offset += 2
        message_type = bytes(view[offset : offset + type_len]).decode()
        offset += type_len
        (data_len,) = _U32.unpack_from(view, offset)
        offset += 4
        payload = bytes(view[offset : offset + data_len])
    except (IndexError, ValueError, struct.error, UnicodeDecodeError) as exc:
        raise FrameError(f"malformed frame: {exc}") from exc
    if len(payload) != data_len:
        raise FrameError("frame is shorter than its data length")
    if not payload:
        return kind, channel, message_type, {}
    try:
        return kind, channel, message_type, decode_map(payload)
    except FrameError:
        return kind, channel, message_type, payload
