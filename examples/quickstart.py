"""The quick start of the docs, in Python: create a sandbox, run code and commands, use files.

With no cloud credentials in the environment this runs on the embedded ``local`` provider: a
real bubblewrap sandbox on this machine.
"""

from computesdk_core import compute


def main() -> None:
    with compute.sandbox.create(timeout=300) as sandbox:
        print(f"sandbox {sandbox.sandbox_id} on {sandbox.provider}")

        result = sandbox.run_code('print("Hello World!")')
        print(f"run_code -> {result.output.strip()!r} (language {result.language}, exit {result.exit_code})")

        sandbox.filesystem.write_file("/tmp/hello.py", 'print("Hello from a file")')
        print("read back:", sandbox.filesystem.read_file("/tmp/hello.py"))
        sandbox.filesystem.mkdir("/tmp/mydir")
        print("in /tmp:", sorted(entry.name for entry in sandbox.filesystem.readdir("/tmp")))
        print("exists:", sandbox.filesystem.exists("/tmp/hello.py"))

        listing = sandbox.run_command("python3 /tmp/hello.py && ls -la", cwd="/tmp")
        print(listing.stdout, end="")
        print(f"exit {listing.exit_code} in {listing.duration_ms} ms")

        failing = sandbox.run_command("grep pattern /no/such/file")
        if failing.exit_code != 0:
            print("command failed as expected:", failing.stderr.strip())

        sandbox.run_command("for i in 1 2 3; do echo tick $i; sleep 0.3; done",
                            on_stdout=lambda chunk: print("live:", chunk, end=""))
        sandbox.filesystem.remove("/tmp/hello.py")
    print("sandbox destroyed")


if __name__ == "__main__":
    main()
