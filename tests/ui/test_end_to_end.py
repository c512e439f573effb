"""The main window with the real agent and the real embedded default model: no scripted parts at all."""

from __future__ import annotations

from pathlib import Path

from app.gui.backend import Backend
from app.gui.main_window import MainWindow
from app.gui.tasks import Tasks
from app.secrets import MemorySecretStore
from app.settings import load_settings


def test_a_question_in_the_window_gets_a_cited_answer_from_the_default_model(
        qtbot, tasks: Tasks, docs: Path, linked_embedder: Path, installed_default_model: Path) -> None:
    settings, paths = load_settings()
    backend = Backend(settings, paths, secrets=MemorySecretStore())
    try:
        window = MainWindow(backend, tasks)
        qtbot.addWidget(window)
        window.show()
        with qtbot.waitSignal(window.session_ready, timeout=120_000):
            window.open_session()
        assert window.first_run is not None
        qtbot.waitUntil(lambda: not window.first_run.isVisible(), timeout=30_000)  # the model is there: no first run
        backend.session().index.add_root(docs)
        backend.session().index.sync()
        window.input.setPlainText("How long are backups kept?")
        with qtbot.waitSignal(window.turns.finished, timeout=300_000):
            window.send_button.click()
        turn = window.chat.current
        assert turn is not None and turn.done is not None
        done = turn.done
        assert done.model == "local/smollm2-135m"  # the real model was asked
        assert done.mode == "llm" or done.fallback_reason  # and either answered, or we say why not
        assert turn.badge.text() == ("local model" if done.mode == "llm" else "from your files")
        assert turn.citations and turn.citations[0].path.endswith("backup.md")
        assert any("thirty days" in c.quote for c in turn.citations)
        assert turn.answer.toPlainText().strip()
        qtbot.waitUntil(lambda: window.threads.list.count() == 1, timeout=10_000)
    finally:
        tasks.shutdown(wait=True)
        backend.close()
