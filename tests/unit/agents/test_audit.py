"""The audit log: append-only JSON lines, one per decision on a side effect, and `deskmate audit` to read it."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from agents.conversations.checkpoints import open_checkpointer
from agents.graph import GraphDeps, build_graph
from agents.guard.audit import AuditLog
from agents.routing import only
from agents.runner import ApprovalNeeded, Runner
from agents.toolset import ToolContext, build_tools
from app.cli import build_parser, commands
from app.settings import load_settings
from tests.fakes import FakeEmbedder
from tests.unit.agents.helpers import fake, retrieve
from tools.memory import MemoryStore


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_entries_are_appended_one_line_each_and_never_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "data" / "audit.jsonl"
    log = AuditLog(path)
    log.record("t1", "write_note", {"title": "A", "text": "x" * 500}, "allowed", "user", "the user approved")
    before, inode = path.read_bytes(), path.stat().st_ino
    log.record("t1", "open_path", {"target": "https://example.org"}, "denied", "user", "the user declined")
    assert path.read_bytes().startswith(before) and path.stat().st_ino == inode  # appended, not replaced
    first, second = lines(path)
    assert set(first) == {"time", "thread", "tool", "arguments", "decision", "decided_by", "reason", "call"}
    assert first["arguments"]["text"] == "x" * 200 + "... (500 characters)" and first["arguments"]["title"] == "A"
    assert (second["tool"], second["decision"], second["decided_by"]) == ("open_path", "denied", "user")
    assert first["time"].endswith("Z") and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_another_writers_lines_stay_and_a_torn_line_is_skipped_when_reading(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"not": "an entry"}\n{"time": "cut sh', encoding="utf-8")
    log = AuditLog(path)
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    for n in range(3):
        log.record(None, "remember", {"fact": f"fact {n}"}, "allowed", "policy", "the policy for remember is always")
    assert path.read_text(encoding="utf-8").startswith('{"not": "an entry"}\n{"time": "cut sh\n')
    assert [e.arguments["fact"] for e in log.read()] == ["fact 0", "fact 1", "fact 2"]
    assert [e.arguments["fact"] for e in log.read(limit=2)] == ["fact 1", "fact 2"]
    assert AuditLog(tmp_path / "none.jsonl").read() == []


def test_the_entry_of_a_tool_call_is_found_by_its_id(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    assert log.decided("call_1") is None
    path.write_text('{"time": "cut sh\n{"time": "2026-01-01T00:00:00Z", "thread": null, "tool": "write_note", '
                    '"arguments": {}, "decision": "allowed", "decided_by": "user", "reason": "old, no call id"}\n',
                    encoding="utf-8")
    log.record("t1", "open_path", {"target": "call_1"}, "denied", "user", "the user declined", "call_2")
    log.record("t1", "write_note", {"title": "A"}, "allowed", "policy", "the policy for write_note is always", "call_1")
    found = log.decided("call_1")
    assert found is not None and (found.tool, found.decision) == ("write_note", "allowed")
    assert log.decided("call_3") is None


def _turn(registry, tmp_path: Path, calls: list[tuple[str, dict[str, Any]]], policies: dict[str, Any],
          approve: Any = None) -> list[object]:
    for name, args in calls:
        fake(registry).enqueue_tool_call(name, args)
    fake(registry).enqueue("The fee is 95 euros, paid at the counter [1].")
    memory = MemoryStore(tmp_path / "memory", FakeEmbedder())
    tools = build_tools(ToolContext(search=retrieve, memory=memory, notes_dir=tmp_path / "notes", policies=policies,
                                    opener=lambda target: None, audit_log=tmp_path / "audit.jsonl"))
    graph = build_graph(GraphDeps(retrieve, only(lambda: registry.chat_model("fake/m")), tools=tools, max_steps=8),
                        open_checkpointer(tmp_path / "t.sqlite3"))
    return list(Runner(graph).ask("How much is the passport fee?", thread_id="th1", approve=approve))


@pytest.mark.parametrize(("policy", "approve", "expected"), [
    ("always", None, ("allowed", "policy", "the policy for write_note is always")),
    ("ask", lambda request: True, ("allowed", "user", "the user approved")),
    ("ask", lambda request: False, ("denied", "user", "the user declined")),
    ("ask", None, ("denied", "policy", "no one was there to approve it")),
    ("never", lambda request: True, ("refused", "policy", "the policy for write_note is never")),
])
def test_each_decision_is_one_line(registry, tmp_path: Path, policy: str, approve: Any,
                                   expected: tuple[str, str, str]) -> None:
    _turn(registry, tmp_path, [("write_note", {"title": "Fee", "text": "95 euros"})], {"write_note": policy}, approve)
    (entry,) = lines(tmp_path / "audit.jsonl")
    assert (entry["decision"], entry["decided_by"], entry["reason"]) == expected
    assert (entry["thread"], entry["tool"], entry["arguments"]) == ("th1", "write_note",
                                                                    {"title": "Fee", "text": "95 euros"})


def test_reads_run_without_asking_and_leave_no_line_while_writes_ask_by_default(registry,
                                                                                tmp_path: Path) -> None:
    events = _turn(registry, tmp_path, [("calculator", {"expression": "2 + 2"}), ("recall", {"query": "fee"}),
                                        ("search_files", {"query": "fee"}), ("remember", {"fact": "fee is 95"}),
                                        ("forget", {"query": "fee"})], {})
    assert [a.tool for a in events if isinstance(a, ApprovalNeeded)] == ["remember", "forget"]
    assert [(e["tool"], e["decision"]) for e in lines(tmp_path / "audit.jsonl")] == [
        ("remember", "denied"), ("forget", "denied")]


def audit(*args: str) -> int:
    """`deskmate audit ARGS` in this process: the real parser and dispatch (logging set-up left out)."""
    settings, paths = load_settings()
    return commands.dispatch(build_parser().parse_args(["audit", *args]), settings, paths)


def test_deskmate_audit_shows_the_log(deskmate_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = AuditLog(deskmate_home / "data" / "audit.jsonl")
    assert audit() == 0 and "no side effects recorded yet" in capsys.readouterr().out
    log.record("th1", "open_path", {"target": "https://example.org"}, "denied", "user", "the user declined")
    log.record("th2", "write_note", {"title": "Fee"}, "allowed", "policy", "the policy for write_note is always")
    assert audit("--json", "--limit", "1") == 0
    assert [e["thread"] for e in json.loads(capsys.readouterr().out)] == ["th2"]
    assert audit() == 0
    shown = capsys.readouterr().out
    assert "denied   by user    open_path(target='https://example.org')  thread th1" in shown
    assert "the policy for write_note is always" in shown
