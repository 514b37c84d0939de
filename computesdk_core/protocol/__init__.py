"""The daemon's wire protocol, written once and used by both the client and the daemon.

See ``frames`` for the WebSocket binary frames, ``messages`` for the message envelope and
``paths`` for how file paths are put in URLs.
"""

from computesdk_core.protocol.frames import FrameKind, decode_frame, encode_frame
from computesdk_core.protocol.messages import Message, decode_message, encode_message
from computesdk_core.protocol.paths import decode_file_path, encode_file_path

__all__ = [
    "FrameKind",
    "Message",
    "decode_file_path",
    "decode_frame",
    "decode_message",
    "encode_file_path",
    "encode_frame",
    "encode_message",
]
