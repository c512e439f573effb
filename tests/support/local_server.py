"""The lifecycle the tests' local HTTP servers share: a threaded server on a free loopback port, connections tracked
so ``stop()`` can cut them (a handler blocked in a hang or a slow stream never holds a test up), and handler threads
that treat a client going away as the end of the exchange, not an error.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class TrackingServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalServer


class TrackedHandler(BaseHTTPRequestHandler):
    """A keep-alive handler whose connection the owning LocalServer knows about while it is open."""

    protocol_version = "HTTP/1.1"
    server: TrackingServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:  # the client went away (a reset, a kill -9, a cancel) or stop() cut the socket
            self.close_connection = True

    def finish(self) -> None:
        self.server.owner._track(self.connection, add=False)
        try:
            super().finish()
        except OSError:
            pass


class LocalServer:
    """Start with ``start()`` or ``with``; ``_stop`` is set when stopping (handlers that wait should watch it)."""

    server_class: type[TrackingServer] = TrackingServer
    handler_class: type[TrackedHandler] = TrackedHandler
    thread_name = "local-test-server"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: TrackingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._httpd.server_address[1])

    def start(self) -> Self:
        self._stop.clear()
        self._httpd = self.server_class(("127.0.0.1", 0), self.handler_class)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake waiting handlers and cut open connections; never waits long on a handler."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
