"""Options, validation and errors of the local provider that need no running sandbox."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from computesdk_local import plugin
from computesdk_local.config import default_home
from computesdk_local.layout import is_valid_sandbox_id, new_sandbox_id
from computesdk_local.records import LocalSandbox
from local_helpers import Ctx

from computesdk_core.errors import ConfigurationError, UnsupportedFeatureError, ValidationError
from computesdk_core.types import CreateOptions, SandboxRecord


def test_defaults_come_from_the_environment_then_the_platform() -> None:
    config = plugin.provider_config(options={}, environ={})
    assert config == {"home": default_home(), "isolation": "bwrap", "network": "host", "python": sys.executable}
    assert default_home().endswith(os.path.join("computesdk", "local"))
    from_env = plugin.provider_config(
        options={}, environ={"COMPUTESDK_LOCAL_HOME": "/srv/sandboxes", "COMPUTESDK_LOCAL_ISOLATION": "none"}
    )
    assert from_env["home"] == "/srv/sandboxes"
    assert from_env["isolation"] == "none"


def test_explicit_options_win_over_the_environment(tmp_path: Path) -> None:
    config = plugin.provider_config(
        options={"home": str(tmp_path), "network": "none"},
        environ={"COMPUTESDK_LOCAL_HOME": "/elsewhere", "COMPUTESDK_LOCAL_NETWORK": "host"},
    )
    assert config["home"] == str(tmp_path)
    assert config["network"] == "none"


def test_unknown_option_lists_the_known_keys() -> None:
    with pytest.raises(ConfigurationError) as caught:
        plugin.provider_config(options={"hme": "/x"}, environ={})
    message = str(caught.value)
    assert "hme" in message
    for key in ("home", "isolation", "network", "python"):
        assert key in message


@pytest.mark.parametrize("options", [{"isolation": "docker"}, {"network": "bridge"}, {"python": "/no/such/python"}])
def test_bad_option_values_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        plugin.provider_config(options=options, environ={})


def test_local_is_never_detected_from_the_environment() -> None:
    assert plugin.provider_detect(environ=dict(os.environ)) is False


@pytest.mark.parametrize(
    "create_options",
    [
        {"provider_options": {"isolaton": "none"}},
        {"provider_options": {"network": "bridge"}},
        {"provider_options": {"isolation": "none", "network": "none"}},
        {"timeout": -5},
        {"envs": {"A=B": "1"}},
        {"envs": {"COMPUTESDK_ACCESS_TOKEN": "mine"}},
        {"metadata": {"when": dt.datetime.now()}},
        {"runtime": "ruby"},
    ],
)
def test_bad_create_options_are_refused_before_anything_starts(
    create_options: dict[str, Any], config: dict[str, Any], home: Path
) -> None:
    with pytest.raises(ValidationError):
        plugin.sandbox_create(config=config, options=CreateOptions(**create_options))
    assert not (home / "sandboxes").exists() or not os.listdir(home / "sandboxes")


@pytest.mark.parametrize("field, feature", [("template_id", "templates"), ("image", "images"), ("snapshot_id", "snapshots")])
def test_templates_images_and_snapshots_are_refused_not_ignored(
    field: str, feature: str, config: dict[str, Any], home: Path
) -> None:
    with pytest.raises(UnsupportedFeatureError, match=field) as caught:
        plugin.sandbox_create(config=config, options=CreateOptions(**{field: "something"}))
    assert (caught.value.provider, caught.value.feature) == ("local", feature)
    assert not (home / "sandboxes").exists() or not os.listdir(home / "sandboxes")


def test_missing_bwrap_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, Any], home: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("unshare", "mount", "sh"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(ConfigurationError) as caught:
        plugin.sandbox_create(config=config, options=CreateOptions(timeout=60))
    message = str(caught.value)
    assert "apt-get install bubblewrap" in message
    assert "dnf install bubblewrap" in message
    assert "isolation='none'" in message
    assert not (home / "sandboxes").exists() or not os.listdir(home / "sandboxes")


def test_interpreter_without_the_daemon_is_a_configuration_error(tmp_path: Path, config: dict[str, Any]) -> None:
    bare = shutil.which("python3", path="/usr/bin:/bin")
    if bare is None:
        pytest.skip("no system python3 to stand for an interpreter without computesdk-daemon")
    with pytest.raises(ConfigurationError, match="computesdk_daemon"):
        plugin.sandbox_create(config={**config, "python": bare}, options=CreateOptions(timeout=60))


def test_sandbox_ids_are_validated_strictly() -> None:
    made = {new_sandbox_id() for _ in range(50)}
    assert len(made) == 50
    assert all(is_valid_sandbox_id(sandbox_id) for sandbox_id in made)
    for bad in ("", "local-", "local-../../etc", "../local-0123456789ab", "local-0123456789AB", "local-0123456789abc",
                "local-0123456789a/", None, 7):
        assert not is_valid_sandbox_id(bad)


def test_unknown_and_malformed_ids_are_absent_and_destroy_quietly(config: dict[str, Any]) -> None:
    for sandbox_id in ("local-0123456789ab", "../../etc/passwd", "local-0123456789ab/../x", ""):
        assert plugin.sandbox_get(config=config, sandbox_id=sandbox_id) is None
        assert plugin.sandbox_destroy(config=config, sandbox_id=sandbox_id) is True
    assert plugin.sandbox_list(config=config) == []
    assert plugin.sandbox_find(config=config, name="app", namespace="default") is None


def _ctx(network: str, config: dict[str, Any]) -> Ctx:
    handle = LocalSandbox(
        id="local-0123456789ab", url="http://127.0.0.1:9", token="t0ken-value-not-shown", dir=Path("/nonexistent"),
        isolation="bwrap", network=network, expires_at=dt.datetime.now(dt.timezone.utc),
    )
    return Ctx(record=SandboxRecord(sandbox_id=handle.id, native=handle), config=config)


def test_get_url_is_a_loopback_url_without_tls(config: dict[str, Any]) -> None:
    ctx = _ctx("host", config)
    assert plugin.sandbox_get_url(sandbox=ctx, port=3000, protocol="https") == "http://127.0.0.1:3000"
    assert plugin.sandbox_get_url(sandbox=ctx, port=3000, protocol="http") == "http://127.0.0.1:3000"
    assert plugin.sandbox_get_url(sandbox=ctx, port=8080, protocol="wss") == "ws://127.0.0.1:8080"
    assert plugin.sandbox_get_url(sandbox=ctx, port=8080, protocol="ws") == "ws://127.0.0.1:8080"
    for port, protocol in ((0, "http"), (70000, "http"), (80, "ftp")):
        with pytest.raises(ValidationError):
            plugin.sandbox_get_url(sandbox=ctx, port=port, protocol=protocol)
    with pytest.raises(UnsupportedFeatureError, match="network 'none'"):
        plugin.sandbox_get_url(sandbox=_ctx("none", config), port=3000, protocol="http")


def test_daemon_endpoint_and_handle_never_show_the_token(config: dict[str, Any]) -> None:
    ctx = _ctx("host", config)
    endpoint = plugin.sandbox_daemon(sandbox=ctx)
    assert endpoint.url == "http://127.0.0.1:9"
    assert endpoint.token == "t0ken-value-not-shown"
    assert "t0ken" not in repr(endpoint)
    assert "t0ken" not in repr(ctx.record)
