"""The messages a turn's first model call starts from, one builder per route, with the thread's earlier turns.

Every builder puts the user's own system prompt (Settings) after Deskmate's instructions, and the thread's earlier
turns (agents/conversations/history.py: the newest verbatim, older ones as a summary) before the request, within
``HISTORY_TOKENS`` counted with the model's own tokenizer. The budget is small on purpose: on 2 CPU cores every
100 prompt tokens cost the first token about 0.15 s with the default model, and a follow-up must start as fast as a
first question.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from agents import prompts, workflows
from agents.conversations.history import History, budgeted_history, turns_of
from agents.guard import screening
from agents.presets import Preset, fence
from agents.state import AskState, hits_of
from tools.index.search import SearchHit

HISTORY_TOKENS = 160
SOURCES = 4
SOURCE_CHARS = 600  # per source: keeps a typical prompt near 700 tokens, a first token in ~1-2 s on 2 CPU cores

CountTokens = Callable[[str], int]
CITE = "Use the sources too, and cite each one you use by its number in brackets, like [1]."


def user_system_ref(text: str) -> str | None:
    """The user's system prompt's version as recorded in traces: ``user-system@`` and 8 hex of its SHA-256."""
    text = text.strip()
    return f"user-system@{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}" if text else None


def _system(base: str, user: str) -> str:
    user = user.strip()
    return f"{base}\nThe user's own instructions: {user}" if user else base


def history(state: AskState, count_tokens: CountTokens, budget: int = HISTORY_TOKENS) -> History:
    """The thread's earlier turns (``messages`` holds them until this turn finishes) within ``budget`` tokens."""
    return budgeted_history(turns_of(state.get("messages") or []), count_tokens, budget)


def sources_block(hits: Sequence[SearchHit], flagged: frozenset[str] = frozenset()) -> str:
    parts = []
    for n, hit in enumerate(hits, 1):
        text = hit.text if len(hit.text) <= SOURCE_CHARS else hit.text[:SOURCE_CHARS] + " ..."
        parts.append(screening.source_block(n, hit, text, hit.chunk_hash in flagged))
    return "\n\n".join(parts)


def model_sources(state: AskState) -> list[SearchHit]:
    """The sources the model reads (numbered [1]..[n]): the best ones that name what the question names.

    A look-alike (the other product's warranty) shares every word but the name, so the grounding check cannot tell a
    claim copied from it from the right one: it is not shown to the model at all. The prompt and the grounding check
    both number the sources from this list.
    """
    return workflows.naming(state.get("query") or state.get("question", ""), hits_of(state, SOURCES))


def files_opening(state: AskState, user_system: str, earlier: History) -> list[BaseMessage]:
    """Instructions, the facts the user gave, the earlier turns, then the question with its sources."""
    template = prompts.load("answer_from_sources")
    system = _system(template.system, user_system)
    facts = state.get("facts") or []
    trusted = [f["text"] for f in facts if not f["flagged"]]
    if trusted:
        system += "\nThe user told you: " + " ".join(trusted)
    flagged = frozenset(state.get("flagged") or [])
    sources = "\n\n".join(filter(None, [sources_block(model_sources(state), flagged),
                                        screening.fenced_facts(facts)]))
    return [SystemMessage(system), *earlier.messages,
            HumanMessage(template.user.format(sources=sources, question=state["question"]))]


def general_opening(state: AskState, user_system: str, earlier: History) -> list[BaseMessage]:
    """The model alone: instructions, the earlier turns, the request."""
    template = prompts.load("general")
    request = template.user.format(question=state["question"])
    if state.get("selection"):  # a question about the selected text: the text is data, fenced like an action's
        request += "\n\n" + fence(state["selection"] or "")
    return [SystemMessage(_system(template.system, user_system)), *earlier.messages, HumanMessage(request)]


def action_opening(preset: Preset, arg: str | None, selection: str, user_system: str,
                   sources: Sequence[SearchHit] = (), flagged: frozenset[str] = frozenset()) -> list[BaseMessage]:
    """A preset applied to the selected text (fenced by the preset as untrusted data).

    A preset that uses the files gets the sources found for the selection first, numbered [n] and cited as a files
    answer cites them.
    """
    system, user = preset.messages(selection, arg)
    if sources:
        system += " " + CITE
        user = f"Sources:\n{sources_block(sources, flagged)}\n\n{user}"
    return [SystemMessage(_system(system, user_system)), HumanMessage(user)]
