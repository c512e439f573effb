"""The ask graph's state (checkpointed each turn) and the one place its stored rows become objects again.

The state is what LangGraph's checkpointer writes to ``threads.sqlite3``, whose reader revives only the types in
agents/conversations/checkpoints.py (STORED_TYPES). So hits, citations and warnings are kept there as plain rows, the
form older threads on disk already hold; nodes turn them into SearchHit, Citation and Warning objects through the
functions below, once per node that reads them, and hand objects (never rows) to the runner's events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from agents.citations import Citation
from agents.events import Mode, Route, Warning
from agents.intent import Intent
from tools.index.search import SearchHit

Row = dict[str, Any]


class AskState(TypedDict, total=False):
    question: str
    intent: Intent
    hits: list[Row]  # SearchHit rows: see hits_of
    retrieval_error: str | None
    draft: Row  # {"text", "citations", "workflow"} of the deterministic answer
    answer: str
    citations: list[Row]  # Citation rows: see citations_of
    mode: Mode
    cache_hit: bool
    work: Annotated[list[AnyMessage], add_messages]  # this turn's model <-> tools exchange
    steps: int
    agent_failed: bool
    tool_calls: list[Row]
    model_index: int  # which of the routed models this turn is on
    failures: list[str]  # the models that failed this turn, and why
    retry: bool
    fallback_reason: str | None
    model: str | None
    prompt: str | None
    grounded: bool
    usage: dict[str, int]
    warnings: list[Row]  # Warning rows {"source", "reasons"} (agents/guard/screening.py builds them)
    flagged: list[str]  # content hashes of retrieved chunks fenced as untrusted in the prompt
    facts: list[Row]  # remembered facts recalled for this question: {"id", "text", "flagged"}
    messages: Annotated[list[AnyMessage], add_messages]
    # Conversations (kept across the thread's turns unless a turn changes them):
    scope: Row | None  # the thread's scope (tools/index/scope.py Scope.as_dict()), None for the whole index
    last_hits: list[Row]  # the previous turn's best sources: a follow-up may use them again
    last_route: Route  # the previous turn's route: a follow-up to a general answer stays general
    # Per turn:
    query: str  # what retrieval searches for: the question made standalone (agents/conversations/followup.py)
    query_reason: str | None  # why the query differs from the question
    turn_scope: Row | None  # the thread's scope plus the files this turn mentions with @
    route: Route
    route_reason: str
    relevance: float | None  # how well the best source matches the question (agents/route.py)
    related: bool | None  # whether the sources bear on the question at all (None: not a question about them)
    action: str | None  # a preset's id (agents/presets.py): an action on ``selection``
    uses_files: bool  # the action's preset searches the files for the selection and cites them
    action_arg: str | None
    selection: str | None  # the selected text an action works on: untrusted, screened like a document
    document: str | None  # the file a whole-document request reads
    fresh: bool  # a re-asked turn (regenerate, edit): the semantic cache is not consulted
    system_ref: str | None  # the user's own system prompt's version, when they have one


def hit_rows(hits: Iterable[SearchHit]) -> list[Row]:
    return [hit.as_dict() for hit in hits]


def hits_of(state: AskState, limit: int | None = None) -> list[SearchHit]:
    """The turn's retrieved hits as objects (the first ``limit`` of them)."""
    return [SearchHit(**row) for row in state.get("hits", [])[:limit]]


def citation_rows(citations: Iterable[Citation]) -> list[Row]:
    return [citation.as_dict() for citation in citations]


def citations_of(rows: Iterable[Row]) -> list[Citation]:
    return [Citation(**row) for row in rows]


def warnings_of(rows: Iterable[Row]) -> list[Warning]:
    return [Warning.of(row) for row in rows]
