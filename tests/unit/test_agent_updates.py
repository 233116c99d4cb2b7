"""Which stored personal facts a new statement updates when the pattern keys differ
(agent/updates.py): pure functions on plain fact records, so every rule is checked alone."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from editmind.agent.personal import parse_personal
from editmind.agent.updates import updated_facts


@dataclass
class F:
    text: str
    subject: str | None = None
    relation: str | None = None
    object: str | None = None
    status: str = "active"
    source: str = "personal"
    metadata: dict = field(default_factory=lambda: {"scope": "personal"})


def stored(text: str) -> F:
    s = parse_personal(text)
    return F(text, s.subject, s.relation, s.object) if s else F(text)


def updates(new: str, *old: str) -> list[str]:
    return [f.text for f in updated_facts(new, parse_personal(new), [stored(t) for t in old])]


@pytest.mark.parametrize("new, old", [
    ("We relocated the shop to Mercer Row last month.", "Our shop is on Tanner Street."),
    ("We moved again, we're in Castlecombe now.", "We live in Thornbury."),
    ("moved seats, my seat's in the Quarry End now", "My season ticket seat is in the Ferrier Stand."),
    ("Started a new job, I'm with Brightwater Freight.", "I work at Kestrel Logistics."),
])
def test_an_update_in_other_words_replaces_the_old_fact(new, old):
    assert updates(new, old) == [old]


def test_an_update_with_the_same_key_is_left_to_the_memory():
    new, old = "Actually my brother's moved again, he's in Harrogate now.", "What happened is my brother moved to Leeds last week."
    a, b = parse_personal(new), parse_personal(old)
    assert (a.subject, a.relation) == (b.subject, b.relation) == ("my brother", "lives in")  # the store supersedes by key
    assert updates(new, old) == []


@pytest.mark.parametrize("new, old", [
    ("We relocated the shop to Mercer Row.", "We live in Thornbury."),  # the shop moved, not the user
    ("My younger sister lives in York now.", "My older sister lives in Leeds."),  # two sisters
    ("My sister is a nurse now.", "My sister lives in Leeds."),  # another attribute of the same person
    ("I like rock now.", "I live in Porto."),  # about the user, another class
    ("I like rock now.", "I like jazz."),  # what a person likes is a list, not one value
    ("I've got a tortoise too, his name is Horace", "My cat is called Juniper."),  # another pet
    ("My shop is on Mill Lane.", "Our shop is on Tanner Street."),  # no sign that anything changed (kept both)
])
def test_a_different_thing_or_no_change_replaces_nothing(new, old):
    assert updates(new, old) == []


def test_naming_the_old_value_counts_as_a_change():
    assert updates("Farrow's gone, the landlord is Mr. Dunne", "My landlord is Mr. Farrow.") == ["My landlord is Mr. Farrow."]
    assert updates("the landlord is Mr. Dunne", "My landlord is Mr. Farrow.") == []  # maybe another landlord: both kept


def test_a_fact_with_the_same_key_is_left_to_the_memory():
    # memory supersedes by (subject, relation) itself; listing it here would supersede it twice
    assert updates("Saoirse left, our new drummer is Lucan", "Our drummer is called Saoirse.") == []


@pytest.mark.parametrize("new, old", [
    ("I switched teams, i'm on the Dunmore Foxes now.", "I play for the Harlow Hornets."),  # "the Hornets" is no thing of mine
    ("My sister switched to Ormond College.", "My sister studies at Penwick University."),  # verbs in -ed end the owner
    ("My granddaughter and her husband have since relocated to Thornbury Green.", "My granddaughter moved to Pellham Cross."),
    ("Dusty's gone to live on a farm, my dog's a heeler called Rusty now", "I've got a kelpie called Dusty."),  # a kelpie is a dog
    ("I got a new job, starting at Hexlow Labs monday.", "I work at Zentari, backend stuff."),
])
def test_updates_said_as_people_say_them(new, old):
    assert updates(new, old) == [old]


def test_a_breed_is_not_another_kind_of_pet():
    assert updates("my cat's a tabby called Mo now", "I've got a kelpie called Dusty.") == []
    assert updates("I'm on the Dunmore Foxes now.", "I live in Thornbury.") == []  # a team is not a home


def test_my_school_is_where_the_user_goes_to_school():
    """'my school's X' and 'switched schools, I'm at Y now' are the same attribute of the user."""
    assert updates("I changed schools, i'm at hollybank college now", "My school's Marsh Lane Academy.") == [
        "My school's Marsh Lane Academy."]
    assert updates("I changed schools, i'm at hollybank college now", "My sister's school is Marsh Lane Academy.") == []


def test_changing_a_plural_updates_the_users_one_of_them():
    assert updates("I changed vets this month, we see Dr Penn at Ashby Vets now", "Our vet at the moment is Dr Rowe.") == [
        "Our vet at the moment is Dr Rowe."]


def test_an_idiom_with_my_late_in_the_sentence_does_not_make_it_about_a_thing():
    assert updates("I've changed jobs, I now teach at Verrin College, for my sins",
                   "I teach at Saltmarsh University, for now.") == ["I teach at Saltmarsh University, for now."]
