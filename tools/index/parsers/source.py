"""Source and configuration files: split at top-level definitions where a cheap pattern finds them."""

from __future__ import annotations

import re
from pathlib import Path

from tools.index.document import Block, ParseBudget, ParsedDocument
from tools.index.parsers.decoding import read_text
from tools.index.parsers.lines import LineIndex
from tools.index.parsers.pysource import python_blocks

_MODIFIERS = (
    r"(?:(?:export|default|pub(?:\([\w:]+\))?|public|private|protected|internal|static|abstract|final|sealed|open"
    r"|data|inline|async|unsafe|extern(?:\s+\"C\")?|const|override|partial|local|declare|fileprivate|case|typedef"
    r"|virtual|suspend|annotation|value)\s+)*"
)
_KEYWORDS = (
    r"(?P<kw>function\*?|func|fn|def|class|struct|impl|trait|interface|enum\s+class|enum\s+struct|enum|type|typealias"
    r"|module|object|protocol|extension|union|namespace|record|fun|sub|mod|macro_rules!)"
)
# Each pattern matches a line that starts a definition at column 0; the template turns its groups into a label.
_Pattern = tuple[re.Pattern[str], str]
_KEYWORD: _Pattern = (
    re.compile(rf"^{_MODIFIERS}{_KEYWORDS}\s+(?:\([^)]*\)\s*)?(?:<[^>]*>\s*)?(?P<name>[\w$.:!~]+)"),
    "{kw} {name}",
)
# The name starts a run of name characters (never inside one) and takes all of it: trying every start inside a long
# "a:a:a:..." run made this pattern quadratic in the line's length.
_C_FUNCTION: _Pattern = (
    re.compile(
        r"^(?!(?:if|else|for|while|switch|return|do|case|goto|using|template)\b)(?=[A-Za-z_])[\w\s*&:<>,~]*?"
        r"(?<![\w:~])(?P<name>[A-Za-z_~][\w:~]*+)\s*+\([^;=]*$"
    ),
    "{name}()",
)
_JS_CONST: _Pattern = (
    re.compile(r"^(?:export\s+)?(?:const|let|var)\s+(?P<name>[\w$]+)\s*(?::[^=]+)?=\s*(?:async\s*)?(?:function\b|\()"),
    "const {name}",
)
_SHELL_FUNCTION: _Pattern = (
    re.compile(r"^(?:function\s+(?P<name>[\w.:-]+)|(?P<bare>[\w.:-]+)\s*\(\s*\))"),
    "{name}()",
)
_R_FUNCTION: _Pattern = (re.compile(r"^(?P<name>[\w.]+)\s*(?:<-|=)\s*function\b"), "{name} <- function")
_SQL: _Pattern = (
    re.compile(
        r"^create\s+(?:or\s+replace\s+)?(?:(?:temp|temporary|unique|materialized)\s+)*"
        r"(?P<kw>table|view|function|procedure|index|trigger|type|schema|sequence)\s+(?:if\s+not\s+exists\s+)?"
        r"(?P<name>[\w.\"`\[\]]+)",
        re.IGNORECASE,
    ),
    "{kw} {name}",
)
# Possessive (*+, ++): a name's trailing spaces are stripped by _label instead of left to a lazy name and a \s*
# after it, which backtracked (cubic for "[" and a long run of spaces: 4,000 spaces took 40 seconds).
_SECTION: _Pattern = (re.compile(r"^\[\[?\s*+(?P<name>[^\]]++)\]\]?\s*+(?:[#;].*)?$"), "[{name}]")
_YAML_KEY: _Pattern = (re.compile(r"^(?P<name>[A-Za-z0-9_][\w .-]*+)\s*+:(?:\s|$)"), "{name}")

_PATTERNS: dict[str, tuple[_Pattern, ...]] = {
    "c": (_C_FUNCTION, _KEYWORD),
    "cpp": (_C_FUNCTION, _KEYWORD),
    "javascript": (_KEYWORD, _JS_CONST),
    "typescript": (_KEYWORD, _JS_CONST),
    "shell": (_SHELL_FUNCTION,),
    "r": (_R_FUNCTION,),
    "sql": (_SQL,),
    "toml": (_SECTION,),
    "ini": (_SECTION,),
    "yaml": (_YAML_KEY,),
}
# Comments, decorators and attributes directly above a definition belong to it.
_LEAD_IN = re.compile(r"^\s*(?://|/\*|\*|#|--|;|@|\[)")


def _label(pattern: _Pattern, match: re.Match[str]) -> str:
    groups = {key: value for key, value in match.groupdict().items() if value}
    groups.setdefault("name", groups.get("bare", ""))
    groups["name"] = groups["name"].strip().rstrip(":.")
    if "kw" in groups:
        groups["kw"] = " ".join(groups["kw"].split()).lower()
    return pattern[1].format_map(groups)[:120]


def _definitions(index: LineIndex, patterns: tuple[_Pattern, ...]) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for line_no, line in enumerate(index.lines):
        if not line[:1].strip() or line.startswith(("}", ")", "]")):
            continue
        for pattern in patterns:
            match = pattern[0].match(line)
            if match:
                found.append((line_no, _label(pattern, match)))
                break
    return found


def definition_blocks(index: LineIndex, patterns: tuple[_Pattern, ...]) -> list[Block]:
    """Blocks from one definition start to the next; code before the first one splits on blank lines."""
    starts: list[tuple[int, str]] = []
    floor = 0
    for definition, label in _definitions(index, patterns):
        line_no = definition
        while line_no - 1 >= floor and not index.is_blank(line_no - 1) and _LEAD_IN.match(index.lines[line_no - 1]):
            line_no -= 1
        starts.append((line_no, label))
        floor = definition + 1
    first_start = starts[0][0] if starts else len(index)
    blocks = [index.block(first, last, kind="code") for first, last in index.paragraphs(0, first_start)]
    for position, (start, label) in enumerate(starts):
        stop = starts[position + 1][0] if position + 1 < len(starts) else len(index)
        span = index.trim(start, stop - 1)
        if span:
            blocks.append(index.block(span[0], span[1], heading_path=(label,), kind="code"))
    return blocks


def parse(path: Path, budget: ParseBudget, file_type: str) -> ParsedDocument:
    """Parse a source or configuration file in language ``file_type``; the title is the file name."""
    index = LineIndex(read_text(path, budget))
    blocks = python_blocks(index) if file_type == "python" else None
    if blocks is None:
        blocks = definition_blocks(index, _PATTERNS.get(file_type, (_KEYWORD,)))
    return ParsedDocument(title=path.name, file_type=file_type, blocks=blocks)
