"""Event handlers (``on``/``off``) run on one named thread per sandbox, never on the socket's reader.

A terminal's output, a watcher's changes and signals arrive on the WebSocket reader thread; the
reader hands each event to the sandbox's :class:`Dispatcher`, whose own thread calls the user's
handlers. A slow handler therefore delays later handlers, not the socket.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

from computesdk_core import errors

log = logging.getLogger(__name__)

Handler = Callable[..., Any]
_STOP = object()
JOIN_TIMEOUT = 5.0


class Dispatcher:
    """Calls handlers in order on one daemon thread, started on first use and ended by ``close``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._queue: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, handler: Handler, *args: Any) -> None:
        """Queue ``handler(*args)``; dropped quietly once the dispatcher is closed."""
        with self._lock:
            if self._closed:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"computesdk-events-{self._name}", daemon=True)
                self._thread.start()
        self._queue.put((handler, args))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            handler, args = item
            try:
                handler(*args)
            except Exception:  # a user's handler must not end the dispatch of others
                log.exception("an event handler raised; it is skipped for this event")

    def close(self) -> None:
        """Run what is queued, then end the thread (bounded wait); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            if thread is not threading.current_thread():
                thread.join(timeout=JOIN_TIMEOUT)


class EventEmitter:
    """``on(event, handler)`` / ``off(event, handler)`` for a fixed set of event names; thread-safe."""

    def __init__(self, dispatcher: Dispatcher, events: Iterable[str]) -> None:
        self._dispatcher = dispatcher
        self._handlers: dict[str, list[Handler]] = {event: [] for event in events}
        self._lock = threading.Lock()

    def on(self, event: str, handler: Handler) -> None:
        """Call ``handler`` (on the sandbox's event thread) each time ``event`` happens."""
        if not callable(handler):
            raise errors.ValidationError("handler must be callable")
        with self._lock:
            self._handlers_of(event).append(handler)

    def off(self, event: str, handler: Handler | None = None) -> None:
        """Stop calling ``handler`` for ``event`` (every handler of it when ``handler`` is None)."""
        with self._lock:
            handlers = self._handlers_of(event)
            if handler is None:
                handlers.clear()
            elif handler in handlers:
                handlers.remove(handler)

    def emit(self, event: str, *args: Any) -> None:
        """Queue a call of every handler of ``event`` with ``args``."""
        with self._lock:
            handlers = list(self._handlers_of(event))
        for handler in handlers:
            self._dispatcher.submit(handler, *args)

    def _handlers_of(self, event: str) -> list[Handler]:
        try:
            return self._handlers[event]
        except KeyError:
            known = ", ".join(sorted(self._handlers))
            raise errors.ValidationError(f"unknown event {event!r}; known events: {known}") from None
