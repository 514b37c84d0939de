"""``sandbox.env``: read and edit ``.env`` files in the sandbox.

The daemon parses them as python-dotenv does (quotes, ``export``, comments) and edits them in
place: comments, blank lines and the variables an edit does not name stay byte for byte.
Relative paths are taken from the sandbox's work directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from computesdk_core import errors
from computesdk_core.daemon_client import DaemonClient

__all__ = ["EnvFiles"]


class EnvFiles:
    """The env files of one sandbox."""

    def __init__(self, daemon: Callable[[], DaemonClient]) -> None:
        self._daemon = daemon

    def __repr__(self) -> str:
        return "EnvFiles()"

    def _call(self, method: str, file: str, json: Any = None) -> dict[str, Any]:
        if not isinstance(file, str) or not file:
            raise errors.ValidationError("file must be a non-empty path")
        try:
            data = self._daemon().http.data(method, "/env", params={"file": file}, json=json)
        except errors.NotFoundError:
            raise errors.PathNotFoundError(f"no such env file in the sandbox: {file}", status_code=404,
                                           provider="daemon", request_id=None) from None
        return data if isinstance(data, dict) else {}

    def retrieve(self, file: str) -> dict[str, str]:
        """Every variable of ``file`` as strings (PathNotFoundError when it does not exist)."""
        variables = self._call("GET", file).get("variables") or {}
        return {str(key): str(value) for key, value in variables.items()}

    def update(self, file: str, variables: Mapping[str, str]) -> list[str]:
        """Set ``variables`` in ``file`` (created if missing), keeping the rest; returns the keys set.

        Any string value is fine (spaces, quotes, ``#``, ``=``, newlines): it is written so that
        dotenv reads back the same string. A key that is not a valid name is refused
        (ValidationError) and nothing is written.
        """
        if not isinstance(variables, Mapping) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in variables.items()
        ):
            raise errors.ValidationError("variables must map str to str")
        return [str(key) for key in self._call("POST", file, {"variables": dict(variables)}).get("keys") or []]

    def remove(self, file: str, keys: Iterable[str]) -> list[str]:
        """Remove ``keys`` from ``file``; returns those that were there."""
        if isinstance(keys, str):
            raise errors.ValidationError("keys must be a list of names, not one string")
        wanted = list(keys)
        if not all(isinstance(key, str) for key in wanted):
            raise errors.ValidationError("keys must be strings")
        return [str(key) for key in self._call("DELETE", file, {"keys": wanted}).get("keys") or []]

    def exists(self, file: str) -> bool:
        """Whether ``file`` exists (False, not an error, when it does not)."""
        if not isinstance(file, str) or not file:
            raise errors.ValidationError("file must be a non-empty path")
        try:
            self._daemon().http.request("HEAD", "/env", params={"file": file})
        except errors.NotFoundError:
            return False
        return True
