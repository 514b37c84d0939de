"""The message envelope ``{type, channel?, data?}`` in both WebSocket modes (JSON and binary)."""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs

from computesdk_core.protocol.frames import FrameError, decode_frame, encode_frame

Mode = Literal["binary", "json"]


@attrs.frozen
class Message:
    """One logical WebSocket message."""

    type: str
    channel: str = ""
    data: Any = attrs.field(factory=dict)


def encode_message(message: Message, mode: Mode) -> bytes | str:
    """Encode for the wire: bytes in binary mode, a JSON text frame in JSON mode."""
    if mode == "binary":
        return encode_frame(message.type, message.channel, message.data)
    envelope: dict[str, Any] = {"type": message.type}
    if message.channel:
        envelope["channel"] = message.channel
    if message.data not in (None, {}):
        envelope["data"] = message.data
    return json.dumps(envelope)


def decode_message(frame: bytes | str) -> Message:
    """Decode a frame of either mode: text frames are JSON even on a binary connection."""
    if isinstance(frame, str):
        try:
            envelope = json.loads(frame)
        except json.JSONDecodeError as exc:
            raise FrameError(f"text frame is not JSON: {exc}") from exc
        if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str):
            raise FrameError("a JSON message needs a string 'type'")
        return Message(envelope["type"], envelope.get("channel") or "", envelope.get("data") or {})
    _, channel, message_type, data = decode_frame(frame)
    return Message(message_type, channel, data)
