"""Lifecycle of real local sandboxes: create, reach, find from other processes, expire, destroy."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from computesdk_local import plugin
from computesdk_local.layout import SandboxDir
from computesdk_local.procs import ProcessRef, descendants
from computesdk_local.records import load
from local_helpers import Create, healthy, needs_bwrap, ok, run

from computesdk_core.errors import ProviderAPIError, SandboxNotFoundError
from computesdk_core.testing.support import wait_until
from computesdk_core.types import CreateOptions

pytestmark = [needs_bwrap, pytest.mark.timeout(120)]


def _host_processes(sandbox_dir: Path) -> list[ProcessRef]:
    record = load(SandboxDir(sandbox_dir))
    assert record is not None
    roots = record.processes()
    return roots + [p for p in descendants(roots) if p not in roots]


def test_create_answers_health_and_destroy_kills_every_process_and_deletes_files(create: Create) -> None:
    record = create()
    handle = record.native
    assert record.sandbox_id.startswith("local-") and record.status == "running" and record.runtime == "python"
    assert handle.url.startswith("http://127.0.0.1:")
    assert healthy(handle.url)
    run(record, "sleep 300", background=True)
    ok(record, "nohup sh -c 'sleep 301' >/dev/null 2>&1 &")
    processes = _host_processes(handle.dir)
    sleepers = [p for p in processes if "sleep" in Path(f"/proc/{p.pid}/cmdline").read_text()]
    assert len(sleepers) >= 2, "the sleepers started inside are host processes of the sandbox"

    assert plugin.sandbox_destroy(config={"home": str(handle.dir.parent.parent)}, sandbox_id=record.sandbox_id)

    assert not any(p.alive() for p in processes)
    assert not handle.dir.exists()
    assert not healthy(handle.url)


def test_the_runtime_asked_for_is_kept_across_processes(create: Create, config: dict[str, Any]) -> None:
    record = create(runtime="node")
    assert record.runtime == "node"
    found = plugin.sandbox_get(config=config, sandbox_id=record.sandbox_id)
    assert found is not None and found.runtime == "node"


def test_record_and_token_files(create: Create, config: dict[str, Any]) -> None:
    record = create(metadata={"team": "a"}, envs={"GREETING": "hello"})
    directory = record.native.dir
    token_file = directory / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert token_file.read_text() == record.native.token
    saved = json.loads((directory / "record.json").read_text())
    assert saved["id"] == record.sandbox_id and saved["status"] == "running"
    assert saved["metadata"] == {"team": "a"} and saved["isolation"] == "bwrap"
    expires = dt.datetime.fromisoformat(saved["expires_at"]) - dt.datetime.fromisoformat(saved["created_at"])
    assert expires == dt.timedelta(seconds=300)
    on_disk = (directory / "record.json").read_text() + (directory / "daemon.log").read_text()
    assert record.native.token not in on_disk
    assert "hello" not in (directory / "record.json").read_text()
    assert record.native.token not in repr(record)
    assert ok(record, "echo $GREETING; echo ${COMPUTESDK_ACCESS_TOKEN:-unset}").split() == ["hello", "unset"]


def test_default_timeout_is_half_an_hour(config: dict[str, Any]) -> None:
    record = plugin.sandbox_create(config=config, options=CreateOptions())
    try:
        assert record.timeout == 1800
        assert record.native.expires_at - record.created_at == dt.timedelta(seconds=1800)
    finally:
        plugin.sandbox_destroy(config=config, sandbox_id=record.sandbox_id)


def test_another_process_finds_uses_and_destroys_the_sandbox(create: Create, config: dict[str, Any]) -> None:
    record = create()
    script = textwrap.dedent(
        """
        import json, sys, requests
        from computesdk_local import plugin
        config = plugin.provider_config(options={"home": sys.argv[1]}, environ={})
        found = plugin.sandbox_get(config=config, sandbox_id=sys.argv[2])
        reply = requests.post(found.native.url + "/run/command", json={"command": "echo from-$HOSTNAME"},
                              headers={"Authorization": "Bearer " + found.native.token}, timeout=30).json()
        listed = [r.sandbox_id for r in plugin.sandbox_list(config=config)]
        print(json.dumps({"id": found.sandbox_id, "url": found.native.url, "stdout": reply["data"]["stdout"],
                          "listed": listed, "destroyed": plugin.sandbox_destroy(config=config, sandbox_id=sys.argv[2])}))
        """
    )
    processes = _host_processes(record.native.dir)
    done = subprocess.run(
        [sys.executable, "-c", script, config["home"], record.sandbox_id],
        capture_output=True, text=True, timeout=60, check=True,
    )
    answer = json.loads(done.stdout)
    assert answer["id"] == record.sandbox_id and answer["url"] == record.native.url
    assert answer["stdout"].strip() == f"from-{record.sandbox_id}"
    assert answer["listed"] == [record.sandbox_id]
    assert answer["destroyed"] is True
    assert not any(p.alive() for p in processes)
    assert plugin.sandbox_get(config=config, sandbox_id=record.sandbox_id) is None


def test_sandbox_outlives_the_process_that_created_it(config: dict[str, Any]) -> None:
    script = textwrap.dedent(
        """
        import sys
        from computesdk_core.types import CreateOptions
        from computesdk_local import plugin
        config = plugin.provider_config(options={"home": sys.argv[1]}, environ={})
        print(plugin.sandbox_create(config=config, options=CreateOptions(timeout=120)).sandbox_id)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, config["home"]], capture_output=True, text=True, timeout=60, check=True
    )
    sandbox_id = done.stdout.strip()
    try:
        found = plugin.sandbox_get(config=config, sandbox_id=sandbox_id)
        assert found is not None
        assert ok(found, "echo alive").strip() == "alive"
    finally:
        assert plugin.sandbox_destroy(config=config, sandbox_id=sandbox_id)
    assert plugin.sandbox_get(config=config, sandbox_id=sandbox_id) is None


def test_list_find_and_named_create(create: Create, config: dict[str, Any]) -> None:
    plain = create()
    named = create(name="app", namespace="user-1", metadata={"k": "v"})
    listed = plugin.sandbox_list(config=config)
    assert [r.sandbox_id for r in listed] == [plain.sandbox_id, named.sandbox_id]
    found = plugin.sandbox_find(config=config, name="app", namespace="user-1")
    assert found is not None and found.sandbox_id == named.sandbox_id
    assert found.name == "app" and found.namespace == "user-1" and found.metadata == {"k": "v"}
    assert plugin.sandbox_find(config=config, name="app", namespace="user-2") is None
    assert plugin.sandbox_find(config=config, name="other", namespace="user-1") is None

    again = create(name="app", namespace="user-1")
    assert again.sandbox_id == named.sandbox_id
    assert len(os.listdir(Path(config["home"]) / "sandboxes")) == 2

    plugin.sandbox_destroy(config=config, sandbox_id=named.sandbox_id)
    assert plugin.sandbox_find(config=config, name="app", namespace="user-1") is None
    fresh = create(name="app", namespace="user-1")
    assert fresh.sandbox_id != named.sandbox_id


def test_concurrent_named_creates_make_one_sandbox(create: Create, config: dict[str, Any]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=3, thread_name_prefix="test-create") as pool:
        ids = list(pool.map(lambda _: create(name="shared", namespace="race").sandbox_id, range(3)))
    assert len(set(ids)) == 1
    assert len(plugin.sandbox_list(config=config)) == 1


def test_concurrent_creates_from_threads(create: Create, config: dict[str, Any]) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=3, thread_name_prefix="test-create") as pool:
        records = list(pool.map(lambda i: create(envs={"N": str(i)}), range(3)))
    assert len({r.sandbox_id for r in records}) == 3
    assert [ok(r, "echo $N").strip() for r in records] == ["0", "1", "2"]
    assert len(plugin.sandbox_list(config=config)) == 3


def test_destroy_is_idempotent(create: Create, config: dict[str, Any]) -> None:
    record = create()
    assert plugin.sandbox_destroy(config=config, sandbox_id=record.sandbox_id) is True
    assert plugin.sandbox_destroy(config=config, sandbox_id=record.sandbox_id) is True
    assert plugin.sandbox_get(config=config, sandbox_id=record.sandbox_id) is None


def test_expired_sandbox_disappears_with_its_processes(create: Create, config: dict[str, Any]) -> None:
    record = create(timeout=2)
    processes = _host_processes(record.native.dir)
    assert plugin.sandbox_get(config=config, sandbox_id=record.sandbox_id) is not None
    assert wait_until(lambda: plugin.sandbox_get(config=config, sandbox_id=record.sandbox_id) is None, timeout=30)
    # The daemon stops answering as it shuts down; its processes exit right after.
    assert wait_until(lambda: not any(p.alive() for p in processes), timeout=10)
    assert plugin.sandbox_list(config=config) == []
    assert not record.native.dir.exists(), "reading the registry cleans up a dead sandbox"


def test_extend_timeout_keeps_the_sandbox_alive(create: Create, config: dict[str, Any]) -> None:
    record = create(timeout=3)
    assert plugin.sandbox_extend_timeout(config=config, sandbox_id=record.sandbox_id, duration=60) is True
    time.sleep(4)
    found = plugin.sandbox_get(config=config, sandbox_id=record.sandbox_id)
    assert found is not None
    assert found.native.expires_at - record.native.expires_at >= dt.timedelta(seconds=59)
    assert found.timeout is not None and found.timeout >= 62
    with pytest.raises(SandboxNotFoundError):
        plugin.sandbox_extend_timeout(config=config, sandbox_id="local-0123456789ab", duration=60)


def test_failed_start_cleans_up_and_shows_the_log(tmp_path: Path, config: dict[str, Any]) -> None:
    # An interpreter that answers the provider's probe but whose daemon dies at once.
    fake = tmp_path / "bin" / "python"
    fake.parent.mkdir()
    fake.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            case "$*" in *--ready-file*) echo "daemon exploded on purpose" >&2; exit 3;; esac
            exec {sys.executable} "$@"
            """
        )
    )
    fake.chmod(0o755)
    with pytest.raises(ProviderAPIError) as caught:
        plugin.sandbox_create(config={**config, "python": str(fake)}, options=CreateOptions(timeout=60))
    assert "daemon exploded on purpose" in str(caught.value)
    assert os.listdir(Path(config["home"]) / "sandboxes") == []


def test_isolation_none_runs_a_plain_process(create: Create, config: dict[str, Any]) -> None:
    record = create(provider_options={"isolation": "none"})
    directory = record.native.dir
    assert record.native.isolation == "none"
    assert json.loads((directory / "record.json").read_text())["isolation"] == "none"
    assert ok(record, "pwd").strip() == str(directory / "root-dir")
    assert ok(record, "python3 -c 'import tempfile; print(tempfile.gettempdir())'").strip() == str(directory / "tmp")
    ok(record, "echo data > made-here.txt")
    assert (directory / "root-dir" / "made-here.txt").read_text() == "data\n"
    processes = _host_processes(directory)
    assert plugin.sandbox_get(config=config, sandbox_id=record.sandbox_id) is not None
    assert plugin.sandbox_destroy(config=config, sandbox_id=record.sandbox_id)
    assert not any(p.alive() for p in processes)
    assert not directory.exists()


def test_leftovers_of_a_crashed_create_are_cleaned_up(create: Create, config: dict[str, Any]) -> None:
    # A creator that died after starting the processes leaves a "starting" record behind, unlocked.
    record = create()
    directory = SandboxDir(record.native.dir)
    processes = _host_processes(directory.path)
    saved = json.loads(directory.record.read_text())
    directory.record.write_text(json.dumps({**saved, "status": "starting"}))
    # A creator that died before writing any record leaves an empty directory; young ones are kept.
    sandboxes = Path(config["home"]) / "sandboxes"
    old, young = sandboxes / "local-00000000000a", sandboxes / "local-00000000000b"
    old.mkdir()
    young.mkdir()
    os.utime(old, (time.time() - 3600, time.time() - 3600))

    assert plugin.sandbox_list(config=config) == []

    assert not any(p.alive() for p in processes)
    assert not directory.path.exists() and not old.exists()
    assert young.exists()
