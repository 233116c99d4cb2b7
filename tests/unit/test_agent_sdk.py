"""The EditingAgent SDK on a tiny random model with a real FactMemory (SQLite + FAISS files,
hashing embedder): what goes to memory, per-user isolation, confirmations, forget, commands."""

import pytest

from editmind.agent import AgentConfig, AgentError, EditingAgent, RouterConfig
from editmind.editors.model.testing import tiny_model
from editmind.memory import FactMemory, HashEmbedder


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def agent(tmp_path):
    memory = FactMemory(home=tmp_path, embedder=HashEmbedder(64))
    config = AgentConfig(max_new_tokens=4, router=RouterConfig(confirmations_to_last=2, batch_size=3))
    agent = EditingAgent(model=tiny_model("llama"), home=tmp_path, user_id="alice", memory=memory, config=config)
    yield agent
    agent.close()


def world(agent, user=None):
    return [f for f in agent.memory.get_all(user or agent.user_id) if (f.metadata or {}).get("scope") == "world"]


def test_correction_goes_to_this_users_memory_with_its_triple(agent):
    agent.chat("Where is the Eiffel Tower?")
    agent.last_answer = "The Eiffel Tower is located in Paris."  # what a trained model says
    reply = agent.chat("No, it's Rome now.")
    assert reply.turn_type == "correction" and reply.actions[0]["event"] == "ADD"
    [fact] = world(agent)
    assert (fact.subject, fact.relation, fact.object) == ("Eiffel Tower", "The {} is located in", "Rome")
    assert fact.metadata["target_true"] == "Paris" and fact.metadata["weights"] == "memory"
    assert reply.trace["route"]["weights"] == "never" and reply.trace["turn"]["type"] == "correction"
    assert agent.memory.get_all("bob") == []  # never leaks to another user


def test_personal_fact_is_never_pending_for_the_weights(agent):
    reply = agent.chat("Remember permanently that my sister lives in Lyon.")
    assert reply.turn_type == "personal_fact" and "never go into the shared weights" in reply.text
    [fact] = agent.memory.get_all("alice")
    assert fact.metadata == {"scope": "personal", "weights": "never"}
    assert agent._pending() == []


def test_confirmed_twice_becomes_pending_and_waits_for_the_batch(agent):
    agent.chat("The Louvre is located in Lyon.")
    reply = agent.chat("The Louvre is located in Lyon.")
    [fact] = world(agent)
    assert fact.metadata["confirmations"] == 2 and fact.metadata["weights"] == "pending"
    assert "1/3 pending" in reply.text and len(agent._pending()) == 1


def test_explicit_lasting_without_parameter_editing_stays_served_from_memory(agent, monkeypatch):
    monkeypatch.setattr(type(agent), "journal", property(lambda self: (_ for _ in ()).throw(AgentError("no journal here"))))
    agent.chat("The Colosseum is located in Milan.")
    reply = agent.chat("Remember this permanently.")
    assert reply.turn_type == "command" and "stays in your memory" in reply.text
    [fact] = world(agent)
    assert fact.metadata["weights"] == "failed" and fact.status == "active"


def test_forget_redacts_and_says_where_the_fact_was(agent):
    phone = agent.chat("My phone number is 555-0192.").actions[0]["fact_id"]
    sister = agent.chat("My sister lives in Lyon.").actions[0]["fact_id"]
    reply = agent.chat("Please forget my phone number.")
    assert reply.turn_type == "forget" and "only in your memory, never in the model's weights" in reply.text
    assert [a["fact_id"] for a in reply.actions] == [phone]
    assert agent.memory.get(phone).status == "redacted" and "555" not in agent.memory.get(phone).text
    assert agent.memory.get(sister).status == "active"
    reply = agent.chat("Forget the colour of the neighbours' car.")
    assert "nothing was changed" in reply.text and agent.memory.get(sister).status == "active"


def test_forget_that_targets_the_last_fact_only(agent):
    agent.chat("My dog's name is Rex.")
    agent.chat("I live in Berlin.")
    agent.chat("Forget that.")
    active = [f.text for f in agent.memory.get_all("alice")]
    assert active == ["My dog's name is Rex."]


def test_commands_users_and_why(agent):
    agent.chat("My sister lives in Lyon.")
    assert "Now talking with user bob" in agent.chat("/user bob").text and agent.user_id == "bob"
    reply = agent.chat("Where does my sister live?")
    assert reply.trace["memory_used"] is False  # bob has no facts: alice's never reach him
    why = agent.chat("/why")
    assert "turn: question" in why.text and agent.last_reply is reply
    assert agent.chat("/frobnicate").text.startswith("Unknown command")


@pytest.mark.parametrize("text,says", [
    ("   ", "empty"),
    ("x" * 10_000, "10,000 characters"),
    ("My dog is called \x00Rex\x07", "control character"),
    ("Mon chien s'appelle Rex et il est très gentil", "English"),
    ("我的狗叫雷克斯", "English"),
])
def test_unreadable_input_gets_one_line_and_writes_nothing(agent, text, says):
    reply = agent.chat(text)
    assert reply.turn_type == "invalid" and says in reply.text and "\n" not in reply.text
    assert agent.memory.get_all("alice") == []


def test_bad_input_is_one_clear_error_and_changes_nothing(agent):
    with pytest.raises(AgentError, match="user id"):
        agent.set_user("")
    with pytest.raises(AgentError, match="complete correction"):
        agent.correct("No, it's Rome.")  # no previous question: cannot tell what "it" is
    assert agent.memory.get_all("alice") == []
    reply = agent.chat("No, it's Rome.")
    assert "Nothing was stored" in reply.text and agent.memory.get_all("alice") == []


def test_memory_survives_a_restart(tmp_path):
    memory = FactMemory(home=tmp_path, embedder=HashEmbedder(64))
    first = EditingAgent(model=tiny_model("llama"), home=tmp_path, user_id="alice", memory=memory)
    first.correct("The Eiffel Tower is located in Rome.")
    first.close()
    second = EditingAgent(model=tiny_model("llama"), home=tmp_path, user_id="alice",
                          memory=FactMemory(home=tmp_path, embedder=HashEmbedder(64)))
    assert [f.object for f in world(second)] == ["Rome"]
    second.close()


def test_stream_chat_yields_pieces_and_keeps_the_full_reply(agent):
    pieces = list(agent.stream_chat("Where is the Louvre?"))
    assert agent.last_reply is not None and agent.last_reply.text == "".join(pieces).strip()
    assert agent.last_reply.trace["route"]["action"] == "answer"


def test_lasting_correction_runs_one_journaled_edit_and_state_matches_its_outcome(tmp_path):
    """The real journal and MEMIT on a tiny model (small key statistics). Whether a random
    model passes the reliability check is not the point: the facts' flags, the journal and
    the weights must agree with the reported outcome either way."""
    from editmind.editors.parametric.keys import ContextConfig
    from editmind.editors.parametric.stats import StatsConfig
    from editmind.editors.parametric.values import ValueConfig

    fast = {"stats": StatsConfig(n_tokens=64, sequences_per_chunk=2, tokens_per_sequence=32, show_progress=False),
            "context": ContextConfig(n_prefixes=1, prefix_tokens=4),
            "value": ValueConfig(steps=5, weight_decay=1e-3, clamp_norm_factor=0.75)}
    model = tiny_model("llama")
    before = model.fingerprint()
    agent = EditingAgent(model=model, home=tmp_path, user_id="alice",
                         memory=FactMemory(home=tmp_path, embedder=HashEmbedder(64)),
                         config=AgentConfig(max_new_tokens=4, router=RouterConfig(method_overrides=fast)))
    seen = []
    agent.progress = lambda *event: seen.append(event)
    reply = agent.correct("The Eiffel Tower is located in Rome.", lasting=True)
    [weights] = [a for a in reply.actions if a["action"] == "weights"]
    [fact] = world(agent)
    assert weights["method"] == "memit" and seen and fact.status == "active"
    if weights["succeeded"]:
        assert fact.metadata["weights"] == "edited" and fact.metadata["edit_id"] == weights["edit_ids"][0]
        assert [e["id"] for e in agent.edits()] == weights["edit_ids"] and model.fingerprint() != before
        agent.undo(weights["edit_ids"][0])
        assert world(agent)[0].metadata["weights"] == "memory"
    else:
        assert fact.metadata["weights"] == "failed" and "stay served from your memory" in reply.text
        assert weights["undone"] and agent.edits() == []
    assert model.fingerprint() == before  # undone either way: bitwise the base weights
    agent.close()


def test_past_the_lifelong_threshold_consolidation_writes_grace_and_leaves_the_base_weights(tmp_path):
    """The router's lifelong switch, end to end: the real journal, GRACE on a tiny model."""
    model = tiny_model("llama")
    before = model.fingerprint()
    agent = EditingAgent(model=model, home=tmp_path, user_id="alice",
                         memory=FactMemory(home=tmp_path, embedder=HashEmbedder(64)),
                         config=AgentConfig(max_new_tokens=4, router=RouterConfig(lifelong_after_edits=0)))
    reply = agent.correct("The Eiffel Tower is located in Rome.", lasting=True)
    [weights] = [a for a in reply.actions if a["action"] == "weights"]
    assert weights["method"] == "grace"
    assert not weights["succeeded"] or "lifelong side memory" in reply.text
    assert model.fingerprint() == before  # a side memory: no base weight changed
    if weights["succeeded"]:
        [edit] = agent.edits()
        assert edit["method"] == "grace" and world(agent)[0].metadata["edit_id"] == edit["id"]
        agent.undo(edit["id"])
    assert agent.edits() == [] and model.fingerprint() == before
    agent.close()


def test_the_question_a_lasting_correction_answers_goes_into_the_weight_edit(agent, monkeypatch):
    """The user's own question joins the edit as a paraphrase, so the edited weights answer it."""
    agent.chat("Where is the Eiffel Tower?")
    agent.last_answer = "It is in Paris."
    agent.chat("No, it's Rome.")
    agent.chat("No, it's Rome.")  # stated twice: pending for the next batched weight edit
    [pending] = agent._pending()
    assert pending.request.paraphrases == ("Where is the Eiffel Tower?",)


def test_a_question_asking_exactly_a_stored_fact_is_answered_from_it(agent):
    agent.chat("Where is the Eiffel Tower?")
    agent.last_answer = "It is in Paris."
    fact_id = agent.chat("No, it's Rome.").actions[0]["fact_id"]
    agent.chat("My sister lives in Lyon.")
    reply = agent.chat("Where is the Eiffel Tower?")
    assert reply.text == "The Eiffel Tower is located in Rome."
    assert reply.trace["method"] == "memory-lookup" and reply.trace["facts_used"] == [fact_id]
    assert agent.chat("Where does my sister live?").text == "Your sister lives in Lyon."
    agent.set_user("bob")
    assert agent.chat("Where is the Eiffel Tower?").trace["method"] == "model"
