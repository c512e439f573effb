"""What the window says about an answer: its mode badge, its route badge and the banner, as plain text (no widgets).

A deterministic extract stands for two different reasons, and the words must not mix them up: the model was not
there (none set up, it failed, it timed out) or it answered and its answer was set aside by the grounding check. The
runner's ``fallback_reason`` starts with the provider error's kind (``timeout: ...``, ``unreachable: ...``) when the
model failed; any other reason after a model ran is the grounding check's (agents/nodes.py ``ground``).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Literal

from agents.providers.errors import ProviderError

if TYPE_CHECKING:
    from agents.runner import TurnDone

Fallback = Literal["none", "unavailable", "set_aside", "stopped"]

BADGE_REASON_CHARS = 60
MODELS_HINT = "choose a model above the conversation or add one in Settings › Models"


def _kinds(cls: type[ProviderError]) -> set[str]:
    found = {cls.kind}
    for sub in cls.__subclasses__():
        found |= _kinds(sub)
    return found


def fallback_kind(reason: str | None, model: str | None) -> Fallback:
    """Why an extract stands: no reason, the model unavailable, its answer set aside, or the user stopped it."""
    if not reason:
        return "none"
    kind = reason.split(":", 1)[0].strip()
    if kind == "cancelled":
        return "stopped"
    if kind in _kinds(ProviderError) or model is None:
        return "unavailable"
    return "set_aside"


def _who(model: str | None, kind: str | None) -> tuple[str, str]:
    label = {"onnx": "local model", "openai": "remote"}.get(kind or "", "model")
    where = {"onnx": " on this computer", "openai": " over the network"}.get(kind or "", "")
    return label, f"{model or 'a model'}{where}"


def describe_mode(mode: str, model: str | None, reason: str | None, kind: str | None = None) -> tuple[str, str]:
    """The badge text and its tooltip for an answer's mode; ``kind`` is the model's provider kind (onnx, openai)."""
    if mode == "cache":
        return "cache", "A stored answer to the same question about the same sources; no model was called."
    if mode == "llm":
        label, who = _who(model, kind)
        return label, f"Answered by {who}."
    if mode == "general":
        return "not from your files", (f"Answered by {_who(model, kind)[1]} from its own knowledge, not from your "
                                       "files: check it as you would any model's answer.")
    if mode == "exact":
        return "exact", ("Computed by Deskmate (arithmetic, units, dates, what you asked it to remember, or the "
                         "index's own list of files); no model was involved.")
    why = fallback_kind(reason, model)
    if why == "set_aside":
        return "from your files", (f"The model answered, but its answer was set aside ({reason}); this answer "
                                   "quotes your files directly.")
    if why == "stopped":
        return "from your files", "You stopped the model; this answer quotes your files directly."
    return "from your files", (f"The model did not answer ({reason}); this answer quotes your files directly."
                               if reason else "Answered from your files without a model.")


def plain_tip(text: str) -> str:
    """``text`` as a tooltip that shows it as typed: Qt reads a tooltip that looks like HTML as HTML."""
    return f"<p style='white-space:pre-wrap'>{html.escape(text)}</p>" if text else ""


def _short(text: str, limit: int = BADGE_REASON_CHARS) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def route_text(mode: str, reason: str | None, model: str | None, route: str = "files") -> str:
    """The route badge: where the answer comes from, in the user's words."""
    if mode == "cache":
        return "Cached"
    if mode == "exact":
        return "Exact"
    if mode == "general":
        return "Not from your files"
    if mode == "llm":
        return "On your text" if route == "action" else "From your files"
    if route in ("general", "action"):  # the "needs a model" message, or an extract of the selection
        return "No model — not from your files"
    why = fallback_kind(reason, model)
    if why == "unavailable":
        return f"Extract — model unavailable: {_short(reason or '')}"
    if why == "set_aside":
        return "Extract — model's answer set aside"
    if why == "stopped":
        return "Extract — model stopped"
    return "Extract from your files"


def describe_route(done: TurnDone, kind: str | None = None) -> tuple[str, str]:
    """The route badge's text and its tooltip: who answered, why this route, the query searched and the scope."""
    text = route_text(done.mode, done.fallback_reason, done.model, done.route)
    if done.mode == "fallback" and done.route in ("general", "action"):
        lines = ["No model answered: this request needs one, and nothing in this answer comes from your files."]
    else:
        lines = [describe_mode(done.mode, done.model, done.fallback_reason, kind)[1]]
    if done.route_reason:
        lines.append(f"Why: {done.route_reason}")
    if done.query:
        lines.append(f"Searched for: {done.query}")
    if done.scope:
        from tools.index.scope import Scope

        try:
            chips = Scope.of(done.scope).describe()
        except Exception:  # a scope row from a newer version: say nothing rather than something wrong
            chips = []
        if chips:
            lines.append("Scope: " + ", ".join(chips))
    return text, "\n".join(lines)


def banner_text(done: TurnDone) -> str | None:
    """The notice above the conversation after a turn, or None: it says which of the cases really happened."""
    if done.mode != "fallback":
        return None  # a model answer, a general answer, a computed or a cached one: the badge says it
    reason = done.fallback_reason
    why = fallback_kind(reason, done.model)
    general = done.route == "general"
    if why == "set_aside":
        return (f"The model answered, but its answer was set aside: {reason}; showing the extract from your "
                "files.")
    if why == "unavailable":
        if general:
            return (f"Running without a model: {reason}. This request is not about your files, so only a model "
                    f"can answer it: {MODELS_HINT}.")
        return f"Running without a model: {reason}. Answers quote your files directly."
    if why == "none" and general:
        return (f"No model is set up. This request is not about your files, so only a model can answer it: "
                f"{MODELS_HINT}.")
    return None  # stopped by the user, or an extract nobody asked a model for
