"""The file endpoints: binary-safe writes and reads, listing, existence, deletion, paths in URLs."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

from computesdk_daemon.testing import DaemonProcess

from computesdk_core.protocol import encode_file_path
from computesdk_core.wire import parse_datetime


def file_url(path: str) -> str:
    return "/files/" + encode_file_path(path)


def write(daemon: DaemonProcess, path: str, content: str = "", encoding: str | None = None) -> dict:
    body = {"path": path, "content": content}
    if encoding:
        body["encoding"] = encoding
    response = daemon.request("POST", "/files", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]["file"]


def test_text_round_trip_with_odd_names(daemon: DaemonProcess, tmp_path: Path) -> None:
    path = str(tmp_path / "dir with space" / "naïve #1 ?% 中文.txt")
    info = write(daemon, path, "héllo\nwörld ✓\n")
    assert info["path"] == path
    assert info["name"] == "naïve #1 ?% 中文.txt"
    assert info["size"] == len("héllo\nwörld ✓\n".encode())
    assert info["is_dir"] is False
    assert abs(parse_datetime(info["modified_at"]) - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(
        minutes=1
    )
    assert Path(path).read_text(encoding="utf-8") == "héllo\nwörld ✓\n"
    read = daemon.request("GET", file_url(path), params={"content": "true"}).json()["data"]
    assert read["content"] == "héllo\nwörld ✓\n"
    assert read["file"]["path"] == path
    meta = daemon.request("GET", file_url(path)).json()["data"]
    assert "content" not in meta and meta["file"]["size"] == info["size"]


def test_binary_round_trip_all_byte_values(daemon: DaemonProcess, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 3
    path = str(tmp_path / "bytes.bin")
    info = write(daemon, path, base64.b64encode(payload).decode(), encoding="base64")
    assert info["size"] == len(payload)
    assert Path(path).read_bytes() == payload
    read = daemon.request("GET", file_url(path), params={"content": "true", "encoding": "base64"}).json()[
        "data"
    ]
    assert read["encoding"] == "base64"
    assert base64.b64decode(read["content"]) == payload
    as_text = daemon.request("GET", file_url(path), params={"content": "true"}).json()["data"]
    assert "\ufffd" in as_text["content"]


def test_relative_paths_resolve_against_the_workdir(daemon: DaemonProcess) -> None:
    info = write(daemon, "nested/rel file.txt", "relative")
    expected = daemon.workdir / "nested" / "rel file.txt"
    assert info["path"] == str(expected)
    assert expected.read_text() == "relative"
    read = daemon.request("GET", file_url("nested/rel file.txt"), params={"content": "true"}).json()["data"]
    assert read["content"] == "relative"


def test_overwrite_and_empty_default_content(daemon: DaemonProcess, tmp_path: Path) -> None:
    path = str(tmp_path / "f.txt")
    write(daemon, path, "first version, longer")
    write(daemon, path, "second")
    assert Path(path).read_text() == "second"
    assert daemon.request("POST", "/files", json={"path": path}).json()["data"]["file"]["size"] == 0


def test_list_directory(daemon: DaemonProcess, tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("bb")
    (tmp_path / "a dir").mkdir()
    response = daemon.request("GET", "/files", params={"path": str(tmp_path)})
    data = response.json()["data"]
    assert data["path"] == str(tmp_path)
    by_name = {entry["name"]: entry for entry in data["files"]}
    assert set(by_name) == {"a dir", "b.txt"}
    assert by_name["a dir"]["is_dir"] is True
    assert by_name["b.txt"] == {
        **by_name["b.txt"],
        "size": 2,
        "is_dir": False,
        "path": str(tmp_path / "b.txt"),
    }


def test_list_defaults_to_the_workdir(daemon: DaemonProcess) -> None:
    (daemon.workdir / "in-workdir.txt").write_text("x")
    data = daemon.request("GET", "/files").json()["data"]
    assert data["path"] == str(daemon.workdir)
    assert "in-workdir.txt" in [entry["name"] for entry in data["files"]]


def test_head_reports_existence(daemon: DaemonProcess, tmp_path: Path) -> None:
    path = str(tmp_path / "exists é.txt")
    assert daemon.request("HEAD", file_url(path)).status_code == 404
    write(daemon, path, "x")
    response = daemon.request("HEAD", file_url(path))
    assert response.status_code == 200
    assert response.content == b""


def test_delete_file_and_directory_recursively(daemon: DaemonProcess, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    write(daemon, str(tree / "a" / "b" / "deep.txt"), "deep")
    write(daemon, str(tree / "top.txt"), "top")
    single = daemon.request("DELETE", file_url(str(tree / "top.txt")))
    assert single.status_code == 204
    assert not (tree / "top.txt").exists()
    whole = daemon.request("DELETE", file_url(str(tree)))
    assert whole.status_code == 204
    assert not tree.exists()
    again = daemon.request("DELETE", file_url(str(tree)))
    assert again.status_code == 404


def test_not_found_and_wrong_kind_errors(daemon: DaemonProcess, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.txt")
    assert daemon.request("GET", file_url(missing)).status_code == 404
    assert daemon.request("GET", file_url(missing), params={"content": "true"}).status_code == 404
    assert daemon.request("GET", "/files", params={"path": missing}).status_code == 404
    write(daemon, str(tmp_path / "plain.txt"), "x")
    not_dir = daemon.request("GET", "/files", params={"path": str(tmp_path / "plain.txt")})
    assert not_dir.status_code == 400
    directory = daemon.request("GET", file_url(str(tmp_path)), params={"content": "true"})
    assert directory.status_code == 400
    assert "error" in directory.json()
    onto_dir = daemon.request("POST", "/files", json={"path": str(tmp_path), "content": "x"})
    assert onto_dir.status_code == 400


def test_bad_write_bodies_are_400(daemon: DaemonProcess, tmp_path: Path) -> None:
    for body in (
        {},
        {"path": ""},
        {"path": str(tmp_path / "x"), "content": 5},
        {"path": str(tmp_path / "x"), "content": "!!", "encoding": "base64"},
        {"path": str(tmp_path / "x"), "encoding": "utf-16"},
    ):
        response = daemon.request("POST", "/files", json=body)
        assert response.status_code == 400, body


def test_double_slash_means_absolute_single_slash_means_relative(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    relative = str(tmp_path).lstrip("/") + "/same-name.txt"
    write(daemon, str(tmp_path / "same-name.txt"), "absolute")
    write(daemon, relative, "relative")
    assert (daemon.workdir / relative).read_text() == "relative"
    absolute_url = "/files/" + encode_file_path(str(tmp_path / "same-name.txt"))
    assert absolute_url.startswith("/files//")
    relative_url = "/files/" + encode_file_path(relative)
    read = [
        daemon.request("GET", url, params={"content": "true"}).json()["data"]["content"]
        for url in (absolute_url, relative_url)
    ]
    assert read == ["absolute", "relative"]
