"""Deterministic workflows: useful, cited answers computed without a language model (the fallback when it fails).

Each returns a WorkflowAnswer whose every document claim is a sentence quoted verbatim from a retrieved chunk, so the
grounding check holds by construction.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import snowballstemmer

from agents.citations import Citation, cite
from tools import calc, clock
from tools.errors import DeskmateError
from tools.index.search import SearchHit
from tools.memory import MemoryStore

Search = Callable[[str, int], list[SearchHit]]

# A sentence ends at . ! ? followed by space and a capital or digit (not "3.11", not "e.g. this"), at a blank line,
# or before a line that starts a list item or heading; a single line break inside a paragraph is not an end.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n|\n(?=\s*(?:[-*+#>|]|\d+[.)]\s))")
_HEADING_LINE = re.compile(r"^#{1,6} [^\n]*\n", re.M)
_STEMMER = snowballstemmer.stemmer("english")
_WORD = re.compile(r"[a-z0-9]+(?:[-_'][a-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be by can could do does did for from had has have how i in is it its me my of on or our "
    "should so than that the their them there these they this to was we were what when where which who why will "
    "with would you your about into please tell find show give list any all".split()
)
MIN_SENTENCE_CHARS = 25
MAX_ANSWER_CHUNKS = 4
MIN_SIMILARITY = 0.2  # cosine below this is unrelated text for all-MiniLM-L6-v2
Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True, slots=True)
class WorkflowAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    workflow: str = ""


def terms(text: str) -> list[str]:
    """Stemmed, lower-cased content words, for matching sentences to a question ("chaired" meets "chair")."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]
    return [str(w) for w in _STEMMER.stemWords(words)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, leading/trailing space and list/heading markers trimmed."""
    cuts = sorted([(m.start(), m.end()) for m in _BOUNDARY.finditer(text)]
                  + [(m.end() - 1, m.end()) for m in _HEADING_LINE.finditer(text)])
    spans, start = [], 0
    for cut_start, cut_end in [*cuts, (len(text), len(text))]:
        if cut_start < start:
            continue
        piece = text[start:cut_start]
        lead = len(piece) - len(piece.lstrip(" \t\n-*+#>|"))
        s, e = start + lead, start + len(piece.rstrip())
        if e > s:
            spans.append((s, e))
        start = cut_end
    return spans


def _sentences(hit: SearchHit) -> list[tuple[int, int]]:
    return [(s, e) for s, e in sentence_spans(hit.text) if e - s >= MIN_SENTENCE_CHARS]


def extractive_answer(
    question: str, hits: list[SearchHit], max_sentences: int = 3, embed: Embed | None = None
) -> WorkflowAnswer:
    """The sentences of the top chunks that best match the question, each quoted and cited.

    Words shared with the question score a sentence; with ``embed``, so does its meaning (a question about "cost"
    finds the sentence about "the fee").
    """
    wanted = set(terms(question))
    # The top chunks hold the answer nearly always; bounding them keeps the sentence embeddings to one small batch.
    chunks = naming(question, hits[:MAX_ANSWER_CHUNKS])
    candidates = [(rank, hit, span) for rank, hit in enumerate(chunks) for span in _sentences(hit)]
    if not candidates or not (wanted or embed):
        return WorkflowAnswer("I found nothing in your indexed files that answers this.", [], "extractive")
    bags = [Counter(terms(hit.text[s:e])) for _, hit, (s, e) in candidates]
    df = Counter(t for bag in bags for t in set(bag) if t in wanted)
    n = len(bags)

    similarity = [0.0] * n
    if embed is not None:
        texts = [question] + [hit.text[s:e] for _, hit, (s, e) in candidates]
        vectors = embed(texts)
        similarity = [float(v) for v in vectors[1:] @ vectors[0]]
    top_overlap = max((sum(math.log(1 + n / df[t]) for t in wanted if bag[t]) for bag in bags), default=0.0) or 1.0

    def score(i: int) -> float:
        rank = candidates[i][0]
        overlap = sum(math.log(1 + n / df[t]) for t in wanted if bags[i][t]) / top_overlap
        meaning = max(0.0, similarity[i] - MIN_SIMILARITY)
        # The retriever's order breaks ties between sentences that match equally well.
        return (overlap + 2.0 * meaning) * (1.0 + 0.5 / (1 + rank))

    ranked = sorted((i for i in range(n) if score(i) > 0), key=score, reverse=True)
    chosen: list[Citation] = []
    seen: set[str] = set()
    for i in ranked:
        _, hit, (start, end) = candidates[i]
        citation = cite(hit, start, end)
        key = citation.quote.lower()
        if key in seen:
            continue
        seen.add(key)
        chosen.append(citation)
        if len(chosen) == max_sentences:
            break
    if not chosen:
        return WorkflowAnswer("I found nothing in your indexed files that answers this.", [], "extractive")
    lines = ["From your files:"]
    lines += [f"- \"{c.quote}\" [{n}] ({c.where()})" for n, c in enumerate(chosen, 1)]
    return WorkflowAnswer("\n".join(lines), chosen, "extractive")


_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w-]*[a-z0-9][\w-]*|\b\w*(?:\d\w*[A-Za-z]|[A-Za-z]\w*\d|_)\w*")


def named_terms(text: str) -> set[str]:
    """Stemmed terms of the names in ``text``: capitalised words past its start, identifiers (ERR_4012, Q3)."""
    return set(terms(" ".join(_NAME.findall(text.strip())))) - {"i"}


def _file_words(hit: SearchHit) -> set[str]:
    stem = hit.path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return set(terms(re.sub(r"[-_.]+", " ", stem) + " " + (hit.title or "")))


def naming(question: str, hits: list[SearchHit]) -> list[SearchHit]:
    """The chunks that name what the question names (the Halvorsen pump, ERR_4012), when some do and some do not.

    Look-alike documents (two products with a warranty each, two budgets with the same fields) share every other word
    of the question, so only the name tells them apart: an answer quoting both would be wrong. A name is a
    capitalised word or an identifier, or a word of the question that is in some candidates' file names or titles
    but not in all of them ("the marketing budget" and marketing-2024.md).
    """
    files = [_file_words(hit) for hit in hits]
    wanted = set(terms(question))
    named = named_terms(question) | {t for t in wanted if any(t in f for f in files) and not all(t in f for f in files)}
    if not named:
        return hits
    # A name in the file's own name counts on top of one in its text ("the marketing budget" in
    # engineering-2024.md's text is a mention, marketing-2024.md is about it). Kept: the chunks that name most, and
    # those of a file that alone is named by a word of the question (a code file sync_client.py may hold the answer
    # without the product's name).
    scores = [len(named & set(terms(hit.text))) + len(named & words) for hit, words in zip(hits, files, strict=True)]
    best = max(scores, default=0)
    if not best:
        return hits
    paths = {hit.path: words for hit, words in zip(hits, files, strict=True)}
    only = {t for t in named if sum(t in words for words in paths.values()) == 1}
    return [hit for hit, words, score in zip(hits, files, scores, strict=True) if score == best or only & words]


def file_list(query: str, hits: list[SearchHit], limit: int = 5) -> WorkflowAnswer:
    """The best-matching files, one line each with where the match is and a snippet."""
    best: dict[str, SearchHit] = {}
    for hit in hits:
        best.setdefault(hit.path, hit)
    if not best:
        return WorkflowAnswer(f"No indexed file matches {query!r}.", [], "search")
    lines, citations = [f"Files matching {query!r}:"], []
    for n, hit in enumerate(list(best.values())[:limit], 1):
        spans = _sentences(hit) or [(0, len(hit.text))]
        citation = cite(hit, *spans[0])
        citations.append(citation)
        lines.append(f"{n}. {citation.where()}: {hit.snippet}")
    return WorkflowAnswer("\n".join(lines), citations, "search")


def extractive_summary(path: str, chunks: list[SearchHit], max_sentences: int = 5) -> WorkflowAnswer:
    """A summary of one file from its own most central sentences (those sharing most words with the whole file)."""
    spans = [(hit, span) for hit in chunks for span in _sentences(hit)]
    if not spans:
        return WorkflowAnswer(f"{path} has no text to summarise.", [], "summary")
    whole = Counter(t for hit in chunks for t in terms(hit.text))
    order = {id(hit): n for n, hit in enumerate(chunks)}

    def centrality(item: tuple[SearchHit, tuple[int, int]]) -> float:
        hit, (start, end) = item
        words = terms(hit.text[start:end])
        return sum(math.log(1 + whole[w]) for w in set(words)) / math.sqrt(len(words) + 1)

    top = sorted(spans, key=centrality, reverse=True)[:max_sentences]
    top.sort(key=lambda item: (order[id(item[0])], item[1][0]))  # in reading order
    citations = [cite(hit, *span) for hit, span in top]
    lines = [f"Summary of {path} (key sentences, in order):"]
    lines += [f"- {c.quote} ({c.where()})" for c in citations]
    return WorkflowAnswer("\n".join(lines), citations, "summary")


_REMEMBER = re.compile(r"^\s*(please\s+)?(remember|note|keep in mind)\s*(that|:)?\s*", re.I)
_FORGET = re.compile(r"^\s*(please\s+)?forget\s*(that|about|:)?\s*", re.I)
_EVERYTHING = re.compile(r"\b(about me|everything|all)\b", re.I)


def memory_answer(intent: str, request: str, store: MemoryStore | None) -> WorkflowAnswer:
    """Remember, recall or forget a fact in the long-term memory, and say exactly what was done."""
    if store is None:
        return WorkflowAnswer("Long-term memory is not available here, so nothing was stored or read.", [], intent)
    if intent == "remember":
        fact = _REMEMBER.sub("", request, count=1).strip().rstrip(".") + "."
        if len(fact) < 3:
            return WorkflowAnswer("What should I remember? Say, for example: remember that my locker code is 4471.",
                                  [], intent)
        memory = store.add(fact)
        return WorkflowAnswer(f"I'll remember: {memory.text} (memory {memory.id})", [], intent)
    if intent == "forget":
        target = _FORGET.sub("", request, count=1).strip()
        removed = store.forget_matching(target) if target else []
        if not removed:
            return WorkflowAnswer(f"I had nothing matching {target!r} to forget. `deskmate memory list` shows all.",
                                  [], intent)
        return WorkflowAnswer("Forgotten:\n" + "\n".join(f"- {m.text}" for m in removed), [], intent)
    everything = bool(_EVERYTHING.search(request))
    memories = store.all() if everything else [r.memory for r in store.recall(request, k=5)]
    if not memories:
        return WorkflowAnswer("I have nothing remembered about that.", [], intent)
    lines = ["What you asked me to remember:"]
    lines += [f"- {m.text} (on {time.strftime('%Y-%m-%d', time.localtime(m.created))})" for m in memories]
    return WorkflowAnswer("\n".join(lines), [], intent)


_TIME_NOW = re.compile(r"\b(what time is it|current time|time now)\b", re.I)


def exact_answer(intent: str, request: str) -> WorkflowAnswer:
    """Arithmetic, percentages, unit conversions, dates and times, computed exactly (no model involved)."""
    try:
        if intent == "calculate":
            return WorkflowAnswer(calc.calculate(request).text, [], "calculate")
        if _TIME_NOW.search(request):
            return WorkflowAnswer(clock.now().text, [], "datetime")
        return WorkflowAnswer(clock.date_math(request).text, [], "datetime")
    except DeskmateError as exc:
        return WorkflowAnswer(f"I could not compute that: {exc}", [], intent)


_SELF = re.compile(r"\b(my|our)\s+[\w' -]{1,40}?\s+(is|are|was)\s+\S|\bI\s+(prefer|like|work|live|use|am|have)\b", re.I)


def self_statement(request: str) -> str | None:
    """A fact the user states about themselves in passing ("My flight is on 3 May."), to offer to remember."""
    for start, end in sentence_spans(request):
        sentence = request[start:end].strip()
        if not sentence.endswith("?") and _SELF.search(sentence) and len(sentence) <= 200:
            return sentence if sentence.endswith((".", "!")) else sentence + "."
    return None
