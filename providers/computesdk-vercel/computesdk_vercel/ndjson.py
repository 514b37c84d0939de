"""Newline-delimited JSON read on a named daemon thread, so the caller can wait with a deadline."""

from __future__ import annotations

import json
import queue
import threading
from typing import Any

import attrs
import requests

# Stream lines longer than this are not JSON Vercel sends; stop rather than buffer without end.
MAX_LINE = 16 * 1024 * 1024


@attrs.frozen
class Item:
    """One thing the reader saw: a parsed ``line``, the ``end`` of the stream, or a ``broken`` one."""

    kind: str
    value: Any = None


class LineReader:
    """Reads one NDJSON response into a queue; :meth:`next` waits for the next :class:`Item`."""

    def __init__(self, response: requests.Response, name: str) -> None:
        self._response = response
        self._queue: queue.Queue[Item] = queue.Queue()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def next(self, timeout: float | None) -> Item | None:
        """The next item, or None when ``timeout`` seconds passed without one."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop reading (closing the connection) and join the thread, bounded."""
        self._stopped.set()
        self._response.close()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _read(self) -> None:
        buffer = b""
        try:
            for chunk in self._response.iter_content(chunk_size=None):
                if self._stopped.is_set():
                    return
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._put_line(line)
                if len(buffer) > MAX_LINE:
                    raise ValueError("a line of the command stream is too long")
            if buffer.strip():
                self._put_line(buffer)
            self._queue.put(Item("end"))
        except Exception as exc:  # a broken connection or a bad line: the caller decides what to do
            if not self._stopped.is_set():
                self._queue.put(Item("broken", exc))

    def _put_line(self, line: bytes) -> None:
        if line.strip():
            self._queue.put(Item("line", json.loads(line)))
