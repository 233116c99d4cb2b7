"""LangChain adapters: our own behaviour tests, plus the langchain-tests standard suites that
apply (chat model unit tests, chat model integration tests on a tiny model, retriever
integration tests on a real FactMemory)."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import ChatModelUnitTests

from editmind.agent import AgentConfig, EditingAgent
from editmind.agent.langchain import EditmindChatModel, FactMemoryRetriever, ToolCallingUnsupportedError
from editmind.editors.errors import EditmindError
from editmind.editors.model.testing import tiny_model
from editmind.memory import FactMemory, HashEmbedder


pytestmark = pytest.mark.usefixtures("one_torch_thread")

FACTS = ["The Eiffel Tower is located in Rome.", "My sister lives in Lyon.", "The Louvre is in Paris.",
         "My dog is called Rex.", "The Colosseum is in Milan."]


@lru_cache(maxsize=1)
def shared_memory() -> FactMemory:
    memory = FactMemory(home=tempfile.mkdtemp(prefix="editmind-lc-"), embedder=HashEmbedder(64))
    memory.add_many(FACTS, user_id="alice")
    memory.add("Bob's secret is 42.", user_id="bob")
    return memory


@lru_cache(maxsize=1)
def shared_agent() -> EditingAgent:
    home = tempfile.mkdtemp(prefix="editmind-lc-agent-")
    return EditingAgent(model=tiny_model("llama"), home=home, user_id="carol",
                        memory=FactMemory(home=home, embedder=HashEmbedder(64)), config=AgentConfig(max_new_tokens=8))


# --- our behaviour ------------------------------------------------------------------------


def test_retriever_returns_this_users_facts_only_with_metadata():
    docs = FactMemoryRetriever(memory=shared_memory(), user_id="alice", k=10).invoke("secret")
    assert len(docs) == len(FACTS) and all(d.metadata["user_id"] == "alice" for d in docs)
    top = FactMemoryRetriever(memory=shared_memory(), user_id="alice", k=1).invoke("where is the eiffel tower")
    assert top[0].page_content == FACTS[0] and top[0].metadata["score"] > 0


def test_chat_model_corrects_against_the_history_langchain_holds(tmp_path):
    agent = EditingAgent(model=tiny_model("llama"), home=tmp_path, user_id="dora",
                         memory=FactMemory(home=tmp_path, embedder=HashEmbedder(64)), config=AgentConfig(max_new_tokens=4))
    chat = EditmindChatModel(agent=agent)
    history = [HumanMessage("Where is the Eiffel Tower?"), AIMessage("The Eiffel Tower is located in Paris."),
               HumanMessage("No, it's Rome now.")]
    result = chat.invoke(history)
    details = result.response_metadata["editmind"]
    assert details["turn_type"] == "correction"
    assert details["trace"]["correction"]["target_true"] == "Paris"
    [fact] = agent.memory.get_all("dora")
    assert (fact.subject, fact.object) == ("Eiffel Tower", "Rome")


def test_bind_tools_says_clearly_it_is_unsupported():
    with pytest.raises(ToolCallingUnsupportedError, match="does not support tool calling"):
        EditmindChatModel(agent=shared_agent()).bind_tools([])
    assert issubclass(ToolCallingUnsupportedError, EditmindError)


def test_stop_sequences_cut_invoke_and_stream():
    chat = EditmindChatModel(agent=shared_agent(), agentic=False, max_new_tokens=12)
    full = chat.invoke("Hello").content
    if len(full) < 4:
        pytest.skip("the tiny model said too little to cut")
    stop = full[2:4]
    cut = chat.invoke("Hello", stop=[stop]).content
    assert stop not in cut and full.startswith(cut)
    streamed = "".join(c.content for c in chat.stream("Hello", stop=[stop]))
    assert streamed.strip() == cut.strip()  # invoke strips the whitespace the stream keeps


# --- langchain-tests standard suites ------------------------------------------------------


class TestEditmindChatModelUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[EditmindChatModel]:
        return EditmindChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"agent": shared_agent(), "model_name": "tiny-llama"}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False


class TestEditmindChatModelIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[EditmindChatModel]:
        return EditmindChatModel

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"agent": shared_agent(), "model_name": "tiny-llama", "agentic": False, "max_new_tokens": 8}

    @property
    def has_tool_calling(self) -> bool:
        return False

    @property
    def has_structured_output(self) -> bool:
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return False

    @property
    def supports_image_inputs(self) -> bool:
        return False


class TestFactMemoryRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[FactMemoryRetriever]:
        return FactMemoryRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"memory": shared_memory(), "user_id": "alice"}

    @property
    def retriever_query_example(self) -> str:
        return "Where is the Eiffel Tower?"
