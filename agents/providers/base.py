"""StreamingChatModel: the LangChain chat-model base every Deskmate provider shares (stream first, tools as JSON)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel, generate_from_stream
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool


class StreamingChatModel(BaseChatModel):
    """Implements ``_stream`` only: a whole answer is the merged stream, and tools bind as OpenAI-format schemas."""

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def get_num_tokens(self, text: str) -> int:
        """Tokens in ``text``: about four characters each unless the provider knows its tokenizer (local models do).

        Overrides LangChain's default, which would load a GPT-2 tokenizer (and may download it).
        """
        return len(text) // 4 + 1

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
