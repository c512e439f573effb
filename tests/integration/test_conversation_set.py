"""The conversation set (tests/data/conversations) without a model: the deterministic floor every release keeps.

The set's documents are indexed once with the real embedder through the composition root (``open_session``), every
conversation runs in its own thread, and the deterministic parts are asserted: counts exact, general requests routed
general and never cited, follow-ups found by their standalone rewrite (the right file, not its look-alike), scoped
threads citing nothing outside their scope, and the rewrite beating the follow-up as it is. bench/conversation.py
prints the full figures, with and without the default model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agents.evaluation.conversation_eval import (
    KINDS,
    ConversationReport,
    TurnResult,
    answer_has,
    load_conversations,
    resolve_scope,
    run_conversations,
)
from app.settings import AppSettings, EmbedderSettings, IndexSettings, Paths
from app.wiring.session import open_session
from tests.conftest import REPO
from tools.errors import EvalError

SET = REPO / "tests" / "data" / "conversations"
LOOK_ALIKES = [("services/aurora.md", "services/borealis.md"), ("budgets/marketing-2024.md",
                                                                 "budgets/engineering-2024.md"),
               ("products/halvorsen-pump.md", "products/kessler-valve.md")]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> ConversationReport:
    home = tmp_path_factory.mktemp("conversations")
    docs = home / "docs"  # a copy: the repository's path holds hidden folders the index would skip
    shutil.copytree(SET / "docs", docs)
    paths = Paths(home / "config", home / "data", home / "logs")
    paths.data_dir.mkdir(parents=True)
    paths.models_dir.symlink_to(models_dir, target_is_directory=True)  # the embedder prepared once per run
    settings = AppSettings(embedder=EmbedderSettings(device="cpu", threads=2), index=IndexSettings(parse_workers=1))
    with open_session(settings, paths, no_model=True) as session:
        session.index.add_root(docs)
        synced = session.index.sync()
        assert synced.failed == 0, synced.failures
        return run_conversations(session.runner, load_conversations(SET), docs, with_model=False,
                                 index=session.index)


def _show(turns: list[TurnResult]) -> str:
    return "\n".join(f"{t.conversation}#{t.turn} [{t.kind}] {t.question!r}: route {t.route} ({t.route_reason}), "
                     f"mode {t.mode}, cited {t.cited}, error {t.error}, answer {t.answer[:160]!r}" for t in turns)


# -- the set itself ------------------------------------------------------------------------------------


def test_the_set_has_every_kind_and_look_alikes_on_both_sides() -> None:
    conversations = load_conversations(SET)
    assert len(conversations) >= 20
    assert all(2 <= len(c.turns) <= 4 for c in conversations)
    assert len({c.id for c in conversations}) == len(conversations)
    kinds = {t.kind for c in conversations for t in c.turns}
    assert kinds == set(KINDS)
    pairs = {(t.expect.source, t.expect.not_source) for c in conversations for t in c.turns}
    for a, b in LOOK_ALIKES:
        assert (a, b) in pairs and (b, a) in pairs, (a, b)
    # A follow-up that switches to the look-alike ("what about X?") is there for each pair of services and budgets.
    switches = [t for c in conversations for t in c.turns[1:] if t.kind == "followup"
                and t.expect.source != c.turns[0].expect.source and c.turns[0].expect.source is not None]
    assert {t.expect.source for t in switches} >= {"services/aurora.md", "budgets/marketing-2024.md"}


def test_count_expectations_match_the_files_on_disk() -> None:
    files = [p for p in (SET / "docs").rglob("*") if p.is_file()]
    by_words = {"pdf": ".pdf", "markdown": ".md", "text files": ".txt"}
    counts = [t for c in load_conversations(SET) for t in c.turns if t.kind == "count"]
    assert len(counts) >= 3
    for turn in counts:
        question = turn.question.lower()
        suffix = next((s for w, s in by_words.items() if w in question), None)
        want = len(files) if suffix is None else sum(p.suffix == suffix for p in files)
        assert turn.expect.answer_contains[0] == str(want), turn.question


def test_answers_are_matched_without_numbers_running_on() -> None:
    assert answer_has("8443", "Aurora listens on port 8443.")
    assert not answer_has("2", "The budget for 2024 is set.")
    assert answer_has("2", "2 PDF files are indexed.")
    assert answer_has("1,240", "Amount due: 1,240.00 EUR")
    assert not answer_has("184,000", "Total: 1,184,000 euros")
    assert answer_has("Harbour-Guest", "connect to  harbour-guest  first")
    assert answer_has("5 working days", "Shipping time: 5\nworking days")
    assert not answer_has("3 years", "13 years")


def test_a_scope_in_the_set_is_taken_from_its_docs_folder(tmp_path: Path) -> None:
    (tmp_path / "budgets").mkdir()
    scope = resolve_scope("folder:budgets type:pdf, file:notes/a.md", tmp_path)
    assert scope.folders == (str((tmp_path / "budgets").resolve()),)
    assert scope.files == (str(tmp_path.resolve() / "notes" / "a.md"),)
    assert scope.types == ("pdf",)


@pytest.mark.parametrize(("content", "message"), [
    (b"\xff\xfe{not text", "not UTF-8"),
    (b'{"id": "x", "turns": [}\n', "conversations.jsonl:1"),
    (b'{"id": "x", "turns": []}\n', "non-empty list of turns"),
    (b'{"id": "x", "turns": [{"question": "q", "kind": "smalltalk", "expect": {"route": "files"}}]}\n', "kind"),
    (b'{"id": "x", "turns": [{"question": "q", "kind": "first", "expect": {"route": "files", '
     b'"source": "../../etc/passwd"}}]}\n', "inside docs/"),
    (b'{"id": "x", "turns": [{"question": "q", "kind": "scoped", "scope": "folder:../..", '
     b'"expect": {"route": "files"}}]}\n', "inside docs/"),
    (b'{"id": "x", "turns": [{"question": "/summarise", "kind": "action", "action": "summarise", '
     b'"expect": {"route": "action"}}]}\n', "needs an action and a selection"),
    (b'{"id": "x", "turns": [{"question": "q\\u0000", "kind": "first", "expect": {"route": "files"}}]}\n',
     "question"),
    (b"\n\n", "holds no conversations"),
])
def test_a_broken_set_is_refused_saying_where(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "conversations.jsonl").write_bytes(content)
    with pytest.raises(EvalError, match=message):
        load_conversations(tmp_path)


def test_a_folder_that_is_no_set_or_far_too_big_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="missing"):
        load_conversations(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "conversations.jsonl").write_bytes(b" " * (4 * 1024 * 1024 + 1))
    with pytest.raises(EvalError, match="larger than"):
        load_conversations(tmp_path)


# -- the floor, without a model ------------------------------------------------------------------------


def test_every_turn_ran(report: ConversationReport) -> None:
    assert len(report.turns) == sum(len(c.turns) for c in load_conversations(SET))
    failed = [t for t in report.turns if t.error is not None]
    assert not failed, _show(failed)


def test_counting_turns_are_exact_and_right(report: ConversationReport) -> None:
    counts = [t for t in report.turns if t.kind == "count"]
    wrong = [t for t in counts if not (t.mode == "exact" and t.right and t.route_right)]
    assert counts and not wrong, _show(wrong)


def test_general_requests_are_routed_general_and_never_cited(report: ConversationReport) -> None:
    general = [t for t in report.turns if t.kind == "general"]
    wrong = [t for t in general if t.route != "general" or t.cited]
    assert general and not wrong, _show(wrong)


def test_actions_on_a_selection_cite_nothing(report: ConversationReport) -> None:
    actions = [t for t in report.turns if t.kind == "action"]
    wrong = [t for t in actions if t.route != "action" or t.cited or not t.answer.strip()]
    assert actions and not wrong, _show(wrong)


def test_followups_rewritten_for_retrieval_find_their_file_not_its_look_alike(report: ConversationReport) -> None:
    checks = report.retrieval
    assert len(checks) == sum(t.kind == "followup" for t in report.turns)
    missed = [r for r in checks if not r.rewrite_hit or r.rewrite_top == r.not_source]
    assert not missed, json.dumps([r.as_dict() for r in missed], indent=1)


def test_followup_answers_cite_their_file_not_its_look_alike(report: ConversationReport) -> None:
    followups = [t for t in report.turns if t.kind == "followup"]
    wrong = [t for t in followups if not t.cited_right]
    assert followups and not wrong, _show(wrong)


def test_a_scoped_thread_never_cites_outside_its_scope(report: ConversationReport) -> None:
    scoped_threads = {t.conversation for t in report.turns if t.kind == "scoped"}
    turns = [t for t in report.turns if t.conversation in scoped_threads]
    outside = [t for t in turns if not t.in_scope or t.error is not None]
    assert len(scoped_threads) >= 4 and not outside, _show(outside)


def test_the_rewrite_finds_more_sources_than_the_followup_as_it_is(report: ConversationReport) -> None:
    hits = report.hit_at_1()
    assert hits["followups"] >= 10 and hits["rewritten"] > 0
    assert hits["rewrite"] > hits["as_is"], hits
