"""The user's people by name (agent/personal.py: people_by_name, with_known_names,
with_own_roles): once "my son's called Callum" is stored, "Callum's coach" is the son's coach
and "the new coach" is the only coach the user has spoken of."""

from __future__ import annotations

from dataclasses import dataclass

from editmind.agent.personal import people_by_name, with_known_names, with_own_roles


@dataclass
class F:
    subject: str | None
    relation: str | None
    object: str | None


FACTS = [F("my son", "name", "Callum"), F("my granddaughter", "name", "Evangeline Ward"), F("my son coach", "name", "Gregor Balfe"),
         F("Paris", "{} is the capital of", "France")]


def test_names_map_to_the_owned_noun_and_roles_are_not_people():
    people = people_by_name(FACTS)
    assert people["callum"] == "my son" and people["evangeline"] == "my granddaughter"
    assert "gregor" not in people  # the coach's name is a value of "my son coach", not one of the user's people
    assert "france" not in people


def test_two_people_with_one_name_are_left_alone():
    assert people_by_name([F("my son", "name", "Sam"), F("my dog", "name", "Sam")]) == {}


def test_a_possessive_or_a_partner_is_rewritten_but_what_became_of_someone_is_not():
    people = {"callum": "my son", "dusty": "my kelpie", "evangeline": "my granddaughter"}
    assert with_known_names("Callum's coach is Gregor Balfe.", people) == "my son's coach is Gregor Balfe."
    assert with_known_names("Who's callum's coach now?", people) == "Who's my son's coach now?"
    assert with_known_names("Evangeline and her husband moved to Leeds", people) == "my granddaughter and her husband moved to Leeds"
    assert with_known_names("Dusty's gone to live on a farm", people) == "Dusty's gone to live on a farm"
    assert with_known_names("Callum Turner's new film is out", {"callum": "my son"}) == "Callum Turner's new film is out"


def test_the_new_role_belongs_to_its_only_owner():
    assert with_own_roles("Gregor left, the new coach is Fiona.", FACTS) == "Gregor left, my son's new coach is Fiona."
    two = FACTS + [F("my daughter coach", "name", "Ann Lee")]
    assert with_own_roles("the new coach is Fiona.", two) == "the new coach is Fiona."  # whose? left as said


def test_a_known_name_as_subject_or_asked_about_is_the_users_person():
    people = {"ileana": "my wife", "rosalind": "my granddaughter"}
    assert with_known_names("Ileana is working in the Santor hospital.", people) == "my wife is working in the Santor hospital."
    assert with_known_names("Rosalind's at Bellmoor now", people) == "my granddaughter is at Bellmoor now"
    assert with_known_names("Where does Rosalind study?", people) == "Where does my granddaughter study?"
    assert with_known_names("Ileana is called Ila by friends", people) == "Ileana is called Ila by friends"  # a name statement


def test_she_and_he_pick_the_recent_topic_of_their_gender():
    from editmind.agent.personal import topic_for_pronoun

    topics = ["my daughter", "my husband"]
    assert topic_for_pronoun("she's at Kinley Park school now", topics) == "my daughter"
    assert topic_for_pronoun("he moved to Leeds", topics) == "my husband"
    assert topic_for_pronoun("it is red", ["my car"]) == "my car"
    assert topic_for_pronoun("she is 3", ["my dog"]) == "my dog"  # no gender known: the newest


def test_a_known_name_anywhere_in_a_question_is_the_users_person():
    from editmind.agent.personal import parse_personal_question, with_known_names

    asked = with_known_names("which school is Mira at?", {"mira": "my niece"})
    assert asked == "which school is my niece at?" and parse_personal_question(asked) == ("my niece", "goes to")
    assert with_known_names("Mira's school is great", {"mira": "my niece"}) == "my niece's school is great"
