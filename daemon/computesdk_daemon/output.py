"""Reading a child's output: UTF-8-safe chunks, bounded tails, and pumps that can be detached."""

from __future__ import annotations

import asyncio
import codecs
from collections import deque
from collections.abc import Awaitable, Callable

from computesdk_daemon.pipes import Pipe

CHUNK_SIZE = 64 * 1024

TextSink = Callable[[str], Awaitable[None]]


class TailBuffer:
    """Keeps the last ``limit`` characters of a stream (everything if ``limit`` is None)."""

    def __init__(self, limit: int | None) -> None:
        self._limit = limit
        self._chunks: deque[str] = deque()
        self._size = 0
        self.truncated = False

    def append(self, text: str) -> None:
        """Add text, dropping the oldest characters beyond the limit."""
        if not text:
            return
        self._chunks.append(text)
        self._size += len(text)
        if self._limit is None:
            return
        while self._size > self._limit:
            self.truncated = True
            excess = self._size - self._limit
            first = self._chunks[0]
            if len(first) <= excess:
                self._chunks.popleft()
                self._size -= len(first)
            else:
                self._chunks[0] = first[excess:]
                self._size -= excess

    async def write(self, text: str) -> None:
        """:data:`TextSink` form of :meth:`append`."""
        self.append(text)

    def text(self) -> str:
        """Everything kept, as one string."""
        if len(self._chunks) > 1:
            self._chunks = deque(["".join(self._chunks)])
        return self._chunks[0] if self._chunks else ""


class OutputPump:
    """Reads a pipe to its end, decoding UTF-8 incrementally and feeding the text to a sink.

    The next chunk is read only after the sink has taken the previous one (backpressure).
    Once detached it keeps reading but drops the text: a process left behind by a finished
    command (``server &``) must neither block on a full pipe nor die of a broken one.
    """

    def __init__(self, pipe: Pipe, sink: TextSink) -> None:
        self._pipe = pipe
        self._sink: TextSink | None = sink
        self._progress = asyncio.Event()
        self.consumed = 0
        self._read = 0
        self.task: asyncio.Task[None] = asyncio.ensure_future(self._run())

    def written(self) -> int:
        """Bytes written to the pipe so far: those read, plus those waiting in the pipe."""
        return self._read + (0 if self.task.done() else self._pipe.available())

    async def consume_through(self, target: int) -> None:
        """Wait until ``target`` bytes in all have been delivered, or the pipe has ended."""
        while self.consumed < target and not self.task.done():
            self._progress.clear()
            await self._progress.wait()

    def detach(self) -> None:
        """Stop delivering text; reading goes on until the pipe's end."""
        self._sink = None

    async def _run(self) -> None:
        # errors="replace": output is text on the wire, and one bad byte must not lose the rest.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            while True:
                data = await self._pipe.read(CHUNK_SIZE)
                self._read += len(data)
                text = decoder.decode(data, final=not data)
                if text and self._sink is not None:
                    await self._sink(text)
                self.consumed += len(data)
                self._progress.set()
                if not data:
                    return
        finally:
            self._pipe.close()
            self._progress.set()
