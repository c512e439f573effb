"""Which way a turn goes, decided without the language model: the user's files, the model alone, or a computation.

Decided twice per turn. Before retrieval, from the request: an action on selected text, arithmetic or dates, the
memory, a question about the index itself, a whole document, or a request that plainly needs no files ("write a haiku",
"hello"). After retrieval, from how well the best sources match: a question whose sources are unrelated goes to the
model alone when it could be answered without the files, and is answered "I found nothing about this in your files"
(with the closest files) when it is about the user's own things ("my", "our", "the contract").

Every decision carries one plain sentence saying why, which ``ask --json``, the trace and the app show.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.events import Route
from agents.workflows import Embed, terms
from tools.index.search import SearchHit

# Cosine similarity (all-MiniLM-L6-v2) between a question and its best source (its first 600 characters) at which
# the source is related. On the answer set every question's best source scores 0.28 or more; questions the files do
# not touch ("What is the capital of France?", "who won the world cup in 2018") score 0.15-0.24 against them.
RELEVANT = 0.25
# Or: this share of the question's content words occurs in one source (a name, a rare term the embedding misses).
SHARED_WORDS = 0.5
SOURCE_CHARS = 600


@dataclass(frozen=True, slots=True)
class Decision:
    route: Route
    reason: str
    related: bool = True  # the sources bear on the question (see ``after_retrieval``)


# Requests that ask the model to produce something, not to find it: these never need the files unless they say so.
_MAKE = re.compile(
    r"^\s*(?:please\s+|can you\s+|could you\s+|would you\s+)?"
    r"(write|compose|draft|create|generate|make up|invent|brainstorm|suggest|come up with|rewrite|rephrase|"
    r"paraphrase|translate|proofread|correct|fix the (?:grammar|spelling)|tell me a (?:joke|story)|"
    r"give me (?:a |some )?(?:ideas?|names?|suggestions?|tips?|examples?))\b", re.I)
_IDEAS = re.compile(r"\b(what(?:'s| is| are)? (?:a )?good (?:names?|ideas?|ways?|gifts?)|haiku|poem|limerick|"
                    r"joke|riddle|pun)\b", re.I)
# General knowledge asked as such: "what does X usually mean", "explain in one sentence what a port is".
_KNOWLEDGE = re.compile(r"\b(usually|typically|generally|in general|normally)\s+(mean|means|do|does|is|are|cause|"
                        r"causes|work|works)\b|^\s*(?:please\s+)?explain\s+(?:in (?:one|a few|simple|plain) "
                        r"\w+|simply|briefly|like i'?m (?:five|5))\b", re.I)
# "explain this error message: ...", a pasted block of text with a request about it.
_EXPLAIN_PASTED = re.compile(r"^\s*(?:please\s+)?(explain|what does|what is|debug)\b[^\n]{0,120}(?::|\n)\s*\S", re.I)
_SMALL_TALK = re.compile(r"^\s*(hi|hello|hey|thanks|thank you|good (?:morning|evening|afternoon)|how are you|"
                         r"who are you|what can you do)\b[\s!.?]*$", re.I)
# The user's own things: a question about them is about the files even when nothing matches.
_OWN = re.compile(r"\b(my|our|mine|ours|we|i|me|us)\b|\b(the|this|that) (file|document|doc|pdf|note|notes|"
                  r"spreadsheet|report|contract|invoice|email|folder|project|meeting|minutes|budget|plan)s?\b|"
                  r"\b(in|from) (?:the |my |our )?(files?|documents?|notes?|index)\b|"
                  r"\w\.(?:pdf|docx?|xlsx?|ods|odt|pptx?|md|txt|csv|html?|eml|mbox|json|ya?ml|toml|py|epub|rst)\b",
                  re.I)


def general_request(request: str) -> str | None:
    """Why ``request`` needs no files (a sentence), or None when it may."""
    text = request.strip()
    if _SMALL_TALK.match(text):
        return "small talk needs no files"
    if _OWN.search(text) and not _EXPLAIN_PASTED.match(text):
        return None  # "draft a reply to my landlord's email" may well need them
    if _MAKE.match(text):
        return "a request to write or make something, not to find it"
    if _IDEAS.search(text):
        return "a request for ideas or creative writing"
    if _KNOWLEDGE.search(text):
        return "a general-knowledge question, asked as such"
    if _EXPLAIN_PASTED.match(text):
        return "a request about the text pasted with it"
    return None


# A short request to redo the previous answer differently ("shorter, please", "another one", "try again").
_REVISE = re.compile(r"\b(shorter|longer|simpler|funnier|friendlier|more (?:formal|casual|detail)|less formal|"
                     r"another|again|different(?:ly)?|one more|more like|rhymes?|rewrite|rephrase)\b", re.I)


def revises_previous(request: str) -> bool:
    """``request`` asks to redo the previous answer differently, in a few words ("Something shorter, please.")."""
    return len(request.split()) <= 8 and bool(_REVISE.search(request))


def about_own_things(request: str) -> bool:
    """The request is about the user's own files or affairs ("my", "our", "the contract", a file name)."""
    return bool(_OWN.search(request))


def relevance(question: str, hits: Sequence[SearchHit], embed: Embed | None) -> float | None:
    """How well the best of ``hits`` matches ``question`` (cosine, 0..1); None when it cannot be measured."""
    if not hits:
        return 0.0
    if embed is None:
        return None
    texts = [question] + [hit.text[:SOURCE_CHARS] for hit in hits]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    return float(np.max(vectors[1:] @ vectors[0]))


def word_share(question: str, hits: Sequence[SearchHit]) -> float:
    """The largest share of the question's content words that one source contains."""
    wanted = set(terms(question))
    if not wanted:
        return 0.0
    return max((len(wanted & set(terms(hit.text))) / len(wanted) for hit in hits), default=0.0)


def after_retrieval(question: str, hits: Sequence[SearchHit], score: float | None, *,
                    scoped: bool = False) -> Decision:
    """Files or general, from the retrieval.

    A question with no related source needs no files unless it is about the user's own things (or asked in a
    conversation scoped to some of them); then the answer says nothing was found, with the closest files.
    """
    if not hits:
        related = False
        why = "nothing in your files matches"
    elif score is None:
        return Decision("files", "sources found (their relevance could not be measured)")
    else:
        share = word_share(question, hits)
        related = score >= RELEVANT or share >= SHARED_WORDS
        why = f"best match {score:.2f}, {share:.0%} of the question's words in one source"
    if related:
        return Decision("files", f"your files hold related text ({why})")
    if scoped:
        return Decision("files", f"asked within this conversation's scope, where nothing is related ({why})", False)
    if about_own_things(question):
        return Decision("files", f"about your own things, but nothing in your files is related ({why})", False)
    return Decision("general", f"nothing in your files is related ({why}), and the request does not ask about "
                               "them", False)


NO_MODEL_GENERAL = (
    "This request does not need your files: it needs a language model to write the answer, and none is working "
    "({why}). With a model, Deskmate answers it directly and marks the answer \u201cnot from your files\u201d. "
    "Set one up in Settings \u2192 Models, or see `deskmate models list`."
)


def nothing_found(hits: Sequence[SearchHit], limit: int = 3) -> str:
    """The honest answer to a question about the user's own things that no file answers, with the closest files."""
    closest: list[str] = []
    for hit in hits:
        if hit.path not in closest:
            closest.append(hit.path)
    text = "I found nothing about this in your files."
    if closest:
        text += " The closest files were:\n" + "\n".join(f"- {path}" for path in closest[:limit])
    return text
