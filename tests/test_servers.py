"""``sandbox.servers`` against a real daemon on loopback (real HTTP servers), and on the local provider."""

from __future__ import annotations

import datetime as dt
import socket
import sys
from collections.abc import Iterator

import pytest
import requests
from computesdk_daemon.testing import DaemonProcess, wait_until_dead

from computesdk_core import compute, errors
from computesdk_core.daemon_client import DaemonClient
from computesdk_core.namespaces.servers import ServerFailedError, ServerInfo, Servers
from computesdk_core.types import DaemonEndpoint

pytestmark = pytest.mark.timeout(90)
HTTP_SERVER = f"{sys.executable} -m http.server $PORT --bind 127.0.0.1"


@pytest.fixture
def servers(daemon: DaemonProcess) -> Iterator[Servers]:
    client = DaemonClient(DaemonEndpoint(daemon.url, daemon.token), name="servers-test")
    namespace = Servers(lambda: client)
    yield namespace
    for server in namespace.list():
        namespace.delete(server.slug)
    client.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_lifecycle_of_a_real_http_server(servers: Servers, daemon: DaemonProcess) -> None:
    assert servers.list() == []
    (daemon.workdir / "site").mkdir()
    (daemon.workdir / "site" / "index.html").write_text("<h1>hi</h1>")
    port = free_port()
    started = servers.start("web", HTTP_SERVER, path="site", port=port)
    assert isinstance(started, ServerInfo)
    assert (started.slug, started.command, started.status) == ("web", HTTP_SERVER, "starting")
    assert started.path == str(daemon.workdir / "site") and started.pid
    assert started.created_at.tzinfo == dt.timezone.utc
    ready = servers.wait_until_ready("web", timeout=30)
    assert (ready.status, ready.port, ready.url) == ("ready", port, f"http://127.0.0.1:{port}")
    assert ready.url is not None and requests.get(ready.url, timeout=10).text == "<h1>hi</h1>"
    assert servers.retrieve("web") == ready
    assert [s.slug for s in servers.list()] == ["web"]

    with pytest.raises(errors.ValidationError, match="web"):
        servers.start("web", "true")

    restarted = servers.restart("web")
    assert restarted.pid != ready.pid and restarted.status == "starting"
    again = servers.wait_until_ready("web", timeout=30)
    servers.stop("web")
    assert wait_until_dead(again.pid or 0)
    assert servers.retrieve("web").status == "stopped"
    # A stopped server can be started again under the same slug, with a new command.
    servers.start("web", "sleep 30")
    assert servers.retrieve("web").status in ("starting", "running")
    servers.delete("web")
    with pytest.raises(errors.NotFoundError):
        servers.retrieve("web")


def test_a_failing_server_reports_its_output(servers: Servers) -> None:
    servers.start("broken", "echo booting; echo 'fatal: no config' >&2; exit 2")
    with pytest.raises(ServerFailedError, match="fatal: no config") as failure:
        servers.wait_until_ready("broken", timeout=30)
    assert failure.value.server.status == "failed" and failure.value.server.exit_code == 2
    assert servers.logs("broken", "stdout") == "booting\n"
    assert servers.logs("broken", stream="stderr") == "fatal: no config\n"
    assert "booting" in servers.logs("broken") and "fatal" in servers.logs("broken")


def test_waiting_times_out_for_a_server_that_never_listens(servers: Servers) -> None:
    servers.start("silent", "sleep 30")
    with pytest.raises(errors.OperationTimeoutError, match="silent"):
        servers.wait_until_ready("silent", timeout=1.0)


def test_env_file_and_environment(servers: Servers, daemon: DaemonProcess) -> None:
    (daemon.workdir / "api").mkdir()
    (daemon.workdir / "api" / ".env.production").write_text("NODE_ENV=production\nSHARED=from-file\n")
    show = "echo $NODE_ENV $SHARED; exit 1"
    server = servers.start("api", show, path="api", env_file=".env.production", environment={"SHARED": "inline"})
    assert server.env_file == ".env.production"
    with pytest.raises(ServerFailedError):
        servers.wait_until_ready("api", timeout=30)
    assert servers.logs("api", "stdout") == "production inline\n"


def test_unknown_slugs_and_bad_arguments(servers: Servers) -> None:
    for call in (servers.retrieve, servers.stop, servers.restart, servers.delete, servers.logs):
        with pytest.raises(errors.NotFoundError, match="ghost"):
            call("ghost")
    with pytest.raises(errors.ValidationError, match="slug"):
        servers.start("not url safe", "true")
    with pytest.raises(errors.ValidationError):
        servers.start("x", "")
    with pytest.raises(errors.ValidationError):
        servers.logs("x", "both")  # type: ignore[arg-type]
    with pytest.raises(errors.ValidationError, match="missing.env"):
        servers.start("x", "true", env_file="missing.env")


def test_servers_on_a_local_sandbox() -> None:
    sandbox = compute(provider="local").sandbox.create(timeout=300)
    try:
        sandbox.filesystem.write_file("/srv/hello.txt", "served from a local sandbox")
        port = free_port()
        sandbox.servers.start("files", "python3 -m http.server $PORT --bind 127.0.0.1", path="/srv", port=port)
        ready = sandbox.servers.wait_until_ready("files", timeout=30)
        assert ready.port == port and ready.url == f"http://127.0.0.1:{port}"
        assert requests.get(f"{ready.url}/hello.txt", timeout=10).text == "served from a local sandbox"
        sandbox.servers.stop("files")
        assert sandbox.servers.retrieve("files").status == "stopped"
        with pytest.raises(requests.ConnectionError):
            requests.get(ready.url, timeout=5)
    finally:
        sandbox.destroy()
