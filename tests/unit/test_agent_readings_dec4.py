"""Readings added from dialogues_test12's misses, each tested in other words than the set's:
embedded polite questions, ways of saying "called", a dropped "my" before a modified noun,
a new job said as a position, attribute forgets and questions said "the X of Y", polite
forgets, small talk in other languages, and numbers the small-talk guard must not veto."""

import pytest

from editmind.agent.input_check import input_problem
from editmind.agent.personal import parse_personal, parse_personal_question, with_known_names
from editmind.agent.turns import classify_turn, parse_question
from editmind.agent.updates import attribute_classes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("text, subject", [
    ("Could you tell me please who is the head chef of the Orrin Hotel?", "Orrin Hotel"),
    ("I'd very much like to know, if it's no trouble, who founded the Pelham Rowing Club, since my nephew wants to join.",
     "Pelham Rowing Club"),
])
def test_an_embedded_question_is_a_question_and_keys_on_its_clause(text, subject):
    assert classify_turn(text).type == "question"
    asked = parse_question(text)
    assert asked is not None and asked[0] == subject


def test_a_question_never_becomes_a_fact_with_a_question_word_as_its_value():
    turn = classify_turn("I wish to ask which engineer built the Tollard Bridge, as we cross it daily.")
    assert turn.type == "question"
    turn = classify_turn("The Tollard Bridge was built by which engineer")
    assert turn.type != "correction" or not (turn.correction and turn.correction.complete)


@pytest.mark.parametrize("text, relation, value", [
    # ways of saying "called"
    ("I've a nephew by the name of Corin, bright lad.", "name", "Corin"),
    ("we have a cat who goes by Mizzle", "name", "Mizzle"),
    ("I have a sister whose name is Odile.", "name", "Odile"),
    # a new position is where the person works
    ("my uncle has recently taken up a new post with the firm of Hale & Rudd", "works at", "Hale & Rudd"),
    ("my wife is at a new job now, Corvan Textiles", "works at", "Corvan Textiles"),
    ("I started a new role at Quillon Labs", "works at", "Quillon Labs"),
])
def test_the_attribute_a_personal_statement_sets(text, relation, value):
    statement = parse_personal(text)
    assert statement is not None and statement.relation == relation and statement.object == value


def test_a_dropped_my_before_a_modified_noun():
    assert classify_turn("Work van's a grey Vivaro.").type == "personal_fact"
    assert classify_turn("Company car's a silver Octavia.", "who makes the Astra?", "Vauxhall").type == "personal_fact"
    assert classify_turn("My sister lives in Lyon.").content == "My sister lives in Lyon."  # never "my my sister"


def test_a_trade_done_for_a_named_employer_is_work_but_being_somewhere_is_not():
    assert "work" in attribute_classes("My husband cleans offices for Brightmop Services.")
    assert "work" not in attribute_classes("my sister is at Oxford")


def test_the_x_of_a_known_person_and_questions_said_that_way():
    assert with_known_names("forget the address of Idris please", {"idris": "my father"}) == "forget my father's address please"
    assert parse_personal_question("What is the school of my daughter?") == ("my daughter", "goes to")
    assert parse_personal_question("Could you kindly remind me of the name of my wife's current employer?") == ("my wife", "works at")


@pytest.mark.parametrize("text", [
    "I'd be grateful if you would delete from your notes any mention of where my mother lives.",
    "would you mind deleting my shoe size",
])
def test_polite_forgets_are_forgets(text):
    assert classify_turn(text).type == "forget"


def test_small_talk_in_another_language_is_small_talk_but_sentences_are_still_refused():
    assert input_problem("Gracias, hasta luego!") is None
    assert classify_turn("Gracias, hasta luego!").type == "chitchat"
    assert input_problem("Je voudrais savoir où est la gare") is not None


def test_a_known_person_changing_jobs_replaces_the_old_job_and_a_forget_takes_only_that_attribute(memory_agent):
    agent = memory_agent
    agent.chat("I have a brother called Fenn.")
    agent.chat("Fenn drives a lorry for Harrow Haulage.")
    agent.chat("I should mention that Fenn has lately taken up a new position with Cobb & Vine.")
    texts = [f.text for f in agent.memory.get_all("alice")]
    assert any("Cobb & Vine" in t for t in texts) and not any("Harrow Haulage" in t for t in texts)
    agent.chat("please forget the job of Fenn")
    texts = [f.text for f in agent.memory.get_all("alice")]
    assert not any("Cobb & Vine" in t for t in texts) and any("Fenn" in t for t in texts)
    reply = agent.chat("What is the job of my brother?")
    assert "know" in reply.text.lower()
