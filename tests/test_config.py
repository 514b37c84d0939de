"""Configuration, provider selection and the errors a misconfigured user meets."""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Any

import pytest

from computesdk_core import Compute, errors
from computesdk_core.config import ComputeConfig, select_provider
from computesdk_core.hookspecs import hookimpl
from computesdk_core.plugins import ProviderRegistry
from computesdk_core.secrets import Secret, redact


def _provider(env_var: str) -> types.SimpleNamespace:
    """A fake cloud provider whose credential is ``env_var``."""

    @hookimpl
    def provider_detect(environ: Mapping[str, str]) -> bool:
        return bool(environ.get(env_var))

    @hookimpl
    def provider_config(options: Mapping[str, Any], environ: Mapping[str, str]) -> Mapping[str, Any]:
        unknown = set(options) - {"api_key"}
        if unknown:
            raise errors.ConfigurationError(f"unknown option(s) {sorted(unknown)}; known: api_key")
        key = options.get("api_key") or environ.get(env_var)
        if not key:
            raise errors.MissingCredentialsError(f"set {env_var} or pass api_key")
        return {"api_key": Secret(key)}

    return types.SimpleNamespace(provider_detect=provider_detect, provider_config=provider_config)


@pytest.fixture
def fake_registry() -> ProviderRegistry:
    reg = ProviderRegistry()
    reg.register("e2b", _provider("E2B_API_KEY"))
    reg.register("daytona", _provider("DAYTONA_API_KEY"))
    return reg


def test_argument_wins_over_config_over_variable_over_detection(fake_registry: ProviderRegistry) -> None:
    env = {"COMPUTESDK_PROVIDER": "daytona", "E2B_API_KEY": "k" * 10}
    config = ComputeConfig.parse(fake_registry, {"provider": "e2b"})
    assert select_provider(fake_registry, config, "modal", env) == "modal"
    assert select_provider(fake_registry, config, None, env) == "e2b"
    assert select_provider(fake_registry, ComputeConfig(), None, env) == "daytona"
    assert select_provider(fake_registry, ComputeConfig(), None, {"DAYTONA_API_KEY": "x" * 8}) == "daytona"


def test_detection_follows_the_documented_order_and_falls_back_to_local(fake_registry: ProviderRegistry) -> None:
    both = {"E2B_API_KEY": "a" * 8, "DAYTONA_API_KEY": "b" * 8}
    assert select_provider(fake_registry, ComputeConfig(), None, both) == "e2b"
    assert select_provider(fake_registry, ComputeConfig(), None, {}) == "local"


def test_a_known_but_missing_provider_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("computesdk_core.plugins._entry_points", lambda group: [])
    with pytest.raises(errors.ProviderNotInstalledError, match="pip install computesdk-e2b") as caught:
        Compute(ProviderRegistry(), provider="e2b").sandbox.create()
    assert caught.value.package == "computesdk-e2b"
    assert isinstance(caught.value, errors.ConfigurationError)


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(errors.UnknownProviderError, match="known providers: .*local"):
        Compute(provider="nosuch").sandbox.list()


def test_unknown_configuration_keys_are_refused_with_the_known_ones() -> None:
    with pytest.raises(errors.ConfigurationError, match="known keys: provider, api_key, gateway_url"):
        Compute(providr="local")


def test_missing_credentials_name_the_variable(fake_registry: ProviderRegistry) -> None:
    client = Compute(fake_registry, provider="e2b")
    with pytest.raises(errors.MissingCredentialsError, match="E2B_API_KEY"):
        client.sandbox.list()


def test_unknown_provider_option_is_refused(fake_registry: ProviderRegistry) -> None:
    client = Compute(fake_registry, provider="e2b", e2b={"api_kee": "x"})
    with pytest.raises(errors.ConfigurationError, match="known: api_key"):
        client.sandbox.list()


def test_set_get_clear_config_and_independent_instances(fake_registry: ProviderRegistry) -> None:
    client = Compute(fake_registry)
    client.set_config(provider="e2b", api_key="csk_live_123456789", e2b={"api_key": "e2b_abcdefgh"})
    shown = client.get_config()
    assert shown["provider"] == "e2b" and shown["e2b"] == {"api_key": "e2b_abcdefgh"}
    assert "csk_live_123456789" not in repr(shown)
    other = client(provider="daytona")
    assert other.get_config()["provider"] == "daytona" and client.get_config()["provider"] == "e2b"
    client.clear_config()
    assert client.get_config()["provider"] is None


def test_secrets_are_masked_in_repr_str_and_error_messages() -> None:
    secret = Secret("sk-very-secret-value")
    assert "very-secret" not in repr(secret) and "very-secret" not in f"{secret}"
    assert secret.reveal() == "sk-very-secret-value"
    error = errors.ProviderAPIError("vendor said: bad key sk-very-secret-value", status_code=401,
                                    provider="x", request_id=None)
    assert "sk-very-secret-value" not in str(error) and "sk-very-secret-value" not in repr(error)
    assert redact("token=sk-very-secret-value;") == "token=***;"


def test_error_tree_also_matches_the_builtin_exceptions() -> None:
    assert issubclass(errors.PathNotFoundError, FileNotFoundError)
    assert issubclass(errors.CommandTimeoutError, TimeoutError)
    assert issubclass(errors.ConnectionLostError, ConnectionError)
    assert issubclass(errors.UnsupportedFeatureError, NotImplementedError)
    for name in dir(errors):
        value = getattr(errors, name)
        if isinstance(value, type) and issubclass(value, Exception) and value.__module__ == errors.__name__:
            assert issubclass(value, errors.ComputeSDKError) or value is errors.ComputeSDKError
