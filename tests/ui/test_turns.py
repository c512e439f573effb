"""TurnController: a real agent turn with a scripted model, streamed as signals; stop; approvals."""

from __future__ import annotations

from pathlib import Path

from agents.providers.fake import FakeChatModel
from agents.runner import DraftAnswer, TokenDelta, TurnDone
from app.gui.backend import Backend
from app.gui.tasks import Tasks
from app.gui.turns import ApprovalRequest, TurnController


def index_docs(backend: Backend, docs: Path) -> None:
    index = backend.session().index
    index.add_root(docs)
    index.sync()


def test_a_turn_streams_events_then_finishes(qtbot, backend: Backend, tasks: Tasks, docs: Path,
                                             fake_model: FakeChatModel) -> None:
    index_docs(backend, docs)
    fake_model.enqueue("Backups are kept for thirty days [1].")
    turns = TurnController(backend, tasks)
    seen: list[object] = []
    turns.received.connect(seen.append)
    with qtbot.waitSignal(turns.finished, timeout=30_000):
        assert turns.ask("How long are backups kept?")
    assert not turns.busy
    kinds = [type(e) for e in seen]
    assert DraftAnswer in kinds and TokenDelta in kinds and kinds[-1] is TurnDone
    done = seen[-1]
    assert isinstance(done, TurnDone) and done.citations and done.citations[0].path.endswith("backup.md")
    assert turns.thread_id == done.thread_id
    assert not turns.ask("   ")  # nothing to ask


def test_stop_ends_the_turn_and_keeps_the_draft(qtbot, backend: Backend, tasks: Tasks, docs: Path,
                                                fake_model: FakeChatModel) -> None:
    index_docs(backend, docs)
    fake_model.enqueue(" ".join(["word"] * 400), delay_s=0.02)
    turns = TurnController(backend, tasks)
    seen: list[object] = []
    turns.received.connect(seen.append)
    turns.received.connect(lambda e: turns.stop() if isinstance(e, TokenDelta) else None)
    with qtbot.waitSignal(turns.finished, timeout=30_000):
        turns.ask("How long are backups kept?")
    done = seen[-1]
    assert isinstance(done, TurnDone)
    assert sum(isinstance(e, TokenDelta) for e in seen) < 100
    assert done.mode == "fallback" and "thirty days" in done.answer


def test_an_approval_waits_for_the_user(qtbot, backend: Backend, tasks: Tasks, docs: Path,
                                        fake_model: FakeChatModel) -> None:
    index_docs(backend, docs)
    fake_model.enqueue_tool_call("write_note", {"title": "Passport", "text": "Fee 95 euros"})
    fake_model.enqueue("Saved a note about the passport fee of 95 euros [1].")
    turns = TurnController(backend, tasks)
    requests: list[ApprovalRequest] = []
    turns.approval.connect(requests.append)
    with qtbot.waitSignal(turns.approval, timeout=30_000):
        turns.ask("How much is the passport fee? Save it in a note.")
    assert requests[0].tool == "write_note" and requests[0].args["title"] == "Passport"
    assert turns.busy  # the turn waits for the answer
    with qtbot.waitSignal(turns.finished, timeout=30_000):
        requests[0].answer(True)
    notes = list((backend.paths.data_dir / "notes").glob("*.md"))
    assert notes and "Fee 95 euros" in notes[0].read_text(encoding="utf-8")
