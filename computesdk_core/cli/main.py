"""``computesdk``: manage sandboxes and run commands in them from a shell."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence

from computesdk_core import errors
from computesdk_core.cli.progress import Spinner
from computesdk_core.compute import Compute, compute
from computesdk_core.plugins import KNOWN_PACKAGES, registry
from computesdk_core.sandbox import Sandbox

EXIT_USAGE = 2
EXIT_TIMEOUT = 124


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="computesdk", description="Create code-execution sandboxes and run commands in them.")
    parser.add_argument("--provider", "-p", help="provider to use (default: auto-detected, else local)")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("providers", help="installed providers, whether credentials were found, capabilities")
    run = sub.add_parser("run", help="run a command in a temporary sandbox; its exit code is passed through")
    run.add_argument("--timeout", type=float, help="kill the command after this many seconds")
    run.add_argument("argv", nargs=argparse.REMAINDER, help="-- COMMAND...")
    create = sub.add_parser("create", help="create a sandbox and print its id")
    create.add_argument("--timeout", type=float, help="sandbox lifetime in seconds")
    create.add_argument("--name", help="name (named sandbox)")
    create.add_argument("--namespace", help="namespace of a named sandbox")
    sub.add_parser("list", help="list live sandboxes")
    run_in = sub.add_parser("exec", help="run a command in an existing sandbox")
    run_in.add_argument("sandbox_id")
    run_in.add_argument("--timeout", type=float, help="kill the command after this many seconds")
    run_in.add_argument("argv", nargs=argparse.REMAINDER, help="-- COMMAND...")
    destroy = sub.add_parser("destroy", help="destroy a sandbox (no error when it is gone)")
    destroy.add_argument("sandbox_id")
    return parser


def _command_of(argv: list[str]) -> str:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise errors.ValidationError("give the command after --, e.g. computesdk run -- echo hi")
    # One argument is taken as a shell string; several are joined as words.
    return argv[0] if len(argv) == 1 else shlex.join(argv)


def _stream(sandbox: Sandbox, command: str, timeout: float | None) -> int:
    def out(chunk: str) -> None:
        sys.stdout.write(chunk)
        sys.stdout.flush()

    def err(chunk: str) -> None:
        sys.stderr.write(chunk)
        sys.stderr.flush()

    try:
        result = sandbox.run_command(command, timeout=timeout, on_stdout=out, on_stderr=err)
    except errors.CommandTimeoutError as exc:
        print(f"computesdk: {exc}", file=sys.stderr)
        return EXIT_TIMEOUT
    return result.exit_code


def _providers(client: Compute) -> int:
    installed = client.providers()
    selected = client.selected_provider()

    for name in sorted(set(installed) | set(KNOWN_PACKAGES)):
        if name not in installed:
            print(f"  {name:<12} not installed (pip install {KNOWN_PACKAGES[name]})")
            continue
        try:
            host = registry.host(name)
            detected = bool(host.hook.provider_detect(environ=os.environ))
            credentials = "credentials found" if detected else ("no credentials needed" if name == "local" else "no credentials")
            features = ", ".join(sorted(host.capabilities()))
        except errors.ComputeSDKError as exc:
            print(f"  {name:<12} broken: {exc}")
            continue
        marker = "*" if name == selected else " "
        print(f"{marker} {name:<12} {credentials}; {features}")
    print(f"(* = selected: {selected})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    client = compute(provider=args.provider) if args.provider else compute
    try:
        if args.action == "providers":
            return _providers(client)
        if args.action == "run":
            command = _command_of(args.argv)
            with Spinner(f"Creating sandbox on {client.selected_provider()}"):
                sandbox = client.sandbox.create()
            try:
                return _stream(sandbox, command, args.timeout)
            finally:
                sandbox.destroy()
        if args.action == "create":
            with Spinner(f"Creating sandbox on {client.selected_provider()}"):
                sandbox = client.sandbox.create(timeout=args.timeout, name=args.name, namespace=args.namespace)
            sandbox.close()
            print(sandbox.sandbox_id)
            return 0
        if args.action == "list":
            for sandbox in client.sandbox.list():
                info = sandbox.get_info()
                name = f"{info.metadata.get('namespace')}/{info.metadata.get('name')}" if sandbox.name else ""
                print(f"{info.id}\t{info.status}\t{info.created_at:%Y-%m-%d %H:%M:%S}Z\t{name}")
                sandbox.close()
            return 0
        if args.action == "exec":
            command = _command_of(args.argv)
            found = client.sandbox.get_by_id(args.sandbox_id)
            if found is None:
                print(f"computesdk: no sandbox {args.sandbox_id!r} on {client.selected_provider()}", file=sys.stderr)
                return EXIT_USAGE
            try:
                return _stream(found, command, args.timeout)
            finally:
                found.close()
        if args.action == "destroy":
            client.sandbox.destroy(args.sandbox_id)
            return 0
    except KeyboardInterrupt:
        return 130
    except errors.ComputeSDKError as exc:
        print(f"computesdk: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, errors.ValidationError) else 1
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
