"""The bubblewrap isolation run by an unprivileged user (through a user namespace).

The test switches to the ``nobody`` user with ``setpriv``, so it needs root to start with, and an
interpreter ``nobody`` may run that has this environment's packages: the system's python3 of the
same version, in a throw-away venv that adds our site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_helpers import needs_bwrap

NOBODY = 65534

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, requests
    from computesdk_core.types import CreateOptions
    from computesdk_local import plugin
    config = plugin.provider_config(options={"home": sys.argv[1], "network": sys.argv[2]}, environ={})
    record = plugin.sandbox_create(config=config, options=CreateOptions(timeout=60))
    try:
        reply = requests.post(
            record.native.url + "/run/command",
            json={"command": "echo made-inside > /app.txt && ls /proc | grep -c '^[0-9]' && ls -A /root | wc -l"
                            " && mkdir -p /ro/sub && touch /ro/sub/f && chmod 0 /ro/sub && chmod 555 /ro"},
            headers={"Authorization": "Bearer " + record.native.token}, timeout=30,
        ).json()["data"]
        written = [os.path.join(d, "app.txt") for d, _, files in os.walk(record.native.dir) if "app.txt" in files]
        listed = [r.sandbox_id for r in plugin.sandbox_list(config=config)]
    finally:
        destroyed = plugin.sandbox_destroy(config=config, sandbox_id=record.sandbox_id)
    print(json.dumps({"uid": os.geteuid(), "reply": reply, "written": written, "listed": listed,
                      "id": record.sandbox_id, "destroyed": destroyed, "left": os.listdir(sys.argv[1] + "/sandboxes")}))
    """
)


@pytest.fixture
def nobody_python() -> Iterator[tuple[str, Path]]:
    """An interpreter the nobody user can run, and a directory it owns."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to switch to an unprivileged user")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system_python = shutil.which(version, path="/usr/bin:/bin")
    if system_python is None:
        pytest.skip(f"no system {version} for the unprivileged user")
    base = Path(tempfile.mkdtemp(prefix="computesdk-local-unprivileged-", dir="/tmp"))
    try:
        os.chmod(base, 0o755)
        venv = base / "venv"
        made = subprocess.run([system_python, "-m", "venv", "--without-pip", str(venv)], capture_output=True, timeout=60, check=False)
        if made.returncode != 0:
            pytest.skip(f"cannot make a venv with {system_python}: {made.stderr.decode()[-200:]}")
        site_packages = next(venv.glob("lib/python*/site-packages"))
        lines = "".join(f"import site; site.addsitedir({path!r})\n" for path in site.getsitepackages())
        (site_packages / "computesdk-test.pth").write_text(lines)
        for path in [base, *base.rglob("*")]:
            os.lchown(path, NOBODY, NOBODY)
        yield str(venv / "bin" / "python"), base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@needs_bwrap
@pytest.mark.timeout(120)
@pytest.mark.parametrize("network", ["host", "none"])
def test_unprivileged_user_gets_an_isolated_sandbox(nobody_python: tuple[str, Path], network: str) -> None:
    python, base = nobody_python
    readable = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python, "-c", "import computesdk_local"],
        capture_output=True, timeout=60, check=False,
    )
    if readable.returncode != 0:
        pytest.skip("the unprivileged user cannot read this environment's packages")
    done = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", python, "-c", SCRIPT,
         str(base / "state"), network],
        capture_output=True, text=True, timeout=90, env={"PATH": os.defpath, "HOME": str(base)}, cwd=base, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert answer["uid"] == NOBODY
    assert answer["reply"]["exit_code"] == 0, answer["reply"]["stderr"]
    processes, root_entries = answer["reply"]["stdout"].split()
    assert int(processes) < 10 and root_entries == "0"
    assert len(answer["written"]) == 1 and answer["written"][0].startswith(str(base / "state" / "sandboxes"))
    assert not os.path.exists("/app.txt")
    assert answer["listed"] == [answer["id"]]
    # Directories left without permissions (like overlayfs's work directory) are removed too.
    assert answer["destroyed"] is True and answer["left"] == []
