"""A TCP forwarder from the host's loopback into a sandbox that has no network (network "none").

With ``--unshare-net`` the sandbox has a loopback of its own, so the host cannot reach its daemon.
This small process listens on the host's 127.0.0.1 first, then joins the sandbox's network
namespace: every connection it accepts from the host is connected to the daemon's port on the
sandbox's loopback. It exits when the sandbox's PID-namespace init is gone.

Run as ``python -m computesdk_local.portforward --pid PID --start-time TICKS --target-port PORT
--ready-file PATH``; it writes ``{"port", "pid"}`` to the ready file once listening.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import socket
import sys
import threading
from pathlib import Path

from computesdk_local.layout import write_atomic
from computesdk_local.procs import ProcessRef

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_CHUNK = 65536
_LIVENESS_INTERVAL = 0.5


def join_namespaces(pid: int) -> None:
    """Join the network namespace of ``pid`` (and its user namespace first, when it has its own).

    Must run before any other thread starts: the kernel lets only single-threaded processes change
    user namespace.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if os.stat(f"/proc/{pid}/ns/user").st_ino != os.stat("/proc/self/ns/user").st_ino:
        _setns(libc, f"/proc/{pid}/ns/user", _CLONE_NEWUSER)
    _setns(libc, f"/proc/{pid}/ns/net", _CLONE_NEWNET)


def _setns(libc: ctypes.CDLL, path: str, kind: int) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, kind) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({path}): {os.strerror(errno)}")
    finally:
        os.close(fd)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(_CHUNK)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        # Half-close so the other direction can still finish (HTTP clients rely on it).
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _serve_one(client: socket.socket, target_port: int, number: int) -> None:
    try:
        upstream = socket.create_connection(("127.0.0.1", target_port), timeout=10)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pump, args=(upstream, client), name=f"portforward-{number}-back", daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(listener: socket.socket, target_port: int, owner: ProcessRef) -> None:
    """Accept and forward connections until ``owner`` (the sandbox's init) is gone."""
    listener.settimeout(_LIVENESS_INTERVAL)
    number = 0
    while owner.alive():
        try:
            client, _address = listener.accept()
        except TimeoutError:
            continue
        client.settimeout(None)
        number += 1
        threading.Thread(
            target=_serve_one, args=(client, target_port, number), name=f"portforward-{number}", daemon=True
        ).start()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the forwarder process."""
    parser = argparse.ArgumentParser(prog="python -m computesdk_local.portforward", description=__doc__)
    parser.add_argument("--pid", type=int, required=True, help="host PID of the sandbox's PID-namespace init")
    parser.add_argument("--start-time", type=int, required=True, help="its start time (/proc/PID/stat field 22)")
    parser.add_argument("--target-port", type=int, required=True, help="the daemon's port inside the sandbox")
    parser.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args(argv)
    owner = ProcessRef(args.pid, args.start_time)
    if not owner.alive():
        print("portforward: the sandbox is gone", file=sys.stderr)
        return 1
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    join_namespaces(args.pid)
    write_atomic(args.ready_file, json.dumps({"port": listener.getsockname()[1], "pid": os.getpid()}))
    serve(listener, args.target_port, owner)
    return 0


if __name__ == "__main__":
    sys.exit(main())
