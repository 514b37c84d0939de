"""Conformance tests of ``sandbox.run_command``: results, options, background, timeout, streaming."""

from __future__ import annotations

import shlex
import time
from typing import Any

import pytest

from computesdk_core.errors import CommandTimeoutError
from computesdk_core.testing.support import ChunkRecorder, wait_until
from computesdk_core.types import CommandResult

# Arguments that break naive quoting, each sent through the shell and expected back unchanged.
AWKWARD_ARGUMENTS = {
    "spaces": "a b  c ",
    "single-quote": "it's",
    "double-quotes": 'say "hi"',
    "dollar": "$HOME ${PATH} $(id)",
    "backticks": "`id`",
    "backslashes": "back\\slash \\n \\\\",
    "newlines": "line1\nline2\n\nline4",
    "tab": "a\tb",
    "unicode": "ünïcødé ✓ 日本語 🚀",
    "glob-and-operators": "* ? [a] ; && || | > < &",
    "leading-dash": "-n -e",
    "percent": "100% %s %d",
}


class CommandTests:
    """Exit codes, stdout/stderr, cwd, env, quoting, background, timeout and streaming."""

    def test_run_command_returns_stdout_and_exit_code_zero(self, sandbox: Any) -> None:
        """A successful command gives its stdout, empty stderr, exit code 0 and a duration."""
        result = sandbox.run_command("echo hello", timeout=30)
        assert isinstance(result, CommandResult)
        assert (result.stdout, result.stderr, result.exit_code) == ("hello\n", "", 0)
        assert isinstance(result.duration_ms, int) and result.duration_ms >= 0

    def test_nonzero_exit_code_is_a_result_not_an_exception(self, sandbox: Any) -> None:
        """``exit 3`` returns exit code 3, keeping what the command printed first."""
        result = sandbox.run_command("echo before; exit 3", timeout=30)
        assert (result.exit_code, result.stdout) == (3, "before\n")

    def test_stderr_is_kept_apart_from_stdout(self, sandbox: Any) -> None:
        """What goes to stderr lands in ``stderr`` only, and stdout in ``stdout`` only."""
        result = sandbox.run_command("echo out; echo err >&2; echo out2", timeout=30)
        assert result.stdout == "out\nout2\n"
        assert result.stderr == "err\n"

    def test_command_not_found_gives_exit_code_127(self, sandbox: Any) -> None:
        """An unknown program is exit code 127 with a message on stderr, not an exception."""
        result = sandbox.run_command("computesdk-no-such-command-xyz --flag", timeout=30)
        assert result.exit_code == 127
        assert result.stderr.strip()

    def test_cwd_sets_the_working_directory(self, sandbox: Any, scratch: str) -> None:
        """With ``cwd`` the command starts there and relative paths resolve there."""
        result = sandbox.run_command("pwd; echo rel > relative.txt", cwd=scratch, timeout=30)
        assert result.stdout == f"{scratch}\n"
        assert sandbox.run_command(f"cat '{scratch}/relative.txt'", timeout=30).stdout == "rel\n"

    def test_env_sets_variables_without_expanding_them(self, sandbox: Any) -> None:
        """``env`` values arrive verbatim (no shell expansion of ``$`` or quotes)."""
        env = {"CONFORMANCE_A": "a value with spaces", "CONFORMANCE_B": "$HOME 'x' \"y\" `id`"}
        result = sandbox.run_command(
            'printf "%s|%s" "$CONFORMANCE_A" "$CONFORMANCE_B"', env=env, timeout=30
        )
        assert result.stdout == f"{env['CONFORMANCE_A']}|{env['CONFORMANCE_B']}"

    def test_env_of_one_command_does_not_leak_into_the_next(self, sandbox: Any) -> None:
        """A variable passed to one command is not set for a later command."""
        sandbox.run_command("true", env={"CONFORMANCE_LEAK": "leaked"}, timeout=30)
        result = sandbox.run_command('printf %s "${CONFORMANCE_LEAK-unset}"', timeout=30)
        assert result.stdout == "unset"

    def test_shell_features_work(self, sandbox: Any) -> None:
        """The command string runs in a shell: pipes, ``&&`` and redirects work."""
        result = sandbox.run_command("printf 'b\\na\\nb\\n' | sort | uniq -c | wc -l && echo ok", timeout=30)
        assert result.stdout.split() == ["2", "ok"]

    @pytest.mark.parametrize("value", list(AWKWARD_ARGUMENTS.values()), ids=list(AWKWARD_ARGUMENTS))
    def test_awkward_arguments_round_trip_through_printf(self, sandbox: Any, value: str) -> None:
        """An argument quoted with ``shlex.quote`` reaches the program byte for byte."""
        result = sandbox.run_command(f"printf %s {shlex.quote(value)}", timeout=30)
        assert (result.exit_code, result.stdout) == (0, value)

    def test_large_output_arrives_complete(self, sandbox: Any) -> None:
        """3 MB of stdout arrive whole, both in the result and through ``on_stdout``."""
        size = 3_000_000
        recorder = ChunkRecorder()
        result = sandbox.run_command(
            f"head -c {size} /dev/zero | tr '\\0' 'a'; echo end", timeout=60, on_stdout=recorder
        )
        assert len(result.stdout) == size + 4 and result.stdout.endswith("aend\n")
        assert recorder.text == result.stdout

    def test_background_command_returns_at_once_and_keeps_running(
        self, sandbox: Any, scratch: str
    ) -> None:
        """``background=True`` returns exit code 0 well before the command ends, and it finishes."""
        started, finished = f"{scratch}/started", f"{scratch}/finished"
        begin = time.monotonic()
        result = sandbox.run_command(
            f"echo started > '{started}'; sleep 5; echo finished > '{finished}'",
            background=True,
            timeout=30,
        )
        returned_after = time.monotonic() - begin
        assert returned_after < 4, f"background run_command blocked for {returned_after:.1f} s"
        assert result.exit_code == 0

        def exists(path: str) -> bool:
            return bool(sandbox.run_command(f"test -e '{path}'", timeout=30).exit_code == 0)

        assert wait_until(lambda: exists(started), timeout=10), "the background command never started"
        assert wait_until(lambda: exists(finished), timeout=15), (
            "the background command was stopped before it finished"
        )

    def test_timeout_raises_with_partial_output_and_kills_the_command(
        self, sandbox: Any, scratch: str
    ) -> None:
        """Past ``timeout`` the call raises CommandTimeoutError (a TimeoutError) with what was
        printed so far; the command is killed and the sandbox keeps working."""
        leaked = f"{scratch}/leaked"
        begin = time.monotonic()
        with pytest.raises(CommandTimeoutError) as caught:
            sandbox.run_command(
                f"echo partial; echo partial-err >&2; sleep 2; echo leaked > '{leaked}'", timeout=1
            )
        elapsed = time.monotonic() - begin
        assert elapsed < 1 + 5, f"timeout=1 raised only after {elapsed:.1f} s"
        assert isinstance(caught.value, TimeoutError)
        assert "partial" in caught.value.stdout
        assert "partial-err" in caught.value.stderr
        assert caught.value.timeout == 1

        assert sandbox.run_command("echo alive", timeout=30).stdout == "alive\n"
        # Had the command survived, its shell would have written the marker 2 s after it started.
        time.sleep(max(0.0, begin + 3.5 - time.monotonic()))
        assert sandbox.run_command(f"test -e '{leaked}'", timeout=30).exit_code == 1, (
            "the timed-out command kept running"
        )

    def test_on_stdout_streams_before_the_command_ends(self, sandbox: Any) -> None:
        """The first line reaches ``on_stdout`` while the command still runs, not at its end."""
        recorder = ChunkRecorder()
        result = sandbox.run_command("echo first; sleep 2; echo second", timeout=30, on_stdout=recorder)
        returned_at = time.monotonic()
        first_at = recorder.first_time_containing("first")
        assert first_at is not None, f"on_stdout never saw 'first': {recorder.chunks!r}"
        assert returned_at - first_at >= 1.0, (
            f"'first' arrived only {returned_at - first_at:.2f} s before the command returned"
        )
        assert recorder.text == result.stdout == "first\nsecond\n"
        assert all(isinstance(chunk, str) for chunk in recorder.chunks)
        assert result.duration_ms >= 1500

    def test_on_stderr_receives_stderr_only(self, sandbox: Any) -> None:
        """``on_stderr`` gets the stderr chunks and ``on_stdout`` the stdout ones, unmixed."""
        out, err = ChunkRecorder(), ChunkRecorder()
        result = sandbox.run_command(
            "echo to-err >&2; echo to-out; echo more-err >&2",
            timeout=30,
            on_stdout=out,
            on_stderr=err,
        )
        assert err.text == result.stderr == "to-err\nmore-err\n"
        assert out.text == result.stdout == "to-out\n"
