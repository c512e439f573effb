"""Adding roots and syncing them root by root (tools/index/roots.py): one outcome per path, per-root reports summed."""

from __future__ import annotations

from pathlib import Path

from tools.index.roots import add_roots, sync_roots


def _folder(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def test_each_path_gets_one_outcome_and_only_good_ones_become_roots(make_index, fake_embedder, docs: Path,
                                                                    tmp_path: Path) -> None:
    index = make_index(fake_embedder)
    tool = tmp_path / "tool.exe"
    tool.write_bytes(b"MZ\x90\x00")
    first = add_roots(index, [docs])
    assert [(o.kind, o.root) for o in first.outcomes] == [("added", str(docs.resolve()))]
    assert first.added == [str(docs.resolve())] and first.problems == []

    report = add_roots(index, [tmp_path / "nowhere", tool, docs, docs / "passport.md"])
    kinds = [o.kind for o in report.outcomes]
    assert kinds == ["missing", "unsupported", "already_indexed", "inside_root"]
    assert [o.error for o in report.outcomes] == [True, True, False, False]
    messages = [o.message for o in report.outcomes]
    assert messages[0].startswith(f"{tmp_path / 'nowhere'} does not exist: check the path")
    assert messages[1].startswith("tool.exe: Deskmate cannot index this kind of file")
    assert messages[2] == f"{docs} is already in the index."
    assert messages[3] == f"{docs / 'passport.md'} is already in the index (under {docs.resolve()})."
    assert report.added == [] and [r.path for r in index.roots()] == [str(docs.resolve())]


def test_a_root_asked_for_again_with_other_patterns_gets_them(make_index, fake_embedder, docs: Path) -> None:
    index = make_index(fake_embedder)
    add_roots(index, [docs], exclude=["backup*"])
    same = add_roots(index, [docs], exclude=["backup*"])
    assert same.outcomes[0].kind == "already_indexed"
    plain = add_roots(index, [docs])  # no patterns given: the root is left as it is
    assert plain.outcomes[0].kind == "already_indexed" and index.roots()[0].exclude == ("backup*",)
    changed = add_roots(index, [docs], include=["*.md"])
    assert changed.outcomes[0].kind == "updated" and changed.added == [str(docs.resolve())]
    assert (index.roots()[0].include, index.roots()[0].exclude) == (("*.md",), ())


def test_sync_roots_reports_each_root_and_their_sum(make_index, fake_embedder, tmp_path: Path) -> None:
    index = make_index(fake_embedder)
    one = _folder(tmp_path, "one", {"a.md": "# A\n\nalpha\n", "b.md": "# B\n\nbeta\n"})
    two = _folder(tmp_path, "two", {"c.md": "# C\n\ngamma\n", "bad.txt": ""})
    (two / "bad.txt").write_bytes(b"caf\xc3\x28 invalid utf-8")
    add_roots(index, [one, two])
    seen: list[tuple[str, str]] = []
    heard: list[str] = []
    run = sync_roots(index, progress=lambda root, stage, done, total: seen.append((root, stage)),
                     on_root=lambda root, report: heard.append(root))

    keys = [str(one.resolve()), str(two.resolve())]
    assert [key for key, _ in run.roots] == keys == heard
    assert [(r.added, r.failed) for _, r in run.roots] == [(2, 0), (1, 1)]
    total = run.total
    assert (total.scanned, total.added, total.failed, total.unchanged) == (4, 3, 1, 0)
    assert total.chunks_written == sum(r.chunks_written for _, r in run.roots) and total.seconds > 0
    assert [f["path"] for f in total.failures] == [str(two.resolve() / "bad.txt")]
    assert seen[0] == (keys[0], "scan") and {root for root, _ in seen} == set(keys)

    again = sync_roots(index).total
    assert (again.scanned, again.added, again.unchanged, again.chunks_embedded) == (4, 0, 4, 0)
    retried = sync_roots(index, [str(two / "bad.txt")], retry_failed=True)
    assert [key for key, _ in retried.roots] == [keys[1]] and retried.total.failed == 1
