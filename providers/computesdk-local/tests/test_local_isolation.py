"""What a bubblewrap sandbox can and cannot see or change on the host."""

from __future__ import annotations

import http.server
import os
import secrets
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from computesdk_local import plugin
from local_helpers import Create, Ctx, needs_bwrap, ok, run

from computesdk_core.testing.support import wait_until
from computesdk_core.types import SandboxRecord

pytestmark = [needs_bwrap, pytest.mark.timeout(120)]

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _files_named(root: Path, name: str) -> list[Path]:
    return [Path(dirpath) / name for dirpath, _dirs, files in os.walk(root) if name in files]


@pytest.fixture
def canaries() -> Iterator[dict[str, str]]:
    """Files with secret content on the host, in places a sandbox must not read."""
    made: dict[str, str] = {}
    for directory in ("/root", str(PACKAGE_DIR)):
        path = Path(directory) / f".computesdk-canary-{secrets.token_hex(4)}"
        content = f"canary-{secrets.token_hex(8)}"
        path.write_text(content)
        made[str(path)] = content
    yield made
    for path in made:
        Path(path).unlink(missing_ok=True)


def test_writes_anywhere_land_under_the_sandbox_directory(create: Create) -> None:
    record = create()
    tag = secrets.token_hex(4)
    targets = [f"/app/x-{tag}", f"/tmp/y-{tag}", f"/home/z-{tag}", f"/home/user/w-{tag}", f"/usr/local/v-{tag}",
               f"/etc/u-{tag}", f"/var/tmp/t-{tag}", f"/root/r-{tag}", f"/p-{tag}"]
    script = "; ".join(f"mkdir -p {os.path.dirname(t)} && echo {tag} > {t}" for t in targets)
    ok(record, script)
    assert ok(record, f"cat {' '.join(targets)}").split() == [tag] * len(targets)
    for target in targets:
        assert not os.path.exists(target), f"{target} was written on the host"
        found = _files_named(record.native.dir, os.path.basename(target))
        assert len(found) == 1 and found[0].read_text() == f"{tag}\n", target


def test_host_secrets_are_not_readable(create: Create, canaries: dict[str, str], config: dict[str, Any]) -> None:
    other = create()
    record = create()
    paths = list(canaries) + ["/work/main/pyproject.toml", str(other.native.dir / "token")]
    for path in paths:
        data = run(record, f"cat {path}")
        assert data["exit_code"] != 0, f"{path} is readable inside the sandbox"
    listing = ok(record, f"ls -a /root /work/main {PACKAGE_DIR} 2>&1; ls -a {config['home']} 2>&1; true")
    for path, content in canaries.items():
        assert os.path.basename(path) not in listing
        assert content not in listing
    assert other.native.token not in listing
    assert ok(record, "wc -c < /etc/shadow").strip() == "0"
    # What the daemon needs to run stays visible, read-only.
    core = PACKAGE_DIR.parent.parent / "computesdk_core"
    ok(record, f"test -r {core}/__init__.py")
    assert run(record, f"touch {core}/x")["exit_code"] != 0
    assert not (core / "x").exists()


def test_access_token_is_not_visible_inside(create: Create) -> None:
    record = create()
    token = record.native.token
    seen = ok(record, "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n'; env; true")
    assert "COMPUTESDK_SANDBOX_ID" in seen, "the environment blocks were read"
    assert token not in seen
    assert "COMPUTESDK_ACCESS_TOKEN=" not in seen
    assert token not in ok(record, "cat /run/computesdk/* 2>/dev/null; true")


def test_sandbox_has_its_own_pid_namespace_and_no_capabilities(create: Create) -> None:
    record = create()
    pids = ok(record, "ls /proc | grep -E '^[0-9]+$'").split()
    assert 2 <= len(pids) < 10, pids
    marker = f"{secrets.randbelow(10**6) + 10**6}.5"
    host_sleeper = subprocess.Popen(["sleep", marker])
    try:
        inside = ok(record, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '")
        assert "computesdk_daemon" in inside
        assert marker not in inside, "a host process is visible inside"
    finally:
        host_sleeper.kill()
        host_sleeper.wait(timeout=10)
    assert ok(record, "hostname").strip() == record.sandbox_id
    assert ok(record, "grep CapEff /proc/self/status").split()[1] == "0000000000000000"
    assert run(record, "mount -t tmpfs none /mnt")["exit_code"] != 0


def test_server_inside_is_reachable_from_the_host(create: Create, config: dict[str, Any]) -> None:
    record = create()
    port = _free_port()
    ok(record, "mkdir -p /srv/site && echo served-from-sandbox > /srv/site/index.html")
    run(record, f"cd /srv/site && exec python3 -m http.server {port} --bind 127.0.0.1", background=True)
    url = plugin.sandbox_get_url(sandbox=Ctx(record=record, config=config), port=port, protocol="https")
    assert url == f"http://127.0.0.1:{port}"

    def served() -> bool:
        try:
            return requests.get(url, timeout=2).text.strip() == "served-from-sandbox"
        except requests.RequestException:
            return False

    assert wait_until(served, timeout=20)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def host_server() -> Iterator[int]:
    """An HTTP server on the host's loopback; yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, name="test-host-server", daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _reaches(record: SandboxRecord, port: int) -> bool:
    probe = f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)\""
    return run(record, probe)["exit_code"] == 0


def test_network_host_and_none(create: Create, host_server: int, config: dict[str, Any]) -> None:
    shared = create()
    assert _reaches(shared, host_server)

    offline = create(provider_options={"network": "none"})
    assert offline.native.network == "none"
    assert ok(offline, "echo daemon-reachable").strip() == "daemon-reachable"
    assert not _reaches(offline, host_server)
    interfaces = ok(offline, "tail -n +3 /proc/net/dev | cut -d: -f1").split()
    assert interfaces == ["lo"]
    again = plugin.sandbox_get(config=config, sandbox_id=offline.sandbox_id)
    assert again is not None and again.native.url == offline.native.url


def test_two_sandboxes_do_not_see_each_others_writes(create: Create) -> None:
    first, second = create(), create()
    ok(first, "mkdir -p /app && echo first > /app/shared.txt && echo first > /tmp/t")
    assert run(second, "cat /app/shared.txt")["exit_code"] != 0
    assert run(second, "cat /tmp/t")["exit_code"] != 0
    ok(second, "mkdir -p /app && echo second > /app/shared.txt")
    assert ok(first, "cat /app/shared.txt").strip() == "first"
    assert ok(second, "cat /app/shared.txt").strip() == "second"
