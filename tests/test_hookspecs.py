"""The plugin interface: documented hooks, capabilities from implemented hooks, clear refusals."""

from __future__ import annotations

import inspect
import types

import pytest

from computesdk_core import Compute, errors, hookspecs
from computesdk_core.hookspecs import hookimpl
from computesdk_core.plugins import FEATURE_HOOKS, ProviderHost, ProviderRegistry

HOOKS = [name for name, value in vars(hookspecs).items()
         if inspect.isfunction(value) and hasattr(value, "computesdk_spec")]


def test_every_hookspec_is_documented_and_firstresult() -> None:
    assert len(HOOKS) >= 25
    for name in HOOKS:
        function = getattr(hookspecs, name)
        assert (function.__doc__ or "").strip(), f"hookspec {name} has no docstring"
        assert function.computesdk_spec["firstresult"], f"hookspec {name} is not firstresult"


def test_every_feature_maps_to_real_hooks() -> None:
    for feature, hooks in FEATURE_HOOKS.items():
        assert set(hooks) <= set(HOOKS), feature


def test_capabilities_follow_from_the_hooks_a_provider_implements() -> None:
    @hookimpl
    def sandbox_run_command(sandbox, command, options):  # type: ignore[no-untyped-def]
        return None

    host = ProviderHost("cmd", types.SimpleNamespace(sandbox_run_command=sandbox_run_command))
    assert {"run_command", "run_code", "filesystem"} <= host.capabilities()
    assert not {"pty", "named", "snapshots", "list"} & host.capabilities()


def test_an_unserved_call_names_the_provider_and_the_feature() -> None:
    reg = ProviderRegistry()
    reg.register("bare", types.SimpleNamespace())
    with pytest.raises(errors.UnsupportedFeatureError, match="'bare' does not support snapshots") as caught:
        Compute(reg, provider="bare").snapshot.list()
    assert (caught.value.provider, caught.value.feature) == ("bare", "snapshots")


def test_named_sandboxes_on_a_provider_without_find_fail_at_once() -> None:
    reg = ProviderRegistry()
    reg.register("bare", types.SimpleNamespace())
    with pytest.raises(errors.UnsupportedFeatureError, match="named"):
        Compute(reg, provider="bare").sandbox.find_or_create(name="app")


def test_a_plugin_that_fails_to_import_is_reported_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata as metadata

    broken = metadata.EntryPoint(name="broken", value="no_such_module_xyz", group="computesdk.providers")
    monkeypatch.setattr("computesdk_core.plugins._entry_points",
                        lambda group: [broken] if group == "computesdk.providers" else [])
    reg = ProviderRegistry()
    with pytest.raises(errors.PluginLoadError, match="'broken'.*no_such_module_xyz"):
        reg.host("broken")
    assert reg.names() == ["broken"]


def test_importing_the_core_imports_no_provider_and_no_daemon() -> None:
    import subprocess
    import sys

    code = ("import sys, computesdk_core; from computesdk_core import compute; compute.providers(); "
            "print(sorted(m for m in sys.modules if m.startswith(('computesdk_local', 'computesdk_daemon', 'aiohttp'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
