"""The path sandbox for every file tool: read_file, list_recent_files, write_note and open_path (through the agent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agents.conversations.checkpoints import open_checkpointer
from agents.graph import GraphDeps, build_graph
from agents.providers.registry import ModelRegistry
from agents.routing import only
from agents.runner import ApprovalNeeded, Runner
from agents.toolset import ToolContext, build_tools
from tests.unit.agents.helpers import fake, retrieve
from tools import files
from tools.errors import ToolInputError
from tools.sandbox import confine, open_inside, real_target


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    """docs/ (the root) with a file, a link to a file outside, a link to a folder outside; outside/ with a secret."""
    root, outside = tmp_path / "docs", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "a.md").write_text("# A\n\nline three\n", encoding="utf-8")
    (root / "sub" / "b.md").write_text("# B\n\nin a folder\n", encoding="utf-8")
    (outside / "secret.md").write_text("# Secret\n\nnot for the model\n", encoding="utf-8")
    (root / "leak.md").symlink_to(outside / "secret.md")
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    (root / "alias.md").symlink_to(root / "a.md")
    return root, outside


@pytest.fixture
def indexed(tree: tuple[Path, Path], make_index, fake_embedder):  # type: ignore[no-untyped-def]
    root, outside = tree
    index = make_index(fake_embedder)
    index.add_root(root)
    index.sync()
    return index, root.resolve(), outside.resolve()


REFUSED = [
    ("{outside}/secret.md", "not inside an indexed folder"),
    ("{root}/../outside/secret.md", "contains '..'"),
    ("sub/../../outside/secret.md", "contains '..'"),
    ("{root}/leak.md", "leads through a link to"),
    ("{root}/elsewhere/secret.md", "leads through a link to"),
    ("elsewhere/secret.md", "leads through a link to"),
    ("~/secret.md", "starts with ~"),
    ("{root}/a.md\x00.png", "NUL byte"),
    ("{root}/" + "x" * 300 + ".md", "longer than 255"),
    ("{root}/" + "d/" * 600 + "a.md", "too long"),
    ("", "empty"),
    ("/etc/passwd", "not inside an indexed folder"),
]


@pytest.mark.parametrize(("path", "why"), REFUSED)
def test_confine_refuses_with_a_reason(indexed, path: str, why: str) -> None:  # type: ignore[no-untyped-def]
    _, root, outside = indexed
    with pytest.raises(ToolInputError, match=why):
        confine(path.format(root=root, outside=outside), [str(root)])


@pytest.mark.parametrize(("path", "why"), REFUSED)
def test_read_file_refuses_what_the_sandbox_refuses(indexed, path: str, why: str) -> None:  # type: ignore[no-untyped-def]
    index, root, outside = indexed
    with pytest.raises(ToolInputError, match=why):
        files.read_file(index, path.format(root=root, outside=outside))


def test_read_file_takes_root_relative_paths_and_links_that_stay_inside(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root, _ = indexed
    assert files.read_file(index, "sub/b.md").text.endswith("in a folder")
    assert files.read_file(index, str(root / "alias.md")).path == str(root / "a.md")  # the real path comes back


def test_the_index_skips_the_links_the_sandbox_refuses(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root, _ = indexed
    assert {Path(s["path"]).name: s["reason"] for s in index.status()["skipped_links"]} == {
        "leak.md": "link to outside the indexed folders", "elsewhere": "link to outside the indexed folders"}


def test_a_link_loop_or_a_dangling_link_leads_nowhere(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert real_target(str(tmp_path / "loop")) is None and real_target(str(tmp_path / "dangling")) is None
    with pytest.raises(ToolInputError, match="cannot be resolved"):
        open_inside(str(tmp_path / "loop"), [str(tmp_path)])


def test_no_indexed_folder_means_no_file(tmp_path: Path) -> None:
    with pytest.raises(ToolInputError, match="no folders are indexed"):
        confine(str(tmp_path / "a.md"), [])


def test_list_recent_files_lists_only_what_read_file_may_read(indexed) -> None:  # type: ignore[no-untyped-def]
    index, root, _ = indexed
    listed = {Path(p).relative_to(root).as_posix() for p, _ in files.list_recent_files(index, 100)}
    assert listed == {"a.md", "alias.md", "sub/b.md"}  # leak.md and elsewhere/ lead outside: never indexed
    for path in listed:
        files.read_file(index, str(root / path))


@pytest.mark.parametrize("title", ["../../etc/passwd", "/tmp/owned", "..", "a\\..\\..\\b", "~root/.bashrc"])
def test_write_note_stays_in_its_folder(tmp_path: Path, title: str) -> None:
    notes = tmp_path / "notes"
    written = files.write_note(notes, title, "text")
    assert written.parent == notes and written.resolve().parent == notes.resolve()
    assert [p.name for p in tmp_path.iterdir()] == ["notes"]


def test_write_note_never_writes_through_a_link(tmp_path: Path) -> None:
    notes, target = tmp_path / "notes", tmp_path / "target.md"
    notes.mkdir()
    first = files.write_note(notes, "Plan", "one")
    first.unlink()
    first.symlink_to(target)  # a link planted where the next note would go
    second = files.write_note(notes, "Plan", "two")
    assert not target.exists() and second.name.endswith("-plan-2.md") and second.read_text(encoding="utf-8")


def test_write_note_refuses_nul_bytes(tmp_path: Path) -> None:
    with pytest.raises(ToolInputError, match="NUL"):
        files.write_note(tmp_path, "a\x00b", "text")


# -- open_path, as the model calls it --------------------------------------------------------------------------


def _open(registry: ModelRegistry, tmp_path: Path, index: object, target: str, policy: str = "always",
          approve: object = None) -> tuple[list[str], str, list[ApprovalNeeded]]:
    """The model calls open_path(target); returns what was opened, what the model was told, and what was asked."""
    model = fake(registry)
    model.enqueue_tool_call("open_path", {"target": target})
    model.enqueue("The fee is 95 euros, paid at the counter [1].")
    opened: list[str] = []
    tools = build_tools(ToolContext(search=retrieve, index=index, policies={"open_path": policy},  # type: ignore[arg-type]
                                    opener=opened.append, audit_log=tmp_path / "audit.jsonl"))
    graph = build_graph(GraphDeps(retrieve, only(lambda: registry.chat_model("fake/m")), tools=tools),
                        open_checkpointer(tmp_path / "t.sqlite3"))
    events = list(Runner(graph).ask("How much is the passport fee?", approve=approve))  # type: ignore[arg-type]
    told = [str(m.content) for m in model.calls[-1][0] if m.type == "tool"][-1]
    return opened, told, [e for e in events if isinstance(e, ApprovalNeeded)]


@pytest.mark.parametrize(("target", "why"), [
    ("{outside}/secret.md", "not inside an indexed folder"),
    ("{root}/leak.md", "leads through a link"),
    ("{root}/../outside/secret.md", "contains '..'"),
    ("~/.ssh/id_rsa", "starts with ~"),
    ("file:///etc/passwd", "file: addresses cannot be opened"),
    ("javascript:alert(1)", "javascript: addresses cannot be opened"),
    ("ftp://files.example/x", "ftp: addresses cannot be opened"),
    ("smb://server/share", "smb: addresses cannot be opened"),
    ("https://exa mple.org/a b", "not a web address"),
])
def test_open_path_refuses_what_it_must_not_open(indexed, registry: ModelRegistry, tmp_path: Path, target: str,
                                                  why: str) -> None:  # type: ignore[no-untyped-def]
    index, root, outside = indexed
    opened, told, asked = _open(registry, tmp_path, index, target.format(root=root, outside=outside))
    assert opened == [] and asked == [] and why in told and "error" in told.lower()
    line = (tmp_path / "audit.jsonl").read_text(encoding="utf-8")
    assert '"decision": "refused"' in line and why.split(" ")[0] in line


def test_open_path_opens_an_indexed_file_by_its_real_path(indexed, registry: ModelRegistry,
                                                          tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index, root, _ = indexed
    opened, told, _ = _open(registry, tmp_path, index, "alias.md")
    assert opened == [str(root / "a.md")] and told == f"opened {root / 'a.md'}"


def test_a_web_address_opens_only_when_the_user_approves(indexed, registry: ModelRegistry,
                                                         tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index, _, _ = indexed
    opened, told, asked = _open(registry, tmp_path / "no", index, "https://example.org/page", policy="ask")
    assert opened == [] and [a.tool for a in asked] == ["open_path"] and "not approved" in told
    opened, told, asked = _open(registry, tmp_path / "yes", index, "https://example.org/page", policy="ask",
                                approve=lambda request: True)
    assert opened == ["https://example.org/page"] and told == "opened https://example.org/page"


def test_a_windows_drive_is_a_path_not_a_scheme(indexed, registry: ModelRegistry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    index, _, _ = indexed
    opened, told, _ = _open(registry, tmp_path, index, "C:\\Users\\me\\secret.txt")
    assert opened == [] and "addresses cannot be opened" not in told
    assert ("does not exist" if os.sep == "/" else "not inside an indexed folder") in told


@pytest.mark.parametrize("name", [".config/gh/hosts.yml", "secrets.log"])
def test_open_path_refuses_what_read_file_refuses(indexed, registry: ModelRegistry, tmp_path: Path,
                                                  name: str) -> None:  # type: ignore[no-untyped-def]
    index, root, _ = indexed
    hidden = root / name
    hidden.parent.mkdir(parents=True, exist_ok=True)
    hidden.write_text("oauth_token: gho_secret\n", encoding="utf-8")
    opened, told, asked = _open(registry, tmp_path, index, str(hidden))
    assert opened == [] and asked == [] and "cannot be opened" in told
