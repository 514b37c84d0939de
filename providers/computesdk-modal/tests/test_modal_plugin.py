"""The Modal plugin's own behaviour: configuration, and the features the conformance suite leaves out
(ports and tunnels, snapshots, named sandboxes, tags, timeouts), through the FakeAdapter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from computesdk_modal import config as modal_config
from modal_fake import TUNNEL_DOMAIN, FakeAdapter
from modal_helpers import compute_for

from computesdk_core import errors

pytestmark = pytest.mark.timeout(120)
TOKEN_ID = "ak-plugin0123456789"
TOKEN_SECRET = "as-pluginsecret0123456789"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeAdapter]:
    """One fake Modal for the module."""
    adapter = FakeAdapter()
    try:
        yield adapter
    finally:
        adapter.close()


# --- configuration --------------------------------------------------------------------------


def test_missing_token_names_the_variable() -> None:
    """Without MODAL_TOKEN_ID the error names it; with it but no secret, MODAL_TOKEN_SECRET."""
    with pytest.raises(errors.MissingCredentialsError, match="MODAL_TOKEN_ID"):
        modal_config.resolve({}, {})
    with pytest.raises(errors.MissingCredentialsError, match="MODAL_TOKEN_SECRET"):
        modal_config.resolve({}, {"MODAL_TOKEN_ID": TOKEN_ID})


def test_environment_supplies_tokens_and_explicit_values_win() -> None:
    """Tokens and environment come from MODAL_* variables; explicit options override them."""
    environ = {"MODAL_TOKEN_ID": TOKEN_ID, "MODAL_TOKEN_SECRET": TOKEN_SECRET, "MODAL_ENVIRONMENT": "dev"}
    resolved = modal_config.resolve({}, environ)
    assert (resolved["token_id"].reveal(), resolved["token_secret"].reveal(), resolved["environment"]) == (
        TOKEN_ID, TOKEN_SECRET, "dev")
    assert TOKEN_SECRET not in repr(resolved)
    explicit = modal_config.resolve({"token_id": "ak-explicit", "environment": "prod", "app_name": "mine"}, environ)
    assert (explicit["token_id"].reveal(), explicit["environment"], explicit["app_name"]) == ("ak-explicit", "prod", "mine")
    assert modal_config.detect(environ) and not modal_config.detect({"MODAL_TOKEN_ID": TOKEN_ID})


def test_unknown_option_lists_the_known_keys() -> None:
    """An unknown key is refused, naming the keys there are."""
    with pytest.raises(errors.ConfigurationError, match="known keys: token_id, token_secret, app_name"):
        modal_config.resolve({"api_key": "x", "token_id": TOKEN_ID, "token_secret": TOKEN_SECRET}, {})


@pytest.mark.parametrize("options", [{"ports": [0]}, {"ports": "3000"}, {"tunnel_timeout": -1}, {"image": ""}])
def test_bad_values_are_refused(options: dict[str, Any]) -> None:
    """Ports, seconds and the image are validated when the provider is configured."""
    with pytest.raises(errors.ConfigurationError):
        modal_config.resolve({"token_id": TOKEN_ID, "token_secret": TOKEN_SECRET, **options}, {})


# --- create, tags and lifecycle -------------------------------------------------------------


def test_create_translates_options_into_adapter_arguments(fake: FakeAdapter) -> None:
    """Lifetime in whole seconds, envs, configured plus per-call ports, tags, Modal-only options passed on."""
    instance = compute_for(fake, ports=[8000], image="python:3.12-slim")
    box = instance.sandbox.create(timeout=61.5, envs={"GREETING": "hi"}, metadata={"team": "a", "n": 3},
                                  ports=[3000, 8000], cpu=2.0)
    try:
        call = fake.creates[-1]
        assert (call["image"], call["timeout"], call["envs"], call["ports"], call["options"]) == (
            "python:3.12-slim", 62, {"GREETING": "hi"}, (8000, 3000), {"cpu": 2.0})
        assert {"team": "a", "n": "3"}.items() <= call["tags"].items()
        assert box.run_command('printf %s "$GREETING"', timeout=30).stdout == "hi"
        info = box.get_info()
        assert (info.provider, info.status, info.timeout, dict(info.metadata)) == ("modal", "running", 61.5,
                                                                                  {"team": "a", "n": "3"})
    finally:
        box.destroy()
    assert instance.sandbox.get_by_id(box.sandbox_id) is None


def test_reserved_metadata_keys_are_refused(fake: FakeAdapter) -> None:
    """A metadata key in computesdk's tag namespace would be mistaken for its own: refused."""
    with pytest.raises(errors.ValidationError, match="computesdk_"):
        compute_for(fake).sandbox.create(timeout=60, metadata={"computesdk_name": "x"})


def test_unknown_and_destroyed_ids(fake: FakeAdapter) -> None:
    """get_by_id of an unknown id is None; destroying it twice is quiet."""
    instance = compute_for(fake)
    assert instance.sandbox.get_by_id("sb-doesnotexist") is None
    instance.sandbox.destroy("sb-doesnotexist")


def test_named_sandboxes_are_found_by_tags_per_namespace(fake: FakeAdapter) -> None:
    """find_or_create reuses the sandbox of (namespace, name) and tells namespaces apart."""
    instance = compute_for(fake)
    first = instance.sandbox.find_or_create(name="web", namespace="team-a", timeout=60)
    try:
        again = instance.sandbox.find_or_create(name="web", namespace="team-a", timeout=60)
        assert again.sandbox_id == first.sandbox_id
        assert instance.sandbox.find(name="web", namespace="team-b") is None
        assert fake.creates[-1]["tags"]["computesdk_namespace"] == "team-a"
    finally:
        first.destroy()
    assert instance.sandbox.find(name="web", namespace="team-a") is None


# --- urls and snapshots ---------------------------------------------------------------------


def test_get_url_uses_the_tunnel_of_a_declared_port(fake: FakeAdapter) -> None:
    """A declared port's URL is its tunnel host; an undeclared port is refused, naming the declared ones."""
    with compute_for(fake).sandbox.create(timeout=60, ports=[3000]) as box:
        url = box.get_url(3000)
        assert url.startswith("https://") and url.endswith(f"-3000.{TUNNEL_DOMAIN}")
        assert box.get_url(3000, protocol="wss").startswith("wss://")
        with pytest.raises(errors.ValidationError, match="declared at create: 3000"):
            box.get_url(5000)


def test_snapshot_is_an_image_a_new_sandbox_starts_from(fake: FakeAdapter) -> None:
    """A file written before snapshot_create is in a sandbox created with the snapshot's id."""
    instance = compute_for(fake)
    with instance.sandbox.create(timeout=60) as source:
        source.filesystem.write_file("/srv/state/kept.txt", "before the snapshot")
        snapshot = instance.snapshot.create(source.sandbox_id, name="kept")
    assert snapshot.id.startswith("im-") and snapshot.name == "kept"
    assert snapshot.metadata["source_sandbox_id"] == source.sandbox_id
    with instance.sandbox.create(timeout=60, snapshot_id=snapshot.id) as restored:
        assert fake.creates[-1]["image"] == snapshot.id
        assert restored.filesystem.read_file("/srv/state/kept.txt") == "before the snapshot"
    with pytest.raises(errors.UnsupportedFeatureError, match="modal"):
        instance.snapshot.list()


def test_extend_timeout_is_unsupported(fake: FakeAdapter) -> None:
    """Modal cannot change a running sandbox's lifetime: UnsupportedFeatureError naming the provider."""
    with compute_for(fake).sandbox.create(timeout=60) as box:
        with pytest.raises(errors.UnsupportedFeatureError, match="modal"):
            box.extend_timeout(60)


def test_timeout_keeps_partial_output_and_whole_seconds(fake: FakeAdapter) -> None:
    """A fractional timeout is rounded up for Modal; past it the command is killed with its output kept."""
    with compute_for(fake).sandbox.create(timeout=60) as box:
        with pytest.raises(errors.CommandTimeoutError) as caught:
            box.run_command("echo started; sleep 30; echo never", timeout=0.3)
        assert caught.value.stdout == "started\n"
        assert "never" not in caught.value.stdout
