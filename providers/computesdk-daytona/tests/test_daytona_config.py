"""Configuration of the daytona provider: keys, Daytona's environment variables, secrets kept hidden."""

from __future__ import annotations

import pytest
from computesdk_daytona.config import DEFAULT_API_URL, resolve_config

from computesdk_core import compute
from computesdk_core.errors import ConfigurationError, MissingCredentialsError

KEY = "dtn_config_test_key_0123456789"


def test_missing_key_is_an_error_naming_the_variable() -> None:
    """Without a key anywhere, the error says which environment variable to set."""
    with pytest.raises(MissingCredentialsError) as caught:
        resolve_config({}, {})
    assert "DAYTONA_API_KEY" in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)


def test_unknown_option_lists_the_known_ones() -> None:
    """A typo in an option name is refused, and the message lists every known option."""
    with pytest.raises(ConfigurationError) as caught:
        resolve_config({"api_key": KEY, "apiurl": "http://x"}, {})
    for known in ("api_key", "api_url", "target", "organization_id", "start_timeout"):
        assert known in str(caught.value)


def test_environment_variables_fill_what_is_not_given() -> None:
    """Key, URL, target and organization come from Daytona's own variables."""
    config = resolve_config({}, {"DAYTONA_API_KEY": KEY, "DAYTONA_API_URL": "http://127.0.0.1:9/api/",
                                 "DAYTONA_TARGET": "eu", "DAYTONA_ORGANIZATION_ID": "org-1"})
    assert config["api_key"].reveal() == KEY
    assert (config["api_url"], config["target"], config["organization_id"]) == ("http://127.0.0.1:9/api", "eu", "org-1")


def test_explicit_values_win_and_defaults_apply() -> None:
    """Explicit options beat the environment; the URL defaults to Daytona's cloud."""
    environ = {"DAYTONA_API_KEY": "dtn_from_environment_key", "DAYTONA_TARGET": "eu"}
    config = resolve_config({"api_key": KEY, "target": "us"}, environ)
    assert (config["api_key"].reveal(), config["target"], config["api_url"]) == (KEY, "us", DEFAULT_API_URL)


def test_deprecated_server_url_variable_is_honoured() -> None:
    """``DAYTONA_SERVER_URL`` (Daytona's older name) works when ``DAYTONA_API_URL`` is unset."""
    config = resolve_config({}, {"DAYTONA_API_KEY": KEY, "DAYTONA_SERVER_URL": "http://127.0.0.1:9/old"})
    assert config["api_url"] == "http://127.0.0.1:9/old"


@pytest.mark.parametrize("options", [{"api_url": "ftp://x"}, {"start_timeout": 0}, {"target": 3}])
def test_bad_values_are_refused(options: dict[str, object]) -> None:
    """A URL that is not http(s), a non-positive wait or a non-string target is a configuration error."""
    with pytest.raises(ConfigurationError):
        resolve_config({"api_key": KEY, **options}, {})


def test_key_never_shows_in_reprs() -> None:
    """Neither the resolved configuration nor the client print the key."""
    config = resolve_config({"api_key": KEY}, {})
    assert KEY not in repr(config) and KEY not in str(config)


def test_detection_and_capabilities_through_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``DAYTONA_API_KEY`` set the provider is selected and announces what it implements."""
    monkeypatch.setenv("DAYTONA_API_KEY", KEY)
    monkeypatch.delenv("COMPUTESDK_PROVIDER", raising=False)
    instance = compute()
    if instance.selected_provider() != "daytona":
        pytest.skip("another installed provider comes first in the detection order")
    assert {"run_command", "filesystem", "named", "extend_timeout", "get_url"} <= instance.capabilities()
