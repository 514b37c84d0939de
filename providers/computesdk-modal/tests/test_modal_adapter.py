"""ModalAdapter's translation: what it hands to the ``modal`` package and what it makes of the answers.

The modal package is real; only its entry points the adapter calls (Client, App, Image, Sandbox)
are replaced by mocks, so arguments and Modal's own exception classes are exactly the real ones.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

import modal
import modal.exception as mx
import pytest
from computesdk_modal.adapter import ModalAdapter, TunnelView

from computesdk_core import errors
from computesdk_core.secrets import Secret

TOKEN_ID = "ak-unit0123456789abcdef"
TOKEN_SECRET = "as-unitsecret0123456789abcdef"
pytestmark = pytest.mark.timeout(60)


class FakeModal:
    """The mocks standing in for modal.Client, App, Image and Sandbox, and one sandbox handle."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = object()
        self.app = SimpleNamespace(app_id="ap-123")
        self.handle = mock.MagicMock(name="sandbox")
        self.handle.object_id = "sb-abc"
        self.handle.poll.return_value = None
        self.handle.get_tags.return_value = {"team": "a"}
        self.Client = mock.MagicMock(name="Client")
        self.Client.from_credentials.return_value = self.client
        self.App = mock.MagicMock(name="App")
        self.App.lookup.return_value = self.app
        self.Image = mock.MagicMock(name="Image")
        self.Sandbox = mock.MagicMock(name="Sandbox")
        self.Sandbox.create.return_value = self.handle
        self.Sandbox.from_id.return_value = self.handle
        for name in ("Client", "App", "Image", "Sandbox"):
            monkeypatch.setattr(modal, name, getattr(self, name))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeModal:
    """The mocked modal entry points."""
    return FakeModal(monkeypatch)


@pytest.fixture
def adapter() -> ModalAdapter:
    """An adapter with unit-test tokens, App ``computesdk-test`` in environment ``dev``."""
    return ModalAdapter(Secret(TOKEN_ID), Secret(TOKEN_SECRET), "computesdk-test", "dev")


def _create(adapter: ModalAdapter, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {"image": "python:3.12-slim", "timeout": 90.2, "envs": {"A": "1"}, "ports": (3000,),
                                 "tags": {"computesdk_name": "n"}, "options": {"cpu": 2.0}}
    arguments.update(overrides)
    return adapter.create_sandbox(**arguments)


def test_create_passes_credentials_app_image_and_whole_seconds(adapter: ModalAdapter, fake: FakeModal) -> None:
    """Create connects with the tokens, looks the App up (creating it) and rounds the lifetime up."""
    view = _create(adapter)
    fake.Client.from_credentials.assert_called_once_with(TOKEN_ID, TOKEN_SECRET)
    fake.App.lookup.assert_called_once_with("computesdk-test", client=fake.client, environment_name="dev",
                                            create_if_missing=True)
    fake.Image.from_registry.assert_called_once_with("python:3.12-slim")
    fake.Sandbox.create.assert_called_once_with(
        app=fake.app, image=fake.Image.from_registry.return_value, timeout=91, env={"A": "1"}, encrypted_ports=[3000],
        tags={"computesdk_name": "n"}, client=fake.client, environment_name="dev", cpu=2.0,
    )
    assert (view.sandbox_id, view.running, dict(view.tags)) == ("sb-abc", True, {"computesdk_name": "n"})


def test_an_image_id_is_looked_up_by_id_once(adapter: ModalAdapter, fake: FakeModal) -> None:
    """A snapshot's ``im-`` id goes to Image.from_id (with the client), cached for the next create."""
    _create(adapter, image="im-snap1")
    _create(adapter, image="im-snap1")
    fake.Image.from_id.assert_called_once_with("im-snap1", client=fake.client)
    fake.Image.from_registry.assert_not_called()
    fake.Client.from_credentials.assert_called_once()


def test_an_unknown_image_id_is_a_validation_error(adapter: ModalAdapter, fake: FakeModal) -> None:
    """Modal's NotFoundError for the image is the caller's bad argument, not a missing sandbox."""
    fake.Image.from_id.side_effect = mx.NotFoundError("Image im-gone not found")
    with pytest.raises(errors.ValidationError, match="im-gone"):
        _create(adapter, image="im-gone")
    fake.Sandbox.create.assert_not_called()


def test_an_unknown_create_keyword_is_a_validation_error(adapter: ModalAdapter, fake: FakeModal) -> None:
    """A create option Modal does not take is refused with Modal's own words."""
    fake.Sandbox.create.side_effect = TypeError("create() got an unexpected keyword argument 'cpus'")
    with pytest.raises(errors.ValidationError, match="cpus"):
        _create(adapter, options={"cpus": 2})


def test_from_id_reads_status_and_tags_and_none_when_unknown(adapter: ModalAdapter, fake: FakeModal) -> None:
    """A known id gives its exit code and tags; Modal's NotFoundError gives None."""
    fake.handle.poll.return_value = 0
    view = adapter.from_id("sb-abc")
    assert view is not None and (view.exit_code, view.running, dict(view.tags)) == (0, False, {"team": "a"})
    fake.Sandbox.from_id.assert_called_once_with("sb-abc", client=fake.client)
    fake.Sandbox.from_id.side_effect = mx.NotFoundError("Sandbox sb-zzz not found")
    assert adapter.from_id("sb-zzz") is None


def test_list_is_scoped_to_the_app_and_filters_by_tags(adapter: ModalAdapter, fake: FakeModal) -> None:
    """list() asks for the App's sandboxes holding the tags."""
    fake.Sandbox.list.return_value = iter([fake.handle])
    views = adapter.list({"computesdk_name": "n"})
    fake.Sandbox.list.assert_called_once_with(app_id="ap-123", tags={"computesdk_name": "n"}, client=fake.client)
    assert [view.sandbox_id for view in views] == ["sb-abc"]


def test_terminate_detaches_and_is_quiet_for_an_unknown_id(adapter: ModalAdapter, fake: FakeModal) -> None:
    """terminate() stops and detaches the sandbox; an unknown id is no error."""
    adapter.terminate("sb-abc")
    fake.handle.terminate.assert_called_once_with()
    fake.handle.detach.assert_called_once_with()
    fake.Sandbox.from_id.side_effect = mx.NotFoundError("gone")
    adapter.terminate("sb-gone")


def test_exec_translates_arguments_and_streams(adapter: ModalAdapter, fake: FakeModal) -> None:
    """exec() passes argv, workdir, env and whole seconds; the streams and exit code come through."""
    process = fake.handle.exec.return_value
    process.stdout = iter(["a\n", "b\n"])
    process.stderr = iter([b"bytes\n"])
    process.wait.return_value = 3
    handle = adapter.exec("sb-abc", ["sh", "-c", "echo a"], workdir="/w", env={"K": "v"}, timeout=0.5)
    fake.handle.exec.assert_called_once_with("sh", "-c", "echo a", workdir="/w", env={"K": "v"}, timeout=1, text=True)
    assert (list(handle.stdout), list(handle.stderr), handle.wait()) == (["a\n", "b\n"], ["bytes\n"], 3)


def test_exec_deadline_ends_the_stream_quietly(adapter: ModalAdapter, fake: FakeModal) -> None:
    """Modal's ExecTimeoutError while reading ends the stream; wait() then reports -1."""

    def timed_out() -> Iterator[str]:
        yield "partial\n"
        raise mx.ExecTimeoutError("Deadline exceeded while streaming stdio")

    process = fake.handle.exec.return_value
    process.stdout = timed_out()
    process.wait.return_value = -1
    handle = adapter.exec("sb-abc", ["sleep", "9"], timeout=1)
    assert list(handle.stdout) == ["partial\n"]
    assert handle.wait() == -1


def test_files_go_through_the_filesystem_api(adapter: ModalAdapter, fake: FakeModal) -> None:
    """Reads, writes (data first), directories and removal use sandbox.filesystem."""
    fs = fake.handle.filesystem
    fs.read_bytes.return_value = b"\x00\xff"
    assert adapter.read_file("sb-abc", "/a") == b"\x00\xff"
    adapter.write_file("sb-abc", "/b", b"data")
    fs.write_bytes.assert_called_once_with(b"data", "/b")
    adapter.make_directory("sb-abc", "/d/e")
    fs.make_directory.assert_called_once_with("/d/e", create_parents=True)
    adapter.remove("sb-abc", "/d", recursive=True)
    fs.remove.assert_called_once_with("/d", recursive=True)
    fs.list_files.return_value = [SimpleNamespace(name="x", type=modal.types.FileType.DIRECTORY, size=4096,
                                                  modified_time=1_700_000_000.5)]
    [entry] = adapter.list_dir("sb-abc", "/d")
    assert (entry.name, entry.type, entry.size, entry.modified.timestamp()) == ("x", "directory", 4096, 1_700_000_000.5)


def test_missing_paths_become_path_not_found_and_stat_none(adapter: ModalAdapter, fake: FakeModal) -> None:
    """SandboxFilesystemNotFoundError is PathNotFoundError (a FileNotFoundError); stat says None."""
    fs = fake.handle.filesystem
    fs.read_bytes.side_effect = mx.SandboxFilesystemNotFoundError("no such file")
    with pytest.raises(FileNotFoundError, match="/missing"):
        adapter.read_file("sb-abc", "/missing")
    fs.stat.side_effect = mx.SandboxFilesystemNotFoundError("no such file")
    assert adapter.stat("sb-abc", "/missing") is None


@pytest.mark.parametrize(("raised", "expected"), [
    (mx.AuthError("Token invalid"), errors.AuthenticationError),
    (mx.PermissionDeniedError("not allowed"), errors.PermissionDeniedError),
    (mx.ResourceExhaustedError("quota"), errors.RateLimitError),
    (mx.InternalError("boom"), errors.ProviderAPIError),
    (mx.ConnectionError("unreachable"), errors.ConnectionLostError),
    (mx.SandboxTimeoutError("tunnels"), errors.OperationTimeoutError),
    (mx.SandboxTerminatedError("over"), errors.SandboxNotFoundError),
])
def test_modal_errors_map_to_computesdk_errors(adapter: ModalAdapter, fake: FakeModal, raised: Exception,
                                               expected: type[Exception]) -> None:
    """Each Modal exception class becomes its computesdk error, keeping Modal's message."""
    fake.handle.tunnels.side_effect = raised
    with pytest.raises(expected, match=str(raised)):
        adapter.tunnels("sb-abc", 50)


def test_tunnels_and_snapshot(adapter: ModalAdapter, fake: FakeModal) -> None:
    """Tunnels come back by port; a snapshot is the id of the image snapshot_filesystem made."""
    fake.handle.tunnels.return_value = {3000: SimpleNamespace(host="abc.modal.host", port=443)}
    assert adapter.tunnels("sb-abc", 12.5) == {3000: TunnelView("abc.modal.host", 443)}
    fake.handle.tunnels.assert_called_once_with(timeout=13)
    fake.handle.snapshot_filesystem.return_value = SimpleNamespace(object_id="im-snap")
    assert adapter.snapshot_filesystem("sb-abc", 55) == "im-snap"
    fake.handle.snapshot_filesystem.assert_called_once_with(timeout=55)


def test_no_token_in_repr_or_error_messages(adapter: ModalAdapter, fake: FakeModal) -> None:
    """Neither the adapter's repr nor a translated error shows a token."""
    fake.Client.from_credentials.side_effect = mx.AuthError(f"bad token {TOKEN_SECRET}")
    with pytest.raises(errors.AuthenticationError) as caught:
        _create(adapter)
    for text in (repr(adapter), str(caught.value)):
        assert TOKEN_ID not in text and TOKEN_SECRET not in text


def test_importing_computesdk_does_not_import_modal() -> None:
    """computesdk, the plugin and the adapter load without importing modal (first use does)."""
    code = ("import sys, computesdk_core, computesdk_modal.plugin; from computesdk_core import compute; "
            "compute(provider='modal', modal={'token_id': 'x' * 8, 'token_secret': 'y' * 8}); "
            "print('modal' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_the_fake_adapter_has_the_same_interface() -> None:
    """The FakeAdapter the plugin tests inject offers every ModalAdapter method with the same parameters."""
    import inspect

    from modal_fake import FakeAdapter

    public = [name for name, _ in inspect.getmembers(ModalAdapter, inspect.isfunction) if not name.startswith("_")]
    assert public
    for name in public:
        real = inspect.signature(getattr(ModalAdapter, name))
        fake = inspect.signature(getattr(FakeAdapter, name))
        assert list(real.parameters) == list(fake.parameters), name
