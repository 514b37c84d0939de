"""The read end of a child's output (a pipe, or later a PTY master) as an awaitable reader."""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import struct
import termios


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Pipe:
    """The non-blocking read end of a child's output (a pipe, later also a PTY master).

    Reading only when the consumer asks for more is the backpressure: a slow consumer leaves
    data in the kernel pipe, and the writing process blocks instead of the daemon buffering.
    """

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self._closed = False

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes, waiting until some are there; ``b""`` at the end."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                return os.read(self.fd, size)
            except BlockingIOError:
                pass
            except OSError as exc:
                # A PTY master reports the slave side's close as EIO: that is its end.
                if exc.errno == errno.EIO:
                    return b""
                raise
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self.fd, _resolve, ready)
            try:
                await ready
            finally:
                loop.remove_reader(self.fd)

    def available(self) -> int:
        """Bytes written into the pipe and not read yet."""
        try:
            raw = fcntl.ioctl(self.fd, termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return 0
        return int(struct.unpack("i", raw)[0])

    def close(self) -> None:
        """Close the read end (idempotent)."""
        if not self._closed:
            self._closed = True
            os.close(self.fd)
