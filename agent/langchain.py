"""LangChain adapters: the editing agent as a chat model, and the fact memory as a retriever.

`EditmindChatModel` sends the LAST human message of each call through `EditingAgent.chat`,
so a LangChain application gets the same behaviour as the CLI: corrections become memory
facts (and edits), questions are answered with the user's memory, and each AIMessage
carries the agent's trace in `response_metadata["editmind"]`. LangChain passes the whole
history on every call; the adapter reads the previous human question and AI answer from it
so "no, it's Rome" is understood against the conversation LangChain holds, not against
hidden state. With `agentic=False` the model just chats over the full message list.

Tool calling is NOT supported, by decision: the local models this runtime serves (a 135M
model by default) do not produce reliable structured tool calls, and a tool-calling API
that silently emits garbage is worse than none. `bind_tools` raises
`ToolCallingUnsupportedError` (an `EditmindError`) saying so.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from langchain_core.callbacks import CallbackManagerForLLMRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from editmind.editors.errors import EditmindError


class ToolCallingUnsupportedError(EditmindError):
    """EditmindChatModel does not do tool calling (see the module docstring)."""


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


def _cut_at_stop(text: str, stop: Sequence[str] | None) -> str:
    for token in stop or ():
        if token and token in text:
            text = text[: text.index(token)]
    return text


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class EditmindChatModel(BaseChatModel):
    """A LangChain chat model backed by an `EditingAgent`.

    Build it around an agent (`EditmindChatModel(agent=agent)`), or let it build one:
    `EditmindChatModel(model_name="default", home=..., user_id="alice")`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    agent: Any = Field(default=None, exclude=True)
    model_name: str = "default"
    home: str | None = None
    user_id: str = "default"
    agentic: bool = True
    max_new_tokens: int = 64

    _built: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "editmind"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "user_id": self.user_id, "agentic": self.agentic}

    def _agent(self) -> Any:
        if self.agent is not None:
            return self.agent
        if self._built is None:
            from editmind.agent.agent import AgentConfig, EditingAgent

            self._built = EditingAgent(model=self.model_name, home=self.home, user_id=self.user_id,
                                       config=AgentConfig(max_new_tokens=self.max_new_tokens))
        return self._built

    def _reply(self, messages: list[BaseMessage]) -> tuple[str, dict[str, Any]]:
        agent = self._agent()
        if not messages:
            raise EditmindError("no messages to answer")
        if not self.agentic or not isinstance(messages[-1], HumanMessage):
            conversation = [{"role": _role(m), "content": _text(m)} for m in messages]
            return agent.model.chat(conversation, max_new_tokens=self.max_new_tokens), {}
        humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
        previous_ai = [m for m in messages[: humans[-1]] if isinstance(m, AIMessage)]
        agent.last_question = _text(messages[humans[-2]]) if len(humans) > 1 else None
        agent.last_answer = _text(previous_ai[-1]) if previous_ai else None
        reply = agent.chat(_text(messages[-1]))
        return reply.text, reply.to_dict()

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text, details = self._reply(messages)
        text = _cut_at_stop(text, stop)
        message = AIMessage(content=text, response_metadata={"model_name": self.model_name, "editmind": details})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        agent = self._agent()
        if self.agentic and messages and isinstance(messages[-1], HumanMessage):
            humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
            previous_ai = [m for m in messages[: humans[-1]] if isinstance(m, AIMessage)]
            agent.last_question = _text(messages[humans[-2]]) if len(humans) > 1 else None
            agent.last_answer = _text(previous_ai[-1]) if previous_ai else None
            pieces: Iterator[str] = agent.stream_chat(_text(messages[-1]))
        else:
            conversation = [{"role": _role(m), "content": _text(m)} for m in messages]
            pieces = agent.model.stream_chat(conversation, max_new_tokens=self.max_new_tokens)
        said = ""
        for piece in pieces:
            full = said + piece
            cut = _cut_at_stop(full, stop)
            new = cut[len(said):]
            said = cut
            if new:
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=new))
                if run_manager:
                    run_manager.on_llm_new_token(new, chunk=chunk)
                yield chunk
            if len(cut) < len(full):  # a stop sequence appeared
                break
        details = agent.last_reply.to_dict() if self.agentic and agent.last_reply is not None else {}
        yield ChatGenerationChunk(message=AIMessageChunk(
            content="", response_metadata={"model_name": self.model_name, "editmind": details}, chunk_position="last"))

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        raise ToolCallingUnsupportedError(
            "EditmindChatModel does not support tool calling: small local models do not produce reliable tool "
            "calls; call your tools yourself and pass their results in a message"
        )


class FactMemoryRetriever(BaseRetriever):
    """A user's fact memory as a LangChain retriever: one Document per active fact,
    best first, with the fact's id, score and triple in the metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any
    user_id: str
    k: int = 4

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, **kwargs: Any) -> list[Document]:
        hits = self.memory.search(query, user_id=self.user_id, k=k or self.k)
        return [
            Document(page_content=hit.fact.text, id=hit.fact.id, metadata={
                "id": hit.fact.id, "score": float(hit.score), "user_id": hit.fact.user_id, "subject": hit.fact.subject,
                "relation": hit.fact.relation, "object": hit.fact.object, "source": hit.fact.source,
            })
            for hit in hits
        ]
