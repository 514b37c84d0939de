"""File paths in daemon URLs: ``/files/`` + each segment percent-encoded.

An absolute path keeps its leading slash, so ``/tmp/a b`` becomes ``/files//tmp/a%20b``;
that double slash is how the daemon tells absolute paths from relative ones.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

# The characters encodeURIComponent leaves alone, so URLs match the TypeScript client's.
_SAFE = "-_.!~*'()"


def encode_file_path(path: str) -> str:
    """Encode a sandbox path for the URL (empty segments dropped, each segment quoted)."""
    segments = [quote(segment, safe=_SAFE) for segment in path.split("/") if segment]
    encoded = "/".join(segments)
    return "/" + encoded if path.startswith("/") else encoded


def decode_file_path(url_tail: str) -> str:
    """Turn the part of a URL after ``/files/`` back into a path (the daemon's side)."""
    absolute = url_tail.startswith("/")
    segments = [unquote(segment) for segment in url_tail.split("/") if segment]
    joined = "/".join(segments)
    return "/" + joined if absolute else joined
