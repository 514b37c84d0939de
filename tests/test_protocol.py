"""The daemon protocol codec: the worked examples of the spec, round trips and malformed input."""

from __future__ import annotations

import json

import pytest

from computesdk_core.protocol import Message, decode_message, encode_file_path, encode_frame, encode_message
from computesdk_core.protocol.frames import FrameError, FrameKind, decode_frame, decode_map
from computesdk_core.protocol.paths import decode_file_path


def test_subscribe_frame_matches_the_worked_example() -> None:
    assert encode_frame("subscribe", "signals").hex() == (
        "01" "0007" "7369676e616c73" "0009" "737562736372696265" "00000002" "0000"
    )


def test_terminal_input_frame_matches_the_worked_example() -> None:
    frame = encode_frame("terminal:input", "", {"terminal_id": "t1", "input": "ls\n"})
    assert frame.hex() == (
        "03" "0000" "000e" "7465726d696e616c3a696e707574" "00000025" "0002"
        "000b" "7465726d696e616c5f6964" "01" "00000002" "7431"
        "0005" "696e707574" "01" "00000003" "6c730a"
    )


def test_numbers_travel_as_float64_and_come_back_as_ints_when_whole() -> None:
    frame = encode_frame("terminal:resize", "", {"terminal_id": "t1", "cols": 80, "rows": 24})
    assert "02000000084054000000000000" in frame.hex()
    assert decode_frame(frame)[3] == {"terminal_id": "t1", "cols": 80, "rows": 24}


@pytest.mark.parametrize("data", [
    {"s": "héllo ✓", "n": 2.5, "t": True, "f": False, "b": bytes(range(256))},
    {},
])
def test_map_round_trip_keeps_every_value_type(data: dict) -> None:
    kind, channel, message_type, decoded = decode_frame(encode_frame("file:changed", "watcher:w1", data))
    assert (kind, channel, message_type, decoded) == (FrameKind.DATA, "watcher:w1", "file:changed", data)


def test_nested_values_travel_as_json_strings() -> None:
    decoded = decode_frame(encode_frame("x", "", {"list": [1, 2], "none": None}))[3]
    assert json.loads(decoded["list"]) == [1, 2] and decoded["none"] == ""


def test_raw_string_payload_is_returned_as_bytes_when_it_is_not_a_map() -> None:
    assert decode_frame(encode_frame("terminal:output", "c", "hello"))[3] == b"hello"


@pytest.mark.parametrize("frame", [b"", b"\x09", b"\x03\x00\x05ab", encode_frame("x", "c", {"a": "b"})[:-1]])
def test_malformed_frames_raise_frame_error(frame: bytes) -> None:
    with pytest.raises(FrameError):
        decode_frame(frame)


def test_a_map_with_trailing_bytes_is_rejected() -> None:
    with pytest.raises(FrameError):
        decode_map(b"\x00\x00extra")


def test_json_mode_envelope_round_trip_and_text_frames_in_binary_mode() -> None:
    message = Message("terminal:output", "terminal:t1", {"output": "hi", "encoding": "raw"})
    text = encode_message(message, "json")
    assert json.loads(text) == {"type": "terminal:output", "channel": "terminal:t1", "data": {"output": "hi", "encoding": "raw"}}
    assert decode_message(text) == message
    assert decode_message(encode_message(message, "binary")) == message


@pytest.mark.parametrize("text", ["not json", "[1]", '{"channel": "x"}'])
def test_bad_json_messages_raise_frame_error(text: str) -> None:
    with pytest.raises(FrameError):
        decode_message(text)


@pytest.mark.parametrize("path, encoded", [
    ("/path with spaces/file.txt", "/path%20with%20spaces/file.txt"),
    ("a#b?c%d", "a%23b%3Fc%25d"),
    ("/中文", "/%E4%B8%AD%E6%96%87"),
    ("//tmp//foo.txt", "/tmp/foo.txt"),
    ("home/user/file.txt", "home/user/file.txt"),
    ("/dir/", "/dir"),
    ("", ""),
    ("/keep/./and/../dots", "/keep/./and/../dots"),
    ("/it's(fine)!", "/it's(fine)!"),
])
def test_file_paths_are_encoded_like_the_typescript_client(path: str, encoded: str) -> None:
    assert encode_file_path(path) == encoded


@pytest.mark.parametrize("path", ["/tmp/a b/ü#?.txt", "rel/x%y", "/"])
def test_file_path_decoding_inverts_encoding(path: str) -> None:
    expected = path.rstrip("/") or "/"
    assert decode_file_path(encode_file_path(path)) == expected
