"""Issue 23's conversation on the real default model: small talk never overwrites a fact,
answers are sentences, a forget leaves "I don't know" (the MiniLM embedder and the trained
small-talk guard are in the loop, as for a user)."""

import pytest

from editmind.agent import AgentConfig, EditingAgent
from editmind.memory import FactMemory

pytestmark = pytest.mark.slow


def test_a_real_conversation_keeps_memory_right(restorable_default_model, tmp_path):
    agent = EditingAgent(model=restorable_default_model, home=tmp_path, user_id="dana", memory=FactMemory(home=tmp_path),
                         config=AgentConfig(max_new_tokens=32), open_journal=False)

    def memory():
        return sorted(f.text for f in agent.memory.get_all("dana"))

    try:
        assert agent.chat("hello there").turn_type == "chitchat"
        asked = agent.chat("Who is the CEO of Apple?")
        assert asked.trace["method"] == "model"
        agent.chat("No, that's wrong. The CEO of Apple is Satya Nadella.")
        ceo = ["The CEO of Apple is Satya Nadella."]
        for text in ("thanks, that's helpful!", "Never mind.", "Yes, exactly right.", "Och, that's braw, cheers pal."):
            assert agent.chat(text).turn_type == "chitchat" and memory() == ceo, text
        born = agent.chat("Where was the CEO of Apple born?")
        assert born.trace["rewritten_question"] == "Where was Satya Nadella born?" and "Satya Nadella" in born.text
        agent.chat("My dog is called Rex.")
        assert agent.chat("What is my dog called?").text == "Your dog is called Rex."
        agent.chat("Forget my dog's name.")
        after = agent.chat("What is my dog called?")
        assert "I don't know" in after.text and memory() == ceo
        assert agent.chat("who is the ceo of apple?").text == "The CEO of Apple is Satya Nadella."
    finally:
        agent.close()
