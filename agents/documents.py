"""Whole-document requests ("summarise contract.pdf", "list every deadline in it"): all of a file, not its top hits.

With a model, map-reduce: the file's chunks in reading order, in groups, each group answered with citations of its own
excerpts, then one call combining the parts (or the parts as they are, when short). Without one, extractive: the key
sentences of the whole file, or every sentence that mentions what was asked for, quoted and cited. The chunks come
from tools/index/documents.py ``chunks_of``; document text is untrusted and fenced as the answer prompt fences it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agents import prompts
from agents.citations import Citation, cite
from agents.guard import guards
from agents.guard.screening import Screen, defang, source_block
from agents.workflows import STOPWORDS, WorkflowAnswer, extractive_summary, sentence_spans, terms
from tools.index.search import SearchHit

MAX_LISTED = 30
CONCATENATE_UNDER = 1500  # partial answers shorter than this together are joined, not combined by another call
MAX_REQUEST = 2000
PROMPT = "whole_document"

# A file name: quoted (it may hold spaces) or one word with an extension, maybe @-mentioned.
_FILE_TOKEN = re.compile(r"(?<![\w@])@?\"([^\"\n]{1,200}\.[A-Za-z0-9]{1,6})\""
                         r"|(?<![\w])@?([\w~./\\-]*\w\.[A-Za-z0-9]{1,6})(?![\w.])")
_DOC_NOUN = (r"document|doc|file|pdf|report|paper|contract|manual|handbook|book|article|notes|minutes|agreement|"
             r"spec|specification|policy|proposal|guide|presentation|deck|slides|thesis|letter|memo|invoice|plan|"
             r"brochure|chapter|transcript|lease|statement|ebook")
_DOC_REFERENCE = re.compile(rf"\b(?:this|that|the|my|our|whole|entire|attached|full)\s+(?:[\w-]+\s+){{0,3}}?"
                            rf"(?:{_DOC_NOUN})\b|(?<!\S)@\S")
_SUMMARY = re.compile(r"\b(summari[sz]e|summari[sz]ing|summary of|sum up|tl;?dr|overview of|outline of|recap|"
                      r"gist of|key points|main points)\b")
_EVERY = re.compile(r"\b(?:every|each|all(?:\s+of)?(?:\s+the)?)\s+(.*)$")
_ALL_ASK = re.compile(r"\b(list|give me|show me|find|extract|what are|which are|name|collect|enumerate|tell me|"
                      r"pull out|get)\b")
_CUT = re.compile(r"\s+(?:in|from|of|across|inside|within|throughout|that|which)\s+(?:the\s+|this\s+|that\s+|my\s+)?"
                  r"|[?.!;:]")
_MARKER = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_NOTHING = re.compile(r"^\W*nothing in this part\W*$", re.I)
# Words of the request itself, never what it asks for: "every date mentioned in ..." asks for dates.
_REQUEST_WORDS = frozenset(terms(
    "list give show find extract name collect enumerate tell pull get every each all mentioned mention named listed "
    "stated given found described appear appears included include there here document file whole entire summarise "
    "summarize summary"))


def whole_document_request(question: str) -> bool:
    """Whether ``question`` asks for something over a whole named or mentioned file (summarise, list every ...)."""
    q = question[:MAX_REQUEST]
    lowered = q.lower()
    if not (_FILE_TOKEN.search(q) or _DOC_REFERENCE.search(lowered)):
        return False
    if _SUMMARY.search(lowered):
        return True
    return bool(_ALL_ASK.search(lowered) and _EVERY.search(lowered))


def named_file(question: str, paths: Sequence[str]) -> str | None:
    """The one file of ``paths`` that ``question`` names: by file name ("contract.pdf"), path end, or stem words.

    A stem counts only as whole words in order ("the q3 report" names q3-report.pdf); a name that fits several files
    names none.
    """
    q = question[:MAX_REQUEST]
    for match in _FILE_TOKEN.finditer(q):
        token = (match.group(1) or match.group(2)).replace("\\", "/").removeprefix("./")
        found = {p for p in paths if os.path.basename(p).lower() == token.lower()
                 or p.replace("\\", "/").lower().endswith("/" + token.lower())}
        if len(found) == 1:
            return found.pop()
        if found:
            return None  # two files of that name: the caller asks which
    words = re.findall(r"[a-z0-9]+", q.lower())
    at: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        at.setdefault(word, []).append(i)
    best: list[str] = []
    best_len = 0
    for path in paths:
        stem = re.findall(r"[a-z0-9]+", Path(path).stem.lower())
        if not stem or stem[0] not in at or all(w in STOPWORDS or w in _REQUEST_WORDS or len(w) < 3 for w in stem):
            continue
        n = len(stem)
        if any(words[i:i + n] == stem for i in at[stem[0]]):
            if n > best_len:
                best, best_len = [path], n
            elif n == best_len:
                best.append(path)
    return best[0] if len(best) == 1 else None


def _sentences(hit: SearchHit) -> list[tuple[int, int]]:
    spans = sentence_spans(hit.text)
    return [(s, e) for s, e in spans if e - s >= 25] or spans


def _wanted(request: str, path: str) -> tuple[str, list[str]]:
    """What a "list every X" request asks for (its words, as said) and its stemmed key terms."""
    lowered = _FILE_TOKEN.sub(" ", request[:MAX_REQUEST].lower())
    match = _EVERY.search(lowered)
    phrase = _CUT.split(match.group(1), maxsplit=1)[0] if match else lowered
    own = set(terms(Path(path).stem))
    keys = [t for t in dict.fromkeys(terms(phrase)) if t not in _REQUEST_WORDS and t not in own]
    if not keys:  # "list everything in contract.pdf": whatever the request names
        keys = [t for t in dict.fromkeys(terms(lowered)) if t not in _REQUEST_WORDS and t not in own]
    words = " ".join(w for w in re.findall(r"[\w'-]+", phrase) if terms(w) and terms(w)[0] in keys)
    return words or " ".join(keys), keys


def extractive(request: str, path: str, chunks: list[SearchHit]) -> WorkflowAnswer:
    """A whole-file answer without a model: the summary of all chunks, or every sentence naming what was asked."""
    name = os.path.basename(path)
    if _SUMMARY.search(request[:MAX_REQUEST].lower()) or not chunks:
        return extractive_summary(path, chunks, max_sentences=min(10, 5 + len(chunks) // 10))
    said, keys = _wanted(request, path)
    if not keys:
        return extractive_summary(path, chunks, max_sentences=min(10, 5 + len(chunks) // 10))
    every: list[Citation] = []
    some: list[Citation] = []
    seen: set[str] = set()
    for hit in chunks:
        for start, end in _sentences(hit):
            bag = set(terms(hit.text[start:end]))
            if not bag & set(keys):
                continue
            citation = cite(hit, start, end)
            key = " ".join(citation.quote.lower().split())
            if key in seen:
                continue  # chunks overlap: the same sentence twice
            seen.add(key)
            (every if set(keys) <= bag else some).append(citation)
    found = every or some
    if not found:
        return WorkflowAnswer(f"No sentence of {name} mentions {said!r}.", [], "document")
    shown = found[:MAX_LISTED]
    lines = [f"Every sentence of {name} that mentions {said!r} ({len(found)}, in reading order):"]
    lines += [f"- \"{c.quote}\" [{n}] ({c.where()})" for n, c in enumerate(shown, 1)]
    if len(found) > MAX_LISTED:
        lines.append(f"... and {len(found) - MAX_LISTED} more.")
    return WorkflowAnswer("\n".join(lines), shown, "document")


def groups(chunks: Sequence[SearchHit], group_chars: int) -> list[list[SearchHit]]:
    """``chunks`` in reading order, in runs of about ``group_chars`` characters (a longer chunk alone)."""
    out: list[list[SearchHit]] = []
    size = 0
    for hit in chunks:
        if out and size + len(hit.text) <= group_chars:
            out[-1].append(hit)
            size += len(hit.text)
        else:
            out.append([hit])
            size = len(hit.text)
    return out


@dataclass
class _Cited:
    """The citations of all parts, numbered once each, in the order first cited."""

    citations: list[Citation] = field(default_factory=list)
    numbers: dict[tuple[str | None, str], int] = field(default_factory=dict)

    def number(self, citation: Citation) -> int:
        key = (citation.chunk_hash, citation.quote)
        if key not in self.numbers:
            self.citations.append(citation)
            self.numbers[key] = len(self.citations)
        return self.numbers[key]


def _globalise(partial: str, group: list[SearchHit], cited: _Cited) -> str:
    """``partial`` with its part-local [n] turned into global numbers; each cites the sentence nearest its claim."""
    out: list[str] = []
    for line in partial.splitlines():
        claim = set(terms(_MARKER.sub(" ", line)))

        def replace(match: re.Match[str], claim: set[str] = claim) -> str:
            numbers = []
            for part in match.group(1).split(","):
                n = int(part)
                if not 1 <= n <= len(group):
                    continue  # a number the part did not have: the claim keeps no false citation
                hit = group[n - 1]
                spans = _sentences(hit) or [(0, len(hit.text))]
                start, end = max(spans, key=lambda s: len(claim & set(terms(hit.text[s[0]:s[1]]))))
                numbers.append(cited.number(cite(hit, start, end)))
            return "".join(f"[{g}]" for g in dict.fromkeys(numbers))

        out.append(_MARKER.sub(replace, line))
    return "\n".join(out).strip()


def _renumbered(text: str, cited: _Cited) -> tuple[str, list[Citation]]:
    """``text`` cited 1, 2, 3 ... in the order it cites, with those citations only (unknown numbers dropped)."""
    order: dict[int, int] = {}

    def replace(match: re.Match[str]) -> str:
        kept = []
        for part in match.group(1).split(","):
            g = int(part)
            if 1 <= g <= len(cited.citations):
                kept.append(order.setdefault(g, len(order) + 1))
        return "".join(f"[{n}]" for n in dict.fromkeys(kept))

    renumbered = _MARKER.sub(replace, text)
    return renumbered, [cited.citations[g - 1] for g in order]


def map_reduce(request: str, path: str, chunks: list[SearchHit], call: Callable[[str, str], str], *,
               progress: Callable[[int, int], None], cancelled: Callable[[], bool], group_chars: int = 2400,
               screen: Screen | None = guards.scan) -> WorkflowAnswer:
    """The model's answer to ``request`` over every chunk of ``path``: one call per group, then one combining them.

    ``call(system, user)`` returns the model's text (an exception propagates: the caller falls back to
    ``extractive``); ``progress(done, total)`` follows each call; ``cancelled()`` is asked before each call, and a
    cancelled run returns the parts done so far and says where it stopped. Chunks that ``screen`` flags are fenced.
    """
    name = os.path.basename(path)
    request = request[:MAX_REQUEST]
    if not chunks:
        return WorkflowAnswer(f"{name} has no text to work on.", [], "map_reduce")
    prompt = prompts.load(PROMPT)
    parts = groups(chunks, max(200, group_chars))
    total = len(parts) + (1 if len(parts) > 1 else 0)
    cited = _Cited()
    partials: list[tuple[int, str]] = []
    for k, group in enumerate(parts, 1):
        if cancelled():
            return _stopped(name, partials, k - 1, len(parts), cited)
        sources = "\n\n".join(source_block(n, hit, hit.text, bool(screen and screen(hit.text).suspicious))
                              for n, hit in enumerate(group, 1))
        text = call(prompt.system, prompt.user.format(request=request, name=name, part=k, parts=len(parts),
                                                      sources=sources))
        progress(k, total)
        text = _globalise(text or "", group, cited)
        if text and not _NOTHING.match(text):
            partials.append((k, text))
    joined = _joined(partials, len(parts))
    if len(partials) <= 1 or len(joined) <= CONCATENATE_UNDER:
        if total > len(parts):
            progress(total, total)  # the combining step was counted: it is done, without a call
        return _answer(name, joined, cited)
    if cancelled():
        return _stopped(name, partials, len(parts), len(parts), cited, combining=True)
    combined = call(prompt.parts["reduce_system"], prompt.parts["reduce_user"].format(
        request=request, name=name, partials=defang(joined)))
    progress(total, total)
    text, citations = _renumbered(combined or "", cited)
    if not citations:  # the combining call lost every citation: the cited parts are the better answer
        return _answer(name, joined, cited)
    return WorkflowAnswer(text.strip(), citations, "map_reduce")


def _joined(partials: list[tuple[int, str]], parts: int) -> str:
    if len(partials) == 1:
        return partials[0][1]
    return "\n\n".join(f"Part {k} of {parts}:\n{text}" for k, text in partials)


def _answer(name: str, joined: str, cited: _Cited) -> WorkflowAnswer:
    if not joined:
        return WorkflowAnswer(f"Nothing in {name} answers this.", [], "map_reduce")
    text, citations = _renumbered(joined, cited)
    return WorkflowAnswer(text, citations, "map_reduce")


def _stopped(name: str, partials: list[tuple[int, str]], done: int, parts: int, cited: _Cited,
             *, combining: bool = False) -> WorkflowAnswer:
    note = (f"Stopped before combining the {parts} parts of {name}; here they are as they came."
            if combining else f"Stopped after {done} of {parts} parts of {name}; the rest was not read.")
    text, citations = _renumbered(_joined(partials, parts), cited)
    return WorkflowAnswer(f"{text}\n\n{note}".strip(), citations, "map_reduce")
