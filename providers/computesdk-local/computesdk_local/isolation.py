"""How a sandbox's processes are started: the bubblewrap file system and namespaces, or no isolation.

With isolation "bwrap" the sandbox's ``/`` is a sandbox-owned directory (``fs/root``) on which,
in a private mount namespace, each host system directory (``/usr``, ``/etc``, ``/var``...) is
mounted as an overlay: the host's copy is the read-only lower layer, the sandbox's writes go to
its upper layer under the sandbox directory. Every other top-level directory (``/root``,
``/home``, ``/tmp``, ``/work``, ``/srv``...) starts out as an empty sandbox-owned directory, so
the host's files there are not visible. bubblewrap then makes that tree the root, with its own
``/proc``, ``/dev``, PID, UTS and IPC namespaces and no capabilities.

Overlays of single directories, rather than one overlay of ``/``, are what the kernel allows in a
user namespace (an overlay of ``/`` would have to clone the locked mounts under it), so the same
design serves root and unprivileged users; root merely skips the user namespace.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

from computesdk_core.errors import ConfigurationError
from computesdk_local.layout import SandboxDir

# Host directories the sandbox sees (copy-on-write). Anything else at the top level is hidden.
SYSTEM_DIRS = ("bin", "etc", "lib", "lib32", "lib64", "libx32", "nix", "opt", "sbin", "usr", "var")
# Always present in the sandbox, empty unless bubblewrap mounts something there.
BASE_DIRS = {"proc": 0o555, "dev": 0o755, "sys": 0o555, "tmp": 0o1777, "root": 0o700, "home": 0o755, "run": 0o755}
# Host files that hold secrets even inside the visible system directories.
SECRET_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssh/ssh_host_*_key")
# Files a resolver needs that may live outside the visible directories (systemd-resolved) or be mounts.
PASSTHROUGH_FILES = ("/etc/resolv.conf", "/etc/hosts")

WORKDIR = "/home/user"
IPC_DIR = "/run/computesdk"
READY_FILE = IPC_DIR + "/ready.json"
SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Characters that the kernel's overlay option parser treats specially.
_OVERLAY_UNSAFE = set(",:\\")

_INSTALL_HINT = (
    "bubblewrap (bwrap) is not installed; the local provider isolates sandboxes with it. "
    "Install it with 'apt-get install bubblewrap' (Debian/Ubuntu), 'dnf install bubblewrap' "
    "(Fedora/RHEL), 'apk add bubblewrap' (Alpine) or 'pacman -S bubblewrap' (Arch); the package "
    "is called bubblewrap everywhere. Or create sandboxes without isolation: "
    "compute(provider='local', local={'isolation': 'none'}) or create(isolation='none') "
    "(processes then run directly on this machine)."
)


@attrs.frozen
class Launch:
    """A process to start: its argv, its environment, its working directory and what to feed its stdin."""

    argv: list[str]
    env: dict[str, str] = attrs.field(repr=False)
    cwd: str
    stdin: bytes = attrs.field(default=b"", repr=False)


@attrs.frozen
class Tools:
    """Absolute paths of the host programs the bubblewrap isolation runs."""

    bwrap: str
    unshare: str
    mount: str
    sh: str


def find_tools() -> Tools:
    """Locate bwrap, unshare, mount and sh; raise ConfigurationError saying how to install what is missing."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise ConfigurationError(_INSTALL_HINT)
    found = {name: shutil.which(name) for name in ("unshare", "mount", "sh")}
    missing = sorted(name for name, path in found.items() if path is None)
    if missing:
        raise ConfigurationError(
            f"the local provider needs {', '.join(missing)} (util-linux) for isolation 'bwrap'; "
            "install util-linux, or use isolation='none'"
        )
    return Tools(bwrap=bwrap, unshare=str(found["unshare"]), mount=str(found["mount"]), sh=str(found["sh"]))


# Runs ``computesdk_daemon`` as ``python -m`` would, with the access token read from stdin: passed
# in the environment, it would also sit in the environment block of bubblewrap's init process,
# which the sandbox's commands can read through /proc/1/environ.
DAEMON_BOOTSTRAP = (
    "import os, runpy, sys; "
    "token = sys.stdin.buffer.read().decode(); "
    "devnull = os.open(os.devnull, os.O_RDONLY); os.dup2(devnull, 0); os.close(devnull); "
    "os.environ['COMPUTESDK_ACCESS_TOKEN'] = token; del token; "
    "runpy.run_module('computesdk_daemon', run_name='__main__', alter_sys=True)"
)


def daemon_command(python: str, workdir: str, timeout: float, ready_file: str) -> list[str]:
    """The daemon's command line; the access token goes to its stdin (see ``DAEMON_BOOTSTRAP``).

    ``-I``: the daemon ignores PYTHON* variables and does not import from its working directory.
    """
    return [
        python, "-I", "-c", DAEMON_BOOTSTRAP, "--host", "127.0.0.1", "--port", "0",
        "--workdir", workdir, "--timeout", format_seconds(timeout), "--ready-file", ready_file,
    ]


def format_seconds(seconds: float) -> str:
    """Render seconds for a command line without exponent notation."""
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


def sandbox_env(extra: dict[str, str], home: str, tmpdir: str | None = None) -> dict[str, str]:
    """The clean environment of a sandbox's first process: a fixed base, then the create ``envs``."""
    env = {"PATH": SANDBOX_PATH, "HOME": home, "LANG": "C.UTF-8"}
    if tmpdir is not None:
        env["TMPDIR"] = tmpdir
    env.update(extra)
    return env


def plain_launch(directory: SandboxDir, python: str, timeout: float, env: dict[str, str], token: str) -> Launch:
    """The daemon as an ordinary host process (isolation "none"): it sees and may change the whole host.

    ``env`` should point TMPDIR at ``directory.plain_tmp`` (made here), so that temporary files
    of the daemon and its commands go when the sandbox does.
    """
    workdir = str(directory.plain_root)
    directory.plain_root.mkdir(mode=0o755)
    directory.plain_tmp.mkdir(mode=0o700)
    argv = daemon_command(python, workdir, timeout, str(directory.ready))
    return Launch(argv=argv, env=env, cwd=workdir, stdin=token.encode())


def bwrap_launch(
    directory: SandboxDir,
    *,
    tools: Tools,
    python_paths: Sequence[str],
    python: str,
    timeout: float,
    network: str,
    state_home: Path,
    env: dict[str, str],
    token: str,
) -> Launch:
    """Lay out the sandbox's file system and write ``launch.sh``; return how to start it.

    The script mounts the overlays and execs bubblewrap, which runs the daemon. It is started by
    ``unshare`` in a private mount namespace (plus a user namespace when not root), so no mount
    is ever visible on the host and every mount vanishes with the sandbox's last process.
    """
    _check_overlay_path(directory.path)
    unprivileged = os.geteuid() != 0
    overlaid = _lay_out_root(directory)
    mounts = [_overlay_mount(tools.mount, directory, name, unprivileged) for name in overlaid]

    args: list[str] = ["--bind", str(directory.root), "/", "--proc", "/proc", "--dev", "/dev"]
    hidden_paths: list[str] = []
    nested = [("var-tmp", "/var/tmp", 0o1777)] if "var" in overlaid and not os.path.islink("/var/tmp") else []
    state_real = os.path.realpath(state_home)
    if _visible(state_real, overlaid, []):
        nested.append(("state", state_real, 0o700))
    for name, target, mode in nested:
        mask = directory.mask(name)
        mask.mkdir(parents=True)
        os.chmod(mask, mode)
        args += ["--bind", str(mask), target]
        hidden_paths.append(target)
    for index, secret in enumerate(_existing_secret_files()):
        if _visible(secret, overlaid, hidden_paths):
            mask = directory.mask(f"file-{index}")
            mask.parent.mkdir(parents=True, exist_ok=True)
            mask.touch(mode=0o600)
            args += ["--bind", str(mask), secret]
    for passthrough in PASSTHROUGH_FILES:
        real = os.path.realpath(passthrough)
        if os.path.isfile(real) and (
            not _visible(real, overlaid, hidden_paths) or passthrough in _mount_points()
        ):
            args += ["--ro-bind", real, real]
    directory.ipc.mkdir(exist_ok=True)
    args += ["--bind", str(directory.ipc), IPC_DIR]
    for path in _outermost(p for p in python_paths if not _visible(p, overlaid, hidden_paths)):
        args += ["--ro-bind", path, path]
    args += ["--unshare-pid", "--unshare-uts", "--unshare-ipc"]
    if network == "none":
        args.append("--unshare-net")
    args += [
        "--cap-drop", "ALL", "--hostname", directory.id, "--new-session", "--chdir", WORKDIR,
        "--info-fd", "3", "--",
    ]
    args += daemon_command(python, WORKDIR, timeout, READY_FILE)

    lines = [
        "#!/bin/sh",
        f"# Generated by computesdk-local for sandbox {directory.id}: mount its file system in this",
        "# private mount namespace, then start its processes under bubblewrap.",
        "set -eu",
    ]
    lines += [shlex.join(mount) for mount in mounts]
    lines.append(f"exec {shlex.join([tools.bwrap, *args])} 3>{shlex.quote(str(directory.info))}")
    directory.launch_script.write_text("\n".join(lines) + "\n", encoding="utf-8")

    wrapper = [tools.unshare]
    if unprivileged:
        wrapper += ["--user", "--map-root-user"]
    wrapper += ["--mount", "--propagation", "private", "--", tools.sh, str(directory.launch_script)]
    return Launch(argv=wrapper, env=env, cwd=str(directory.path), stdin=token.encode())


def read_init_pid(directory: SandboxDir) -> int | None:
    """The host PID of the sandbox's PID-namespace init, as bubblewrap reported it (None if not yet)."""
    try:
        return int(json.loads(directory.info.read_text(encoding="utf-8"))["child-pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_overlay_path(path: Path) -> None:
    if _OVERLAY_UNSAFE & set(str(path)):
        raise ConfigurationError(
            f"the local provider's state directory {str(path.parent.parent)!r} contains one of "
            "',', ':' or '\\', which overlay mount options cannot hold; set the local option 'home' "
            "(or COMPUTESDK_LOCAL_HOME) to another directory"
        )


def _lay_out_root(directory: SandboxDir) -> list[str]:
    """Create the sandbox's ``/``; return the system directories to mount as overlays on it."""
    root = directory.root
    root.mkdir(parents=True)
    os.chmod(root, 0o755)
    overlaid: list[str] = []
    with os.scandir("/") as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            target = root / entry.name
            if entry.is_symlink():
                os.symlink(os.readlink(entry.path), target)
            elif entry.is_dir(follow_symlinks=False):
                target.mkdir()
                if entry.name in SYSTEM_DIRS and not (_OVERLAY_UNSAFE & set(entry.name)):
                    directory.upper(entry.name).mkdir(parents=True)
                    directory.work(entry.name).mkdir(parents=True)
                    overlaid.append(entry.name)
                else:
                    os.chmod(target, stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode))
    for name, mode in BASE_DIRS.items():
        target = root / name
        if not target.is_symlink():
            target.mkdir(exist_ok=True)
            os.chmod(target, mode)
    (root / WORKDIR.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return overlaid


def _overlay_mount(mount: str, directory: SandboxDir, name: str, unprivileged: bool) -> list[str]:
    options = f"lowerdir=/{name},upperdir={directory.upper(name)},workdir={directory.work(name)}"
    if unprivileged:
        # Inside a user namespace overlayfs may only use user.* extended attributes.
        options += ",userxattr"
    return [mount, "-t", "overlay", "overlay", "-o", options, str(directory.root / name)]


def _visible(path: str, overlaid: list[str], hidden: list[str]) -> bool:
    """Say whether host ``path`` shows through the sandbox's overlays unchanged."""
    path = os.path.abspath(path)
    top = path.split("/")[1]
    top_path = "/" + top
    if os.path.islink(top_path):
        top = os.path.realpath(top_path).split("/")[1]
    if top not in overlaid:
        return False
    return not any(path == h or path.startswith(h.rstrip("/") + "/") for h in hidden)


def _outermost(paths: Iterable[str]) -> list[str]:
    """Drop paths inside another path of the list (bind the outermost once)."""
    chosen: list[str] = []
    for path in sorted(set(paths)):
        if not any(path == c or path.startswith(c.rstrip("/") + "/") for c in chosen):
            chosen.append(path)
    return chosen


def _existing_secret_files() -> list[str]:
    found: list[str] = []
    for pattern in SECRET_FILES:
        found += sorted(p for p in glob.glob(pattern) if os.path.isfile(p))
    return found


def _mount_points() -> set[str]:
    points: set[str] = set()
    try:
        with open("/proc/self/mountinfo", encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) > 4:
                    # Spaces and other odd characters are written as octal escapes (\040).
                    points.add(fields[4].encode().decode("unicode_escape"))
    except OSError:
        pass
    return points
