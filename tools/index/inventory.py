"""Questions about the index itself ("how many PDFs from 2024", "which files changed this week"), answered exactly.

The answer is counted from the manifest's rows, never guessed by a model: the kind of file (by type word), a topic
word in the file's name or title, a period of its modified time, a folder, an order (largest, newest ...) and the
conversation's scope. Only indexed files count; files in the same selection that failed to index are mentioned.
"""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from tools.index.knowledge import KnowledgeIndex
from tools.index.manifest import FileState
from tools.index.scope import TYPE_WORDS, Scope, file_types, type_of

MAX_QUESTION = 2000
LISTED = 20
RANKED = 10
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = {w: n for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                       "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}


class FileRow(Protocol):
    """What the answer reads of a manifest row (tools/index/manifest.py FileState)."""

    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def mtime_ns(self) -> int: ...
    @property
    def file_type(self) -> str | None: ...
    @property
    def title(self) -> str | None: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True)
class InventoryAnswer:
    """An exact answer about the index: its text, the files it lists, the count, and what was counted."""

    text: str
    files: list[str]
    count: int | None  # None for a ranking (the largest ten ...), where no count was asked
    query: str  # what was counted, in plain words, for the trace


@dataclass(frozen=True)
class _Kind:
    plural: str
    singular: str
    types: tuple[str, ...] | None  # None: every file


# The kinds of file people name, most specific first; a type word not listed here ("json files") is found by
# ``file_types``.
_FILE = r"(?:\s+files?)?"
_KINDS: list[tuple[re.Pattern[str], _Kind]] = [(re.compile(rf"\b(?:{p})\b"), k) for p, k in [
    (r"word\s+(?:documents?|docs?|files?)|docx" + _FILE, _Kind("Word documents", "Word document", TYPE_WORDS["word"])),
    (r"text\s+files?|txt" + _FILE, _Kind("text files", "text file", ("text",))),
    (r"web\s*pages?|html" + _FILE, _Kind("web pages", "web page", ("html",))),
    (r"(?:code|source)\s+files?|source\s+code", _Kind("code files", "code file", TYPE_WORDS["code"])),
    (r"e-?books?|epubs?", _Kind("e-books", "e-book", ("epub",))),
    (r"pdfs?" + _FILE, _Kind("PDFs", "PDF", ("pdf",))),
    (r"csvs?" + _FILE, _Kind("CSV files", "CSV file", ("csv",))),
    (r"spreadsheets?|excel" + _FILE, _Kind("spreadsheets", "spreadsheet", TYPE_WORDS["spreadsheet"])),
    (r"markdown" + _FILE + r"|md\s+files?", _Kind("Markdown files", "Markdown file", ("markdown",))),
    (r"notes?", _Kind("notes", "note", TYPE_WORDS["note"])),
    (r"slides?|slide\s*decks?|decks|presentations?", _Kind("presentations", "presentation", TYPE_WORDS["slide"])),
    (r"e-?mails?", _Kind("emails", "email", TYPE_WORDS["email"])),
    (r"images?|photos?|pictures?|screenshots?", _Kind("images", "image", TYPE_WORDS["image"])),
    (r"(?:documents?|docs|files?)", _Kind("files", "file", None)),
]]
_TYPED_FILES = re.compile(r"\b([a-z0-9]{1,12})\s+files?\b")
_FILE_NAME = re.compile(r"\S+\.[A-Za-z0-9]{1,6}\b")
_CONTENT = re.compile(r"\b(mention|mentions|mentioning|contain|contains|containing|say|says|talk|talks|discuss|"
                      r"discusses|refer|refers|cover|covers|explain|explains|describe|describes)\b")
_COUNT = re.compile(r"\b(how many|number of|count (?:of |my |the |all )?|total (?:number|count) of)\b")
_INDEX_CUE = re.compile(r"\b(index|indexed|indexing|in (?:the|my) (?:index|knowledge base)|do i have|have i got|"
                        r"are there|did i (?:add|save|index)|have i (?:added|saved|indexed))\b")
_CHANGED = re.compile(r"\b(changed|modified|updated|edited|added|created|touched|saved|new)\b")
_WHICH = re.compile(r"^\s*(?:which|what)(?:\s+(?:are|were|is))?(?:\s+(?:the|my|all))*\s+")
_LIST = re.compile(r"^\s*(?:please\s+)?(?:can you\s+)?(?:list|show(?:\s+me)?|display|give\s+me|enumerate)"
                   r"(?:\s+(?:all|my|the|every|of|your|a\s+list\s+of))*\s+")
_ORDER = re.compile(r"\b(largest|biggest|smallest|newest|latest|most\s+recent(?:ly\s+(?:changed|modified|updated))?|"
                    r"recently\s+(?:changed|modified|updated)|recent|oldest)\b")
_TOP = re.compile(r"\b(?:top\s+)?(\d{1,3}|" + "|".join(_NUMBERS) + r")\b")
_FILLER = frozenset(
    "a an the my our your all any every of in on at to for from with by is are was were be been do does did have has "
    "had i me we you there how many much number count total what which list show display give please can could "
    "would tell indexed index indexing currently right now got files file documents document docs items that this "
    "these those been being so far yet stored kept saved changed modified updated edited added created touched new "
    "largest biggest smallest newest latest most recent recently oldest top ones one exist existing about named called "
    "titled whose name names title titles altogether overall and or but then also too so okay ok well now".split())


def inventory_question(question: str) -> bool:
    """Whether ``question`` counts or lists files of the index itself (not something inside them)."""
    q = _FILE_NAME.sub(" ", question[:MAX_QUESTION].lower())
    if _CONTENT.search(q):
        return False  # "how many files mention X" is about their text: a search
    found = _kind_match(q)
    if _COUNT.search(q):
        return found is not None or bool(re.search(r"\bindex(?:ed)?\b", q))
    if found is None:
        return False
    order = _ORDER.search(q)
    if order and 0 <= found[0].start() - order.end() <= 16:  # "largest documents", "5 newest PDFs"
        return True
    after = _LIST.match(q) or _WHICH.match(q)
    if after is None or found[0].start() != after.end():
        return False
    if _LIST.match(q):
        return True
    # "which files changed", "what files are in the index", "what PDFs do I have", "which notes from 2024"
    return bool(_CHANGED.search(q) or _INDEX_CUE.search(q) or _period(q, datetime(2000, 1, 1)) is not None
                or re.search(r"\b(?:in|under|inside|within)\s+\S", q))


def _kind_match(q: str) -> tuple[re.Match[str], _Kind] | None:
    best: tuple[re.Match[str], _Kind] | None = None
    for pattern, kind in _KINDS:
        match = pattern.search(q)
        if match and (best is None or match.start() < best[0].start()):
            best = (match, kind)
    for typed in _TYPED_FILES.finditer(q):  # "json files": a type word the list above does not name
        if best is not None and typed.start() >= best[0].start():
            break
        types = file_types(typed.group(1))
        if types is not None:
            word = typed.group(1).upper()
            return typed, _Kind(f"{word} files", f"{word} file", types)
    return best


def indexed_files(index: KnowledgeIndex) -> list[FileState]:
    """The manifest's rows of the searched generation: the files indexed, and those that failed or were skipped."""
    return sorted(index.manifest.files(index.active_generation).values(), key=lambda s: s.path)


@dataclass(frozen=True)
class _Period:
    start: datetime | None
    end: datetime | None
    label: str
    span: tuple[int, int] = (0, 0)


@dataclass
class _Ask:
    kind: _Kind
    topic: str | None = None
    period: _Period | None = None
    folder: str | None = None  # absolute prefix, or a folder name to find anywhere in a path
    folder_named: bool = False
    order: str | None = None
    top: int = RANKED
    conditions: list[str] = field(default_factory=list)


_ORDERS: dict[str, tuple[Callable[[FileRow], int], bool, str]] = {
    "largest": (lambda r: r.size, True, "largest"),
    "smallest": (lambda r: r.size, False, "smallest"),
    "newest": (lambda r: r.mtime_ns, True, "most recently changed"),
    "oldest": (lambda r: r.mtime_ns, False, "least recently changed"),
}


def answer(question: str, files: Iterable[FileRow], *, scope: Scope | None = None,
           now: datetime) -> InventoryAnswer | None:
    """The exact answer to an inventory question over the manifest rows ``files``; None when it is not one.

    ``now`` (its time zone too) places "this week", "in March" and the dates shown.
    """
    if not isinstance(question, str) or not inventory_question(question):
        return None
    rows = list(files)
    ask = _understand(question[:MAX_QUESTION], rows, now)
    chosen = [r for r in rows if _matches(r, ask, scope, now)]
    indexed = [r for r in chosen if r.status == "indexed"]
    failed = sum(1 for r in chosen if r.status == "failed")
    conditions = list(ask.conditions)
    if scope is not None and not scope.empty:
        conditions.append(f"within this conversation's scope ({', '.join(scope.describe())})")
    where = (" " + ", ".join(conditions)) if conditions else ""
    query = "; ".join([f"indexed {ask.kind.plural}", *conditions])
    if ask.order:
        key, reverse, word = _ORDERS[ask.order]
        ranked = sorted(indexed, key=key, reverse=reverse)[:ask.top]
        query = f"the {ask.top} {word}: {query}"
        if not ranked:
            return InventoryAnswer(f"No indexed {ask.kind.plural}{where}." + _failed(failed, ask.kind), [], None, query)
        noun = ask.kind.singular if len(ranked) == 1 else ask.kind.plural
        lines = [f"The {len(ranked)} {word} indexed {noun}{where}:"]
        lines += [f"{n}. {_line(r, now)}" for n, r in enumerate(ranked, 1)]
        return InventoryAnswer("\n".join(lines) + _failed(failed, ask.kind), [r.path for r in ranked], None, query)
    if ask.period is not None or _CHANGED.search(question.lower()):
        indexed.sort(key=lambda r: (-r.mtime_ns, r.path))  # what changed: newest first
    else:
        indexed.sort(key=lambda r: r.path)
    shown = indexed[:LISTED]
    lines = [f"Indexed {ask.kind.plural}{where}: {len(indexed) or 'none'}."]
    lines += [f"- {_line(r, now)}" for r in shown]
    if len(indexed) > LISTED:
        lines.append(f"... and {len(indexed) - LISTED} more.")
    return InventoryAnswer("\n".join(lines) + _failed(failed, ask.kind), [r.path for r in shown], len(indexed),
                           "count of " + query)


def _failed(failed: int, kind: _Kind) -> str:
    if not failed:
        return ""
    noun = kind.singular if failed == 1 else kind.plural
    return f"\n{failed} more {noun} in the same selection failed to index; `deskmate index status` says why."


def _line(row: FileRow, now: datetime) -> str:
    changed = datetime.fromtimestamp(row.mtime_ns / 1e9, tz=now.tzinfo).date().isoformat()
    return f"{row.path} ({human_size(row.size)}, changed {changed})"


def human_size(size: int) -> str:
    """``size`` bytes as people read it: "532 B", "1.2 KB", "3.4 MB" (units of 1024)."""
    value = float(max(0, size))
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns at GB


def _matches(row: FileRow, ask: _Ask, scope: Scope | None, now: datetime) -> bool:
    mtime = row.mtime_ns / 1e9
    if scope is not None and not scope.allows(row.path, file_type=row.file_type, mtime=mtime):
        return False
    if ask.kind.types is not None and not type_of(row.path, row.file_type) & set(ask.kind.types):
        return False
    if ask.topic is not None:
        words = _normal(os.path.basename(row.path)) + " " + _normal(row.title or "")
        if not all(w in words for w in ask.topic.split()):
            return False
    if ask.period is not None:
        changed = datetime.fromtimestamp(mtime, tz=now.tzinfo)
        if (ask.period.start and changed < ask.period.start) or (ask.period.end and changed >= ask.period.end):
            return False
    if ask.folder is not None:
        if ask.folder_named:
            parts = _normal_path(os.path.dirname(row.path))
            if f"/{ask.folder.lower()}/" not in parts + "/":
                return False
        elif not row.path.startswith(ask.folder.rstrip(os.sep) + os.sep):
            return False
    return True


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _normal_path(path: str) -> str:
    return path.replace("\\", "/").lower()


def _lower(text: str) -> str:
    """``text`` in lower case, character for character (so spans found in one fit the other)."""
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def _understand(question: str, rows: list[FileRow], now: datetime) -> _Ask:
    q = _lower(question)
    masked = _FILE_NAME.sub(lambda m: " " * len(m.group(0)), q)
    found = _kind_match(masked)
    kind = found[1] if found else _Kind("files", "file", None)
    ask = _Ask(kind)
    spent: list[tuple[int, int]] = [found[0].span()] if found else []
    ask.period = _period(q, now)
    if ask.period:
        spent.append(ask.period.span)
        ask.conditions.append(f"changed {ask.period.label}")
    folder = _folder(question, rows)
    if folder:
        ask.folder, ask.folder_named, span = folder
        spent.append(span)
        ask.conditions.insert(0, f"in folders named {ask.folder!r}" if ask.folder_named else f"in {ask.folder}")
    order = _ORDER.search(q)
    if order:
        word = order.group(1)
        ask.order = {"largest": "largest", "biggest": "largest", "smallest": "smallest",
                     "oldest": "oldest"}.get(word, "newest")
        spent.append(order.span())
        window = max(0, order.start() - 12)
        top = _TOP.search(q[window:order.end() + 6])
        if top:
            value = top.group(1)
            ask.top = max(1, min(100, int(value) if value.isdigit() else _NUMBERS[value]))
            spent.append((window + top.start(), window + top.end()))
        elif found and not found[0].group(0).endswith("s"):
            ask.top = 1  # "the oldest PDF": one
    rest = "".join(" " if any(s <= i < e for s, e in spent) else ch for i, ch in enumerate(masked))
    topic = [_singular(w) for w in re.findall(r"[a-z0-9][a-z0-9'-]*", rest) if w not in _FILLER and len(w) > 1]
    if topic:
        ask.topic = " ".join(topic[:4])
        ask.conditions.insert(0, f"whose name or title mentions {ask.topic!r}")
    return ask


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


_FOLDER_PATH = re.compile(r"\b(?:in|under|inside|within|from)\s+(?:the\s+|my\s+)?((?:~|\.{1,2})?/[^\s,?!;]*|"
                          r"[\w.-]+(?:/[\w.-]+)*/)(?:\s+folder)?", re.I)
_FOLDER_NAMED = re.compile(r"\b(?:in|under|inside|within|from)\s+(?:the\s+|my\s+)?([\w .-]{1,60}?)\s+folder\b", re.I)
_FOLDER_WORD = re.compile(r"\b(?:in|under|inside|within)\s+(?:the\s+|my\s+)?([A-Za-z][\w.-]{0,60})\b")


def _folder(question: str, rows: list[FileRow]) -> tuple[str, bool, tuple[int, int]] | None:
    """(the folder, whether it is a name to find anywhere, its span in the question), or None."""
    match = _FOLDER_PATH.search(question)
    if match:
        text = match.group(1).rstrip("/") or "/"
        if text.startswith(("~", "/", ".")):
            return os.path.realpath(os.path.expanduser(text)), False, match.span()
        return text, True, match.span()
    match = _FOLDER_NAMED.search(question)
    if match:
        return match.group(1).strip(), True, match.span()
    # "in Projects": a folder only when some indexed file lies in a folder of that name.
    for match in _FOLDER_WORD.finditer(question):
        name = match.group(1).lower()
        if name in _FILLER or name in _MONTHS or name in ("total", "it", "them"):
            continue
        if any(f"/{name}/" in _normal_path(os.path.dirname(r.path)) + "/" for r in rows):
            return match.group(1), True, match.span()
    return None


Range = tuple[datetime | None, datetime | None, str]


def _period(q: str, now: datetime) -> _Period | None:
    """The period of modified time ``q`` names, if any, in ``now``'s time zone."""

    def day(d: date) -> datetime:
        return datetime.combine(d, datetime.min.time(), tzinfo=now.tzinfo)

    def month(year: int, number: int) -> datetime:
        return day(date(year + (number - 1) // 12, (number - 1) % 12 + 1, 1))

    today = day(now.date())
    monday = today - timedelta(days=today.weekday())
    previous = (now.month - 2) % 12 + 1
    patterns: list[tuple[str, Callable[[re.Match[str]], Range]]] = [
        (r"\btoday\b", lambda m: (today, None, "today")),
        (r"\byesterday\b", lambda m: (today - timedelta(days=1), today, "yesterday")),
        (r"\bthis\s+week\b", lambda m: (monday, None, f"this week (since Monday {monday.date().isoformat()})")),
        (r"\blast\s+week\b", lambda m: (monday - timedelta(days=7), monday, "last week")),
        (r"\b(?:in\s+the\s+)?(?:last|past)\s+(\d{1,4})\s+days?\b",
         lambda m: (today - timedelta(days=int(m.group(1))), None, f"in the last {int(m.group(1))} days")),
        (r"\b(?:in\s+the\s+)?past\s+week\b|(?<!most\s)\brecently\b(?!\s+(?:changed|modified|updated))",
         lambda m: (today - timedelta(days=7), None, "in the last 7 days")),
        (r"\bthis\s+month\b", lambda m: (month(now.year, now.month), None, "this month")),
        (r"\blast\s+month\b", lambda m: (month(now.year, now.month - 1), month(now.year, now.month),
                                         f"last month ({calendar.month_name[previous]})")),
        (r"\bthis\s+year\b", lambda m: (day(date(now.year, 1, 1)), None, f"this year ({now.year})")),
        (r"\blast\s+year\b", lambda m: (day(date(now.year - 1, 1, 1)), day(date(now.year, 1, 1)),
                                        f"last year ({now.year - 1})")),
        (rf"\bsince\s+({'|'.join(_DAYS)})\b", lambda m: _since_weekday(m.group(1), today)),
        (r"\b(since|after|before|from|in|during|of|on)\s+(\d{4})-(\d{2})-(\d{2})\b",
         lambda m: _between(m.group(1), day(date(int(m.group(2)), int(m.group(3)), int(m.group(4)))),
                            lambda d: d + timedelta(days=1), m.group(0).split()[-1], "on")),
        (rf"\b(since|after|before|from|in|during|of)\s+({'|'.join(_MONTHS)})(?:\s+(\d{{4}}))?\b",
         lambda m: _in_month(m, now, month)),
        (r"\b(since|after|before|from|in|during|of)\s+((?:19|20)\d{2})\b",
         lambda m: _between(m.group(1), day(date(int(m.group(2)), 1, 1)),
                            lambda d: d.replace(year=d.year + 1), m.group(2), "in")),
    ]
    for pattern, make in patterns:
        match = re.search(pattern, q)
        if match:
            try:
                start, end, label = make(match)
            except ValueError:
                continue  # a date that does not exist (2024-02-31): not a period
            return _Period(start, end, label, match.span())
    return None


def _between(word: str, start: datetime, after: Callable[[datetime], datetime], label: str, inside: str) -> Range:
    """The period ``word`` (before, since, after, in ...) sets against the one starting at ``start``.

    "from" a day is since that day; "from" a year or a month ("invoices from 2024") is within it.
    """
    if word == "before":
        return None, start, f"before {label}"
    if word == "since" or (word == "from" and inside == "on"):
        return start, None, f"since {label}"
    if word == "after":
        return after(start), None, f"after {label}"
    return start, after(start), f"{inside} {label}"


def _in_month(m: re.Match[str], now: datetime, month: Callable[[int, int], datetime]) -> Range:
    number = _MONTHS.index(m.group(2)) + 1
    year = int(m.group(3)) if m.group(3) else (now.year if number <= now.month else now.year - 1)
    start, end = month(year, number), month(year, number + 1)
    return _between(m.group(1), start, lambda d: end, f"{calendar.month_name[number]} {year}", "in")


def _since_weekday(name: str, today: datetime) -> Range:
    start = today - timedelta(days=(today.weekday() - _DAYS.index(name)) % 7)
    return start, None, f"since {name.capitalize()} {start.date().isoformat()}"
