"""Source code: Python split by its syntax tree, other languages at top-level definitions, exact line ranges."""

from __future__ import annotations

from pathlib import Path

from tests.unit.parsers.helpers import assert_slice
from tools.index.parsers import parse_file

STORE_PY = '''\
"""A tiny store."""

from __future__ import annotations

import json

DEFAULTS = {
    "limit": 10,

    "fuzzy": False,
}


# Keeps documents in memory.
@dataclass
class Store:
    """Holds documents."""

    def add(self, text: str) -> None:
        self.items.append(text)

    def search(self, query: str) -> list[str]:

        return [item for item in self.items if query in item]


def search(store: Store, query: str) -> list[str]:
    return store.search(query)


async def refresh(store: Store) -> None:
    await store.reload()

if __name__ == "__main__":
    print(search(Store(), "x"))
'''


def test_python_top_level_definitions(tmp_path: Path) -> None:
    """Each top-level def/class is one block named in its heading path, decorators and comments included."""
    path = tmp_path / "store.py"
    path.write_text(STORE_PY, encoding="utf-8")
    document = parse_file(path)
    assert document.file_type == "python"
    assert document.title == "store.py"
    summary = [(block.heading_path, block.line_start, block.line_end) for block in document.blocks]
    assert summary == [
        ((), 1, 1),
        ((), 3, 3),
        ((), 5, 5),
        ((), 7, 11),  # a blank line inside the dict literal does not split the statement
        (("class Store",), 14, 24),
        (("def search",), 27, 28),
        (("async def refresh",), 31, 32),
        ((), 34, 35),
    ]
    store = document.blocks[4]
    assert store.text.startswith("# Keeps documents in memory.\n@dataclass\nclass Store:")
    assert store.text.endswith("return [item for item in self.items if query in item]")
    for block in document.blocks:
        assert block.kind == "code"
        assert_slice(STORE_PY, block)


def test_python_syntax_error_falls_back_to_patterns(tmp_path: Path) -> None:
    """Python 2 (or broken) source is still split, by the line patterns instead of the syntax tree."""
    source = "import os\n\ndef old():\n    print 'hello'\n\nclass Legacy:\n    pass\n"
    path = tmp_path / "legacy.py"
    path.write_text(source, encoding="utf-8")
    blocks = parse_file(path).blocks
    assert [(block.heading_path, block.line_start, block.line_end) for block in blocks] == [
        ((), 1, 1),
        (("def old",), 3, 4),
        (("class Legacy",), 6, 7),
    ]
    for block in blocks:
        assert_slice(source, block)


GO = """\
package store

import "strings"

// Store keeps documents.
type Store struct {
\titems []string
}

// Search finds documents containing q.
func (s *Store) Search(q string) []string {
\tvar out []string

\tfor _, item := range s.items {
\t\tif strings.Contains(item, q) {
\t\t\tout = append(out, item)
\t\t}
\t}
\treturn out
}

func New() *Store {
\treturn &Store{}
}
"""


def test_go_definitions_keep_their_doc_comments(tmp_path: Path) -> None:
    """Definitions start at column 0; the comment just above belongs to them; inner blank lines do not split."""
    path = tmp_path / "store.go"
    path.write_text(GO, encoding="utf-8")
    document = parse_file(path)
    assert document.file_type == "go"
    summary = [(block.heading_path, block.line_start, block.line_end) for block in document.blocks]
    assert summary == [
        ((), 1, 1),
        ((), 3, 3),
        (("type Store",), 5, 8),
        (("func Search",), 10, 20),
        (("func New",), 22, 24),
    ]
    for block in document.blocks:
        assert block.kind == "code"
        assert_slice(GO, block)


def test_other_languages(tmp_path: Path) -> None:
    """C functions, Rust items, TypeScript exports, shell functions and config sections are found."""
    cases = {
        "main.c": (
            "#include <stdio.h>\n\nstatic int count;\n\nint main(int argc, char **argv)\n{\n    return 0;\n}\n",
            [(), (), ("main()",)],
        ),
        "lib.rs": (
            "use std::fmt;\n\n#[derive(Debug)]\npub struct Block {\n    text: String,\n}\n\n"
            "impl Block {\n    fn new() -> Self { todo!() }\n}\n\npub fn parse(s: &str) -> Block {\n    todo!()\n}\n",
            [(), ("struct Block",), ("impl Block",), ("fn parse",)],
        ),
        "api.ts": (
            "import x from 'y';\n\nexport interface Hit {\n  id: string;\n}\n\n"
            "export const search = async (q: string) => {\n  return [];\n};\n\nexport default class Api {}\n",
            [(), ("interface Hit",), ("const search",), ("class Api",)],
        ),
        "build.sh": (
            "#!/bin/sh\nset -e\n\nbuild() {\n  make\n}\n\nfunction clean {\n  rm -rf out\n}\n",
            [(), ("build()",), ("clean()",)],
        ),
        "pyproject.toml": (
            '[project]\nname = "x"\n\n# lint settings\n[tool.ruff]\nline-length = 120\n',
            [("[project]",), ("[tool.ruff]",)],
        ),
        "config.yaml": (
            "# Deskmate settings\nindex:\n  roots: [a]\n\nmodel:\n  name: local\n",
            [("index",), ("model",)],
        ),
        "schema.sql": (
            "-- the schema\nCREATE TABLE IF NOT EXISTS notes (\n  id INTEGER\n);\n\n"
            "create index notes_id on notes(id);\n",
            [("table notes",), ("index notes_id",)],
        ),
    }
    for name, (source, expected) in cases.items():
        path = tmp_path / name
        path.write_text(source, encoding="utf-8")
        blocks = parse_file(path).blocks
        assert [block.heading_path for block in blocks] == expected, name
        for block in blocks:
            assert block.kind == "code"
            assert_slice(source, block)
    rust = parse_file(tmp_path / "lib.rs").blocks
    assert rust[1].text.startswith("#[derive(Debug)]\npub struct Block")


def test_no_definitions_means_blank_line_paragraphs(tmp_path: Path) -> None:
    """Code without recognisable definitions splits at blank lines, still as code."""
    source = "local x = 1\nlocal y = 2\n\nprint(x + y)\n"
    path = tmp_path / "script.lua"
    path.write_text(source, encoding="utf-8")
    blocks = parse_file(path).blocks
    assert [(block.line_start, block.line_end, block.heading_path) for block in blocks] == [(1, 2, ()), (4, 4, ())]
    assert all(block.kind == "code" for block in blocks)
