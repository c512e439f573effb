"""One Deskmate per user and data folder: a second launch hands its request to the running instance and exits.

The running app listens on a local socket (QLocalServer: a Unix socket, a named pipe on Windows) named after the data
folder. Requests and replies are one JSON object per line: ``{"cmd": "show"}``, ``{"cmd": "quick-ask", "text": ...}``,
``{"cmd": "state"}`` (what is on screen: for scripts and the X11 tests), ``{"cmd": "screenshot", "dir": ...}``,
``{"cmd": "quit"}``.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def server_name(data_dir: Path) -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name (some containers): the folder alone still separates instances
        user = "user"
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return f"deskmate-{user}-{digest}"


def send(name: str, message: dict[str, Any], timeout_ms: int = 3000) -> dict[str, Any] | None:
    """Send ``message`` to the running instance; its reply, or None when no instance is running."""
    socket = QLocalSocket()
    socket.connectToServer(name)
    if not socket.waitForConnected(timeout_ms):
        return None
    socket.write(json.dumps(message).encode() + b"\n")
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    data = b""
    while not data.endswith(b"\n"):
        if socket.bytesAvailable():
            data += bytes(socket.readAll().data())
        elif not socket.waitForReadyRead(timeout_ms):
            data += bytes(socket.readAll().data())  # the reply and the hang-up can arrive together
            break
    socket.disconnectFromServer()
    try:
        reply = json.loads(data.decode() or "null")
    except ValueError:
        return {"ok": False, "error": "the running Deskmate sent an unreadable reply"}
    return reply if isinstance(reply, dict) else {"ok": False, "error": "no reply from the running Deskmate"}


class InstanceServer(QObject):
    """Listens for requests from later launches; ``handler`` answers each on the GUI thread."""

    def __init__(self, name: str, handler: Handler, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.handler = handler
        self.server = QLocalServer(self)
        # No UserAccessOption: with it Qt replaces an existing socket, so a second launch would steal the first's.
        # The socket is created with the user's umask, which keeps other users from writing (connecting) to it.
        self.server.newConnection.connect(self._connection)
        self._clients: dict[QLocalSocket, bytearray] = {}

    def listen(self) -> bool:
        """Start listening; False when another instance already does (a stale socket is cleaned up)."""
        if self.server.listen(self.name):
            return True
        if send(self.name, {"cmd": "ping"}, timeout_ms=500) is not None:
            return False
        QLocalServer.removeServer(self.name)  # left behind by a crashed instance
        return self.server.listen(self.name)

    def close(self) -> None:
        self.server.close()

    def _connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            # Kept here, not only in a closure: a client whose wrapper is collected would never be answered.
            self._clients[socket] = bytearray()
            socket.readyRead.connect(self._readable)
            socket.disconnected.connect(self._gone)
            if socket.bytesAvailable():
                self._read(socket)

    def _readable(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _read(self, socket: QLocalSocket) -> None:
        buffer = self._clients.get(socket)
        if buffer is None:
            return
        buffer.extend(bytes(socket.readAll().data()))
        if b"\n" not in buffer:
            return
        line = bytes(buffer).split(b"\n", 1)[0]
        buffer.clear()
        reply = self._answer(line)
        socket.write(json.dumps(reply).encode() + b"\n")
        socket.flush()
        socket.disconnectFromServer()

    def _gone(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._clients.pop(socket, None)
            socket.deleteLater()

    def _answer(self, line: bytes) -> dict[str, Any]:
        try:
            message = json.loads(line.decode())
            if not isinstance(message, dict) or not isinstance(message.get("cmd"), str):
                raise ValueError("expected a JSON object with a cmd")
        except ValueError as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        if message["cmd"] == "ping":
            return {"ok": True}
        try:
            return self.handler(message)
        except Exception as exc:
            log.exception("instance request %s failed", message.get("cmd"))
            return {"ok": False, "error": str(exc)}
