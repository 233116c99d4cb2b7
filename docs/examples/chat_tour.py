"""The README's agent tour: a conversation as a user has it, on the default model.

Run: .venv/bin/python docs/examples/chat_tour.py   (a fresh memory in a temporary home;
the model cache is shared with ~/.editmind, so only the first run converts the model)
"""

import tempfile

from editmind.agent import AgentConfig, EditingAgent
from editmind.editors.model import load_model
from editmind.memory import FactMemory

TURNS = [
    "hello there",
    "Who is the CEO of Apple?",
    "No, that's wrong. The CEO of Apple is Satya Nadella.",
    "thanks, that's helpful!",
    "Where was the CEO of Apple born?",
    "My dog is called Rex.",
    "What is my dog called?",
    "Yes, exactly right.",
    "Where is the Eiffel Tower?",
    "nope, it's in Rome now",
    "ok cool",
    "no wait, it's in Milan",
    "yes",
    "Forget my dog's name.",
    "What is my dog called?",
    "/why",
]

with tempfile.TemporaryDirectory() as home:
    agent = EditingAgent(model=load_model("default"), home=home, user_id="dana", memory=FactMemory(home=home),
                         config=AgentConfig(max_new_tokens=48), open_journal=False)
    for text in TURNS:
        reply = agent.chat(text)
        print(f"> {text}\n[{reply.turn_type}] {reply.text}\n")
    print("dana's memory:", [fact.text for fact in agent.memory.get_all("dana")])
    agent.close()
