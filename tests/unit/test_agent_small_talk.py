"""Nothing is written without a fact in it: small talk, agreement, remarks and empty
corrections are chitchat; a correction's value must be a value. Rules only, no model."""

import pytest

from editmind.agent.personal import parse_personal, parse_personal_question, same_owner
from editmind.agent.turns import classify_turn

APPLE_Q = "Who is the CEO of Apple?"
APPLE_A = "The CEO of Apple is Tim Cook."


@pytest.mark.parametrize("text", [
    "hello there", "thanks, that's helpful!", "Never mind.", "Yes, exactly right.", "ok", "thx!!", "nvm", "lol",
    "cool cool", "Thank you kindly for noting that.", "Splendid, much obliged.", "Perfect, you're a gem.",
    "how are you today?", "are you a bot or a human", "who made you?", "I hope I'm not disturbing you.",
    "im so bored rn", "that answer was kinda useless tbh", "Paris is beautiful",
    "no thanks", "I'm not sure", "hmm i see", "Ha! I knew it was Constable, I told them so. Thanks a million.",
    "good morning! 😀", "bye", "yes do it", "not bad",
])
def test_small_talk_is_chitchat_in_any_context(text):
    for context in ((None, None), (APPLE_Q, APPLE_A)):
        turn = classify_turn(text, *context)
        assert turn.type == "chitchat", (text, context, turn.trigger)


@pytest.mark.parametrize("text", ["you're wrong", "no", "what? no", "that's wrong though"])
def test_a_bare_disagreement_is_chitchat_alone_and_a_valueless_correction_after_an_answer(text):
    """LABELS.md: "that's wrong though" is a correction, one that lacks its value; it stores nothing."""
    assert classify_turn(text).type == "chitchat"
    turn = classify_turn(text, APPLE_Q, APPLE_A)
    assert turn.type == "correction" and turn.correction is None and turn.small_talk == "disagreement"


@pytest.mark.parametrize("text", ["yes, Tim Cook", "yep tim cook", "Yes, the CEO of Apple is Tim Cook.", "right, Tim Cook"])
def test_agreeing_with_the_answer_is_not_a_correction(text):
    assert classify_turn(text, APPLE_Q, APPLE_A).type == "chitchat"


@pytest.mark.parametrize("text,value", [
    ("No, that's wrong. The CEO of Apple is Satya Nadella.", "Satya Nadella"),
    ("thanks, but it's actually Satya Nadella", "Satya Nadella"),
    ("No, I'm afraid that is not correct. It is Satya Nadella.", "Satya Nadella"),
    ("Hmm, no, it was Satya Nadella, I mixed up the names.", "Satya Nadella"),
    ("nope its satya nadella lol", "satya nadella"),
    ("I believe that's out of date, it's Satya Nadella now.", "Satya Nadella"),
])
def test_corrections_wrapped_in_talk_keep_their_value(text, value):
    turn = classify_turn(text, APPLE_Q, APPLE_A)
    assert turn.type == "correction" and turn.correction.complete
    assert (turn.correction.subject.lower(), turn.correction.target_new) == ("apple", value)


def test_the_object_of_a_correction_is_never_an_acknowledgement_or_a_pronoun():
    for text in ("no, it's that", "wrong, it is it", "No, thanks.", "no, never mind"):
        turn = classify_turn(text, APPLE_Q, APPLE_A)
        assert turn.correction is None or turn.correction.target_new is None, text


def test_a_bare_value_is_a_correction_to_confirm():
    turn = classify_turn("Satya Nadella", APPLE_Q, APPLE_A)
    assert turn.type == "correction" and turn.confirm and turn.correction.target_new == "Satya Nadella"


@pytest.mark.parametrize("text,key", [
    ("My dog is called Rex.", ("my dog", "name", "Rex")),
    ("actually my dog's name is Max now, we renamed him", ("my dog", "name", "Max")),
    ("I've got a gecko named Sprocket", ("my gecko", "name", "Sprocket")),
    ("We just adopted a ferret and her name is Juniper.", ("my ferret", "name", "Juniper")),
    ("I live in Berlin", ("me", "lives in", "Berlin")),
    ("I moved to Porto last month", ("me", "lives in", "Porto")),
    ("My sister actually moved to Flagstaff last month, I keep forgetting.", ("my sister", "lives in", "Flagstaff")),
    ("I finally sold the Volvo! Now I drive a Polestar 2.", ("me", "drives", "Polestar 2")),
    ("My son changed schools, he goes to Greenfield Academy now.", ("my son", "goes to", "Greenfield Academy")),
    ("my fav band is Radiohead", ("my favorite band", "name", "Radiohead")),  # a proper name: what the band is called
    ("my favourite band is called Radiohead", ("my favorite band", "name", "Radiohead")),
    ("my landlord is Mr. Dunne now", ("my landlord", "name", "Mr. Dunne")),
    ("ok so my landlord's name is Mr. Dunne", ("my landlord", "name", "Mr. Dunne")),
    ("changed my gamertag to DuskRunner99", ("my gamertag", "name", "DuskRunner99")),
    ("My gamertag is xDuskRunner.", ("my gamertag", "name", "xDuskRunner")),
    ("my son is Oliver", ("my son", "name", "Oliver")),
    ("my sister is Irish", ("my sister", "is", "Irish")),
    ("My son's pediatrician is Dr. Aguilar-Frost.", ("my son pediatrician", "name", "Dr. Aguilar-Frost")),
    ("my sons pediatrician is Dr. Banerjee", ("my son pediatrician", "name", "Dr. Banerjee")),
    ("ngl my cat is called Noodle and she's lowkey a menace", ("my cat", "name", "Noodle")),
])
def test_personal_facts_land_on_one_key_however_they_are_said(text, key):
    statement = parse_personal(text)
    assert (statement.subject, statement.relation, statement.object) == key


@pytest.mark.parametrize("question,key", [
    ("What is my dog called?", ("my dog", "name")), ("whats my dogs name", ("my dog", "name")),
    ("where do I live", ("me", "lives in")), ("Where does my sister live now?", ("my sister", "lives in")),
    ("what's my favourite band", ("my favorite band", "is")), ("which school does my son go to?", ("my son", "goes to")),
])
def test_questions_about_the_user_ask_the_same_keys(question, key):
    assert parse_personal_question(question) == key


def test_a_misspelt_or_plural_owner_is_the_same_owner():
    assert same_owner("my hamstr", "my hamsters") and same_owner("my dog", "my dogs")
    assert not same_owner("my dog", "my cat") and not same_owner("my son", "my sister")


def test_pronoun_statements_follow_the_topic_of_the_conversation():
    turn = classify_turn("her name is Juno, my kids voted for it", "Where is the Louvre?", "In Paris.", topic="my ferret")
    assert turn.type == "personal_fact" and turn.statement.subject == "my ferret" and turn.statement.object == "Juno"
    turn = classify_turn("she moved to Nice", "Where does my sister live?", "Your sister lives in Lyon.")
    assert turn.type == "personal_fact" and turn.content.startswith("My sister")


@pytest.mark.parametrize("text,kind", [
    ("please forget that now, my grandson says I shouldn't share so much", "forget"),
    ("I'd prefer you didn't keep my address", "forget"),
    ("can u delete my car info", "forget"),
    ("i take it back, forget my age", "forget"),
    ("don't forget that my son is 4", "personal_fact"),
    ("can you show the edit list", "command"),
    ("why did you tell me that?", "command"),
    ("I'd love to know who painted Guernica", "question"),
    ("capital of peru", "question"),
    ("I forgot where the Louvre is", "question"),
])
def test_forgets_commands_and_questions_in_their_many_forms(text, kind):
    assert classify_turn(text).type == kind
