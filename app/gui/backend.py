"""Backend: what the desktop app drives (settings, the agent session, the index watcher), opened lazily off the GUI.

Nothing heavy is imported at module level: the window shows first, then the session (LangGraph, the embedder, the
index) opens on the agent lane. Tests hand in their own ``opener`` to get a session with a scripted runner.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.settings import AppSettings, Paths, save_settings

if TYPE_CHECKING:
    from app.secrets import SecretStore
    from app.wiring.session import Session
    from tools.index.watcher import IndexWatcher

log = logging.getLogger(__name__)

Opener = Callable[["Backend"], contextlib.AbstractContextManager["Session"]]


def default_opener(backend: Backend) -> contextlib.AbstractContextManager[Session]:
    from app.wiring.models import open_models
    from app.wiring.session import open_session

    # Local models in a child process: their native calls hold the GIL for seconds and would freeze the window.
    registry = open_models(backend.settings, backend.paths, backend.secrets, separate_process=True)
    return open_session(backend.settings, backend.paths, registry=registry)


class Backend:
    def __init__(self, settings: AppSettings, paths: Paths, *, secrets: SecretStore | None = None,
                 opener: Opener = default_opener) -> None:
        self.settings = settings
        self.paths = paths
        if secrets is None:
            from app.secrets import KeyringSecretStore

            secrets = KeyringSecretStore()
        self.secrets = secrets
        self._opener = opener
        self._stack = contextlib.ExitStack()
        self._session: Session | None = None
        self._lock = threading.Lock()
        self._watcher: IndexWatcher | None = None
        self._watch_lock = threading.Lock()

    # -- the session -------------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._session is not None

    def session(self) -> Session:
        """The open session, opening it on first use (seconds: call it off the GUI thread)."""
        with self._lock:
            if self._session is None:
                self._session = self._stack.enter_context(self._opener(self))
            return self._session

    def reopen(self) -> Session:
        """Close and open the session again, so new models, providers or index settings take effect."""
        self.stop_watching()
        with self._lock:
            self._stack.close()
            self._stack = contextlib.ExitStack()
            self._session = None
        return self.session()

    def close(self) -> None:
        self.stop_watching()
        with self._lock:
            self._stack.close()
            self._session = None

    def model_kind(self, name: str | None) -> str | None:
        """The provider kind of model ``name`` (onnx, openai, ...), for the mode badge; None when unknown."""
        if not name or self._session is None:
            return None
        try:
            return self._session.registry.spec(name).kind
        except Exception:  # a model removed since the answer was given
            return None

    def save_settings(self) -> None:
        save_settings(self.settings, self.paths)

    # -- keeping the index fresh ---------------------------------------------------------------------------

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    def start_watching(self, on_sync: Callable[[str], Any] | None = None) -> bool:
        """Watch every root (idempotent); False when there is nothing to watch yet."""
        from tools.index.watcher import IndexWatcher

        index = self.session().index
        with self._watch_lock:
            if self._watcher is not None:
                return True
            if not index.roots():
                return False
            watcher = IndexWatcher(index, reconcile_seconds=self.settings.index.reconcile_minutes * 60,
                                   on_sync=on_sync)
            watcher.start()
            self._watcher = watcher
            return True

    def stop_watching(self) -> None:
        """Pause: stop the watcher (a sync in progress finishes its batch first); the next start resumes."""
        with self._watch_lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
