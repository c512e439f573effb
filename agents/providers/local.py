"""LocalChatModel: a LangChain chat model over an ONNX Runtime GenAI folder (budgeted context, JSON tool calls)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.messages.tool import invalid_tool_call, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from agents.providers import toolcalls
from agents.providers.base import StreamingChatModel
from agents.providers.context import Tokenizer, fit
from agents.providers.errors import GenerationCancelled
from agents.providers.genai import GenAIModel, GenerationStats, SamplingOptions


class StopMatcher:
    """Cuts streamed text at the first stop string, holding back only what could still become one."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        text = self.pending + piece
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.pending = ""
            return text[: min(hits)], True
        hold = max((k for s in self.stops for k in range(1, len(s)) if text.endswith(s[:k])), default=0)
        self.pending = text[len(text) - hold :] if hold else ""
        return text[: len(text) - hold], False

    def flush(self) -> str:
        text, self.pending = self.pending, ""
        return text


def _as_dicts(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for message in messages:
        content = message.text if isinstance(message.content, list) else str(message.content)
        if message.type == "system":
            out.append({"role": "system", "content": content})
        elif message.type == "human":
            out.append({"role": "user", "content": content})
        elif message.type == "ai":
            calls = getattr(message, "tool_calls", None) or []
            if calls:
                content = "\n".join(json.dumps({"tool": c["name"], "arguments": c["args"]}) for c in calls)
            out.append({"role": "assistant", "content": content})
        elif isinstance(message, ToolMessage):
            # Chat templates of small models rarely know a "tool" role: the result goes back as a user turn.
            out.append(
                {"role": "user", "content": f"Result of tool {message.name or message.tool_call_id}:\n{content}"}
            )
        else:
            out.append({"role": "user", "content": content})
    if tools:
        instructions = toolcalls.render_instructions(tools)
        if out and out[0]["role"] == "system":
            out[0] = {"role": "system", "content": out[0]["content"] + "\n\n" + instructions}
        else:
            out.insert(0, {"role": "system", "content": instructions})
    return out


def _forced_tool(tools: list[dict[str, Any]], choice: Any) -> tuple[bool, str | None]:
    """(must call a tool, which one or None for any) from an OpenAI-style ``tool_choice``."""
    if not tools or choice in (None, "auto", "none", False):
        return False, None
    if choice in ("any", "required", True):
        return True, None
    if isinstance(choice, dict):
        return True, choice.get("function", {}).get("name") or choice.get("name")
    return True, str(choice)


def _chunk(text: str = "", **fields: Any) -> ChatGenerationChunk:
    return ChatGenerationChunk(message=AIMessageChunk(content=text, **fields))


class LocalChatModel(StreamingChatModel):
    """A chat model that runs on this machine. The loaded model stays warm between turns."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str
    runtime: GenAIModel = Field(exclude=True)
    context_length: int = Field(4096, ge=64, description="Tokens of prompt plus answer; capped at the model's own.")
    max_tokens: int = Field(512, ge=1)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    # Small models answer far better with a system turn; used only when the conversation brings none.
    default_system: str | None = "You are a helpful assistant."

    @property
    def _llm_type(self) -> str:
        return "deskmate-onnx-genai"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "path": str(self.runtime.path)}

    def get_num_tokens(self, text: str) -> int:
        return int(self.runtime.count_tokens(text))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = super()._generate(messages, stop, run_manager, **kwargs)
        message = result.generations[0].message
        error = message.response_metadata.get("tool_call_error")
        if isinstance(message, AIMessage) and error:
            message.invalid_tool_calls = [
                invalid_tool_call(name=error.get("name"), args=error["raw"], error=error["error"])
            ]
        return result

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        tools: list[dict[str, Any]] = kwargs.get("tools") or []
        forced, only = _forced_tool(tools, kwargs.get("tool_choice"))
        if kwargs.get("tool_choice") == "none":
            tools = []
        should_stop: Callable[[], bool] = kwargs.get("should_stop") or (lambda: False)
        temperature = float(kwargs.get("temperature", self.temperature))
        max_new = int(kwargs.get("max_tokens") or self.max_tokens)

        runtime = self.runtime
        window = min(self.context_length, runtime.context_length)
        tok = Tokenizer(render=runtime.chat_prompt, encode=runtime.encode, decode=runtime.decode)
        turns = _as_dicts(messages, tools)
        if self.default_system and not any(t["role"] == "system" for t in turns):
            turns.insert(0, {"role": "system", "content": self.default_system})
        fitted = fit(turns, tok, window, max_new)
        schema = json.dumps(toolcalls.call_schema(tools, only)) if forced else None
        sampling = SamplingOptions(max_new_tokens=fitted.max_new_tokens, temperature=temperature, json_schema=schema)
        stats = GenerationStats()
        stopper = StopMatcher(stop or [])
        held = ""  # output that may still turn out to be a tool call is held back, not streamed as text
        holding = bool(tools)
        try:
            for piece in runtime.stream(fitted.prompt_ids, sampling, stats, should_stop):
                text, hit = stopper.feed(piece)
                if holding:
                    held += text
                    if not forced and not toolcalls.looks_like_call(held):
                        holding, text, held = False, held, ""
                if holding and stats.completion_tokens == 1:
                    yield _chunk("")  # tells a caller waiting on the first token that the model is answering
                if text and not holding:
                    if run_manager:
                        run_manager.on_llm_new_token(text)
                    yield _chunk(text)
                if hit:
                    stats.finish_reason = "stop"
                    break
            else:
                tail = stopper.flush()
                if holding:
                    held += tail
                elif tail:
                    yield _chunk(tail)
        except GenerationCancelled:
            stats.finish_reason = "cancelled"
        if stats.finish_reason == "cancelled" and held:
            held = ""  # half a tool call is nothing to act on
        yield from self._finish(held, tools, stats, fitted.dropped_messages, fitted.trimmed_tokens)

    def _finish(
        self, held: str, tools: list[dict[str, Any]], stats: GenerationStats, dropped: int, trimmed: int
    ) -> Iterator[ChatGenerationChunk]:
        metadata: dict[str, Any] = {
            "model_name": self.model_name,
            "execution_provider": self.runtime.execution_provider,
            "finish_reason": stats.finish_reason,
            "time_to_first_token_ms": round(stats.time_to_first_token_s * 1000, 1)
            if stats.time_to_first_token_s is not None
            else None,
            "tokens_per_s": round(stats.tokens_per_s, 2),
            "context": {"dropped_messages": dropped, "trimmed_tokens": trimmed},
        }
        if self.runtime.fallback_reason:
            metadata["device_fallback"] = self.runtime.fallback_reason
        fields: dict[str, Any] = {}
        text = ""
        if held:
            parsed = toolcalls.parse(held, tools)
            if isinstance(parsed, toolcalls.ParsedCall):
                args = json.dumps(parsed.arguments)
                fields["tool_call_chunks"] = [tool_call_chunk(name=parsed.name, args=args, id=parsed.id, index=0)]
                metadata["finish_reason"] = "tool_calls"
                if parsed.repairs:
                    metadata["tool_call_repairs"] = list(parsed.repairs)
            elif isinstance(parsed, toolcalls.InvalidCall):
                text = held
                metadata["tool_call_error"] = {"name": parsed.name, "raw": parsed.raw, "error": parsed.error}
            else:
                text = held
        usage = {
            "input_tokens": stats.prompt_tokens,
            "output_tokens": stats.completion_tokens,
            "total_tokens": stats.prompt_tokens + stats.completion_tokens,
        }
        yield _chunk(text, usage_metadata=usage, response_metadata=metadata, chunk_position="last", **fields)
