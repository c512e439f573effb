"""The deterministic side of a turn's route: where a request goes, and the answer each route gives without a model.

Before retrieval: an action, arithmetic, the memory, the index's catalogue, a whole document, or a request that plainly
needs no files. Without a model: an extract, a computation, a count, a whole document read extractively, or an
action's fallback. The nodes (agents/nodes.py) call these; the route itself is explained in agents/route.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents import documents, route, workflows
from agents.events import Route
from agents.presets import without_model
from agents.state import AskState, hits_of
from tools.errors import DeskmateError
from tools.index.inventory import inventory_question
from tools.index.scope import Scope
from tools.index.search import SearchHit

if TYPE_CHECKING:
    from agents.nodes import GraphDeps

SELECTION_QUERY_CHARS = 500  # what an action that uses the files searches for: the start of the selection


def selection_query(state: AskState) -> str:
    """What an action that uses the files searches them for (and quotes them on, without a model)."""
    return (state.get("selection") or "")[:SELECTION_QUERY_CHARS]


def before_retrieval(question: str, intent: str, state: AskState, deps: GraphDeps) -> tuple[Route, str, str | None]:
    """(route, why, the document a whole-document request reads) from the request alone."""
    if intent in ("calculate", "datetime"):
        return "exact", "arithmetic, units or dates: computed exactly", None
    if intent in ("remember", "recall", "forget"):
        return "memory", "a request about what Deskmate remembers", None
    if deps.inventory is not None and inventory_question(question):
        return "inventory", "a question about the index itself: counted from its catalogue", None
    if deps.document is not None and documents.whole_document_request(question):
        scope = Scope.of(state["turn_scope"]) if state.get("turn_scope") else None
        path = scope.files[0] if scope is not None and len(scope.files) == 1 else \
            documents.named_file(question, deps.known_paths())
        if path:
            return "document", f"a request about the whole of {path}", path
    why = "small talk needs no files" if intent == "chat" else route.general_request(question)
    if why:
        return "general", why, None
    if state.get("last_route") in ("general", "action") and route.revises_previous(question):
        return "general", "a follow-up to an answer that did not come from your files", None
    return "files", "", None


def files_workflow(state: AskState, hits: list[SearchHit], deps: GraphDeps) -> workflows.WorkflowAnswer:
    intent, question = state["intent"], state.get("query") or state["question"]
    error = state.get("retrieval_error")
    if error:  # a locked or damaged index: "nothing found" would pass the failure off as an answer
        return workflows.WorkflowAnswer(f"Your files could not be searched: {error}", [], "extractive")
    if intent == "search":
        return workflows.file_list(question, hits)
    if intent == "summarize" and hits:
        path = hits[0].path
        return workflows.extractive_summary(path, [h for h in hits if h.path == path])
    if intent == "question" and state.get("related") is False:
        return workflows.WorkflowAnswer(route.nothing_found(hits), [], "nothing found")
    return workflows.extractive_answer(question, hits, embed=deps.embed)


def routed(state: AskState, deps: GraphDeps) -> tuple[workflows.WorkflowAnswer, str, str | None]:
    """The deterministic answer for the turn's route, its mode, and why it is not the model's (or None)."""
    chosen, question = state.get("route", "files"), state["question"]
    if chosen == "exact":
        return workflows.exact_answer(state["intent"], state.get("query") or question), "exact", None
    if chosen == "memory":
        return workflows.memory_answer(state["intent"], question, deps.memory), "exact", None
    if chosen == "inventory":
        try:
            found = deps.inventory(state.get("query") or question, Scope.of(state["turn_scope"])
                                   if state.get("turn_scope") else None) if deps.inventory else None
        except DeskmateError as exc:  # a locked or damaged index: say so instead of a count
            return workflows.WorkflowAnswer(f"The index could not be counted: {exc}", [], "inventory"), \
                "fallback", str(exc)
        if found is not None:
            return workflows.WorkflowAnswer(found.text, [], "inventory"), "exact", None
        return workflows.WorkflowAnswer("I could not tell what to count in the index.", [], "inventory"), \
            "fallback", "not a question the index's catalogue answers"
    if chosen == "document":
        path = str(state.get("document"))
        try:
            chunks = deps.document(path) if deps.document else []
        except DeskmateError as exc:
            return workflows.WorkflowAnswer(f"{path} could not be read whole: {exc}", [], "document"), \
                "fallback", str(exc)
        return documents.extractive(question, path, chunks), "fallback", None
    if chosen == "action":
        presets = deps.presets() if deps.presets else None
        preset = presets.get(str(state.get("action"))) if presets else None
        if state.get("uses_files"):  # without a model: what the files say about the selection, quoted and cited
            return workflows.extractive_answer(selection_query(state), hits_of(state), embed=deps.embed), "fallback", \
                state.get("retrieval_error")
        text = without_model(preset, state.get("selection") or "") if preset else None
        if text is not None:
            return workflows.WorkflowAnswer(text, [], "summary"), "fallback", None
        title = preset.title.lower() if preset else "this action"
        return workflows.WorkflowAnswer(route.NO_MODEL_GENERAL.format(why=f"{title} needs a model"), [], "action"), \
            "fallback", None
    if chosen == "general":
        return workflows.WorkflowAnswer(route.NO_MODEL_GENERAL.format(why="no model answered"), [], "general"), \
            "fallback", None
    return files_workflow(state, hits_of(state), deps), "fallback", state.get("retrieval_error")
