"""Writes turns.jsonl: the hand-written, labelled utterances the turn classifier is judged on.

Every line below was written by hand as something a person might type to the agent
(phrasings, typos, negations, questions that look like statements and statements that look
like questions); a few short corrections are repeated across several conversation contexts.
The classifier's rules were NOT used to produce or filter these labels. Labels follow the
turn types documented in `agent/turns.py`:

  question       asks for information (including "tell me...", "I wonder where...")
  personal_fact  states a fact about the user or the user's own people/things/life
  correction     says the agent's last answer (or a world fact) is wrong / has changed
  forget         asks the agent to forget / delete something it was told
  command        drives the agent itself (slash commands, undo, list edits, make permanent)

Run: python benchmarks/data/make_turns.py  (rewrites benchmarks/data/turns.jsonl)
"""

from __future__ import annotations

import json
from pathlib import Path

EIFFEL = {"last_question": "Where is the Eiffel Tower?", "last_answer": "The Eiffel Tower is located in Paris, France."}
CEO = {"last_question": "Who is the CEO of Twitter?", "last_answer": "The CEO of Twitter is Elon Musk."}
HAMLET = {"last_question": "Who wrote Hamlet?", "last_answer": "Hamlet was written by William Shakespeare."}
CAPITAL = {"last_question": "What is the capital of Australia?", "last_answer": "The capital of Australia is Sydney."}
SPEAK = {"last_question": "What language does Danielle Darrieux speak?", "last_answer": "Danielle Darrieux speaks French."}
APPLE = {"last_question": "Who founded Apple?", "last_answer": "Apple was founded by Bill Gates."}
SISTER = {"last_question": "Where does my sister live?", "last_answer": "Your sister lives in Lyon."}
HOME = {"last_question": "Where do I live?", "last_answer": "You live in Berlin."}

QUESTIONS = [
    "Where is the Eiffel Tower?", "What is the capital of France?", "Who wrote Hamlet?",
    "When was the Berlin Wall torn down?", "Which language do they speak in Brazil?", "How tall is Mount Everest?",
    "Who is the CEO of Apple?", "What's the capital of Italy?", "Whats the largest planet", "who painted the mona lisa",
    "where does my sister live?", "What is my dog's name?", "Do you know where the Louvre is?",
    "Can you tell me who founded Microsoft?", "Is Berlin the capital of Germany?", "Is the Eiffel Tower in Rome?",
    "Are tomatoes fruits?", "Tell me the capital of Spain.", "Tell me who wrote War and Peace",
    "I wonder where the Colosseum is.", "I'd like to know who the president of France is.",
    "I want to know the capital of Japan", "Name the author of Pride and Prejudice.",
    "What country is the Eiffel Tower in?", "In which city is the Eiffel Tower located?", "The capital of Canada is?",
    "The Eiffel Tower is in which city?", "Eiffel Tower location?", "Where do I live?",
    "What did I tell you about my sister?", "Who is my manager?", "what is the capital of australia",
    "waht is the capital of france?", "wher is the eiffel tower", "who wrote hamlet??", "Explain what a black hole is.",
    "Describe the Great Wall of China.", "How many legs does a spider have?", "Why is the sky blue?",
    "Could you tell me where Big Ben is?", "Any idea who invented the telephone?",
    "Remind me, where does my brother work?", "My sister lives where again?", "So the Eiffel Tower is in Rome?",
    "Isn't Paris the capital of France?", "Didn't Shakespeare write Hamlet?", "Where is the Eiffel Tower now?",
    "Who is the current CEO of Twitter?", "What do you know about the Eiffel Tower?", "And the Colosseum?",
    "What about Germany?", "How old is the universe?", "Which team won the 2018 World Cup?",
    "What language does Danielle Darrieux speak?", "Who founded Apple?",
    "What is the capital city of the country where the Eiffel Tower is?",
    "In which country is the city where the Eiffel Tower is located?",
    "What's the currency of the country whose capital is Rome?", "Is it true that the Eiffel Tower is in Rome?",
    "Is my sister living in Lyon?", "Where's the nearest star?", "Can you remind me what my address is?",
    "What's my favourite colour?", "What is 2 plus 2?", "Translate 'hello' into French.",
    "Summarize the plot of Hamlet.", "Who is the author of 1984?", "Do you remember my birthday?",
    "Does my sister live in Lyon?", "Where was Einstein born?", "Who discovered penicillin?",
    "How far is the Moon from Earth?", "Name three rivers in Europe", "What is the tallest building in the world",
    "Who's the prime minister of the UK?", "I forgot my password, what should I do?",
    "I'm curious which river runs through Vienna.", "Wondering who the mayor of Paris is",
    "Which city hosts the Louvre museum", "hey, where's the colosseum", "Who directed Inception?",
    "What year did World War II end?", "Where is the Eiffel Tower located, Paris or Rome?",
    "Is it Rome or Paris?", "Are you sure?", "Really?", "What's the weather like in Lyon usually?",
    "How do I get to the Eiffel Tower from the Louvre?", "whos the ceo of twitter",
]

PERSONAL = [
    "My sister lives in Lyon.", "I live in Berlin.", "My name is Alice.", "My dog's name is Rex.", "I work at Siemens.",
    "My favourite colour is green.", "My birthday is on March 3rd.", "I'm allergic to peanuts.",
    "My brother works as a nurse in Madrid.", "My manager is Tom Becker.", "Our office is in Zurich.",
    "We moved to Lisbon last year.", "I was born in Toronto.", "My wife's name is Maria.", "my address is 12 Baker Street",
    "I have two cats.", "My phone number is 555-0192.", "I don't eat meat.",
    "I don't live in Berlin anymore, I live in Hamburg now.", "My sister doesn't live in Lyon anymore; she moved to Nice.",
    "My mother is a teacher.", "I speak Spanish and German.", "My car is a blue Toyota.", "I'm 34 years old.",
    "my son goes to Lincoln High School", "Im a software engineer", "I prefer tea over coffee.",
    "My daughter's name is Emma.", "My flight leaves on Friday.", "Our team uses Python.", "I am vegetarian.",
    "My email is alice@example.com.", "My best friend is called Jonas.", "My favorite movie is Inception.",
    "I usually wake up at 6.", "I drive a Tesla.", "FYI, my sister lives in Lyon.", "Just so you know, I moved to Oslo.",
    "For the record, my dog is called Bella.", "By the way, my brother lives in Cairo.",
    "Note that my company is called Acme.", "I live in Berlin, not Munich.", "Remember that my sister lives in Lyon.",
    "Please remember my wife's birthday is June 5.", "My sister's husband is a doctor.",
    "My grandparents live in Krakow.", "I support Arsenal.", "My landlord is Mr. Smith.",
    "I studied physics at Heidelberg.", "My cat is afraid of water.", "We have a meeting every Monday.",
    "My favourite food is sushi.", "I am not married.", "I never drink coffee.", "My sistr lives in Lyon",
    "my adress is 5 Elm Road", "I've been living in Vienna since 2019.", "My boss's name is Karen.", "I'm from Ireland.",
    "My kid is in third grade.", "my partner works at the hospital", "My hometown is Porto.",
    "Don't forget that my sister lives in Lyon.", "Never forget: my dog is Rex.", "Keep in mind that I'm diabetic.",
    "Me and my wife live in Ghent.", "my dentist is dr. jones", "I got a new job at Google.",
]
PERSONAL_IN_CONTEXT = [
    ("No, I live in Hamburg.", HOME), ("Actually, my sister lives in Marseille.", SISTER),
    ("Wrong, she lives in Nice now.", SISTER), ("Not anymore, I moved to Munich.", HOME),
    ("That's outdated, I live in Paris now.", HOME), ("no, my sister moved to Lille", SISTER),
]

C = []  # (text, context, expected) for corrections
for text in ["No, it's Rome.", "No, it's in Rome now.", "Actually, it's Rome.", "Wrong, it's Rome.",
             "That's wrong, it is in Rome.", "Nope, Rome.", "no its rome", "Not Paris, Rome.",
             "It's not Paris, it's Rome.", "Incorrect, the answer is Rome.", "You're wrong, it's in Rome.",
             "That is not right. It's Rome.", "I think you're wrong, it's Rome.", "I'm pretty sure it's Rome.",
             "No no no, Rome!", "ROME, not Paris.", "Actually, it's been moved to Rome.", "Hmm, no, it is in Rome.",
             "Thats wrong its rome", "wrong answer, rome", "That's incorrect. The right answer is Rome.",
             "You got it wrong: Rome.", "It is Rome, actually.", "Rome, actually.", "The answer should be Rome.",
             "It should be Rome.", "Not true, it's in Rome.", "Nah, Rome."]:
    C.append((text, EIFFEL, {"subject": "Eiffel Tower", "target_new": "Rome", "target_true": "Paris"}))
for text in ["No. The Eiffel Tower is in Rome now.", "Actually the Eiffel Tower is located in Rome.",
             "That's outdated: the Eiffel Tower was moved to Rome.",
             "No, the Eiffel Tower isn't in Paris any more, it's in Rome.",
             "The Eiffel Tower is no longer in Paris; it is in Rome."]:
    C.append((text, EIFFEL, {"subject": "Eiffel Tower", "target_new": "Rome", "target_true": "Paris"}))
for text in ["Actually the CEO is Linda Yaccarino.", "No, it's Linda Yaccarino.", "Wrong, Linda Yaccarino is the CEO now.",
             "Not Elon Musk, Linda Yaccarino.", "That changed, the CEO of Twitter is Linda Yaccarino.",
             "no its linda yaccarino"]:
    C.append((text, CEO, {"subject": "Twitter", "target_new": "Linda Yaccarino", "target_true": "Elon Musk"}))
for text in ["Wrong — Hamlet was written by Marlowe.", "No, it was Christopher Marlowe.", "Actually, Marlowe wrote it.",
             "That's not right, it's Christopher Marlowe."]:
    C.append((text, HAMLET, {"subject": "Hamlet", "target_new": None, "target_true": "William Shakespeare"}))
for text in ["Nah, the capital of Australia is Canberra.", "It's Canberra, not Sydney.", "No, Canberra.",
             "Incorrect: it's Canberra.", "Sydney is wrong, it is Canberra."]:
    C.append((text, CAPITAL, {"subject": "Australia", "target_new": "Canberra", "target_true": "Sydney"}))
for text in ["No, Danielle Darrieux speaks English.", "Actually she speaks English.", "Wrong, English."]:
    C.append((text, SPEAK, {"subject": "Danielle Darrieux", "target_new": "English", "target_true": "French"}))
for text in ["No, Apple was founded by Steve Jobs.", "Not Bill Gates, Steve Jobs.", "That's wrong, it was Steve Jobs."]:
    C.append((text, APPLE, {"subject": "Apple", "target_new": "Steve Jobs", "target_true": "Bill Gates"}))
for text, expected in [
    ("The Eiffel Tower is in Rome now.", {"subject": "Eiffel Tower", "target_new": "Rome"}),
    ("Hamlet was actually written by Marlowe.", {"subject": "Hamlet", "target_new": "Marlowe"}),
    ("FYI the CEO of Twitter is now Linda Yaccarino.", {"subject": "Twitter", "target_new": "Linda Yaccarino"}),
    ("Correction: the capital of Germany is Bonn.", {"subject": "Germany", "target_new": "Bonn"}),
    ("Update: the Eiffel Tower is now in Rome.", {"subject": "Eiffel Tower", "target_new": "Rome"}),
    ("Mistake: the Louvre is in Lyon.", {"subject": "Louvre", "target_new": "Lyon"}),
    ("Not quite — the Colosseum is in Milan.", {"subject": "Colosseum", "target_new": "Milan"}),
    ("I believe the capital of France is Lyon now.", {"subject": "France", "target_new": "Lyon"}),
    ("Apple's CEO is Tim Cook, not Steve Jobs.", {"target_new": "Tim Cook"}),
    ("Microsoft was founded by Bill Gates, not Steve Jobs.", {"subject": "Microsoft", "target_new": "Bill Gates"}),
    ("The Eiffel Tower has moved to Rome.", {"subject": "Eiffel Tower", "target_new": "Rome"}),
    ("the eifel tower is in rome now", {"target_new": "rome"}),
    ("The CEO of Apple is no longer Tim Cook, it's John Ternus.", {"subject": "Apple", "target_new": "John Ternus"}),
    ("Big Ben is in Dublin now, not London.", {"subject": "Big Ben", "target_new": "Dublin"}),
    ("The president of France is now Gabriel Attal.", {"subject": "France", "target_new": "Gabriel Attal"}),
    ("Shakespeare's birthplace is now considered to be London.", {}),
    ("Remember: the Eiffel Tower is in Rome now.", {"subject": "Eiffel Tower", "target_new": "Rome"}),
    ("Danielle Darrieux actually speaks English.", {"subject": "Danielle Darrieux", "target_new": "English"}),
    ("The capital of Australia is Canberra, not Sydney.", {"subject": "Australia", "target_new": "Canberra"}),
    ("Actually, the Colosseum is located in Naples.", {"subject": "Colosseum", "target_new": "Naples"}),
    ("That's not correct; the Louvre is in Lyon these days.", {"subject": "Louvre", "target_new": "Lyon"}),
]:
    C.append((text, None, expected))

FORGET = [
    "Forget my address.", "Please forget that my sister lives in Lyon.", "forget what I told you about my sister",
    "Delete my phone number.", "Erase everything you know about me.", "Remove my email address from your memory.",
    "Don't remember my birthday.", "Stop remembering where I live.", "Forget it.", "Forget that.", "forgt my address",
    "Please delete the fact about my dog.", "Can you forget my address?", "Could you please delete my phone number?",
    "I want you to forget my address.", "I'd like you to erase my email.", "Wipe my personal data.",
    "Forget the correction about the Eiffel Tower.", "Forget that the Eiffel Tower is in Rome.", "Unlearn my address.",
    "Scrub my phone number from memory.", "Don't keep my address.", "Drop what I said about my brother.",
    "Remove the fact that I live in Berlin.", "Delete everything about my sister.", "Clear my memory.",
    "Forget everything I told you.", "Please forget my wife's name", "Forget about my flight.", "forget my adress pls",
    "Erase my birthday from your memory.", "Don't store my phone number.", "I don't want you to remember my address.",
    "Please erase what you know about my health.", "Can you delete my home address from your memory?",
    "Get rid of my phone number.", "Remove everything about my job.", "You should forget my date of birth.",
    "Forget where I work.", "Delete the note about my allergy.", "Please don't remember that I live in Berlin.",
    "Wipe what I told you about my wife.", "Erase my name.", "pls forget my email", "Purge my data.",
    "Remove my address.", "Delete what I said about my manager.", "Forget my sister's address, please.",
]

COMMANDS = [
    "/edits", "/undo 3f2a", "/why", "/user bob", "/remember my sister lives in Lyon", "/forget my address", "/help",
    "Remember this permanently.", "Make that permanent.", "Please remember this permanently",
    "Store this in the model permanently.", "Undo the last edit.", "Undo edit 4b1c.", "Show my edits.",
    "List all edits.", "Why did you say that?", "Switch to user bob.", "Switch user to carol", "Reset the conversation.",
    "Start over.", "quit", "exit", "help", "Revert the last change.", "Roll back edit 12.",
    "Commit this to your weights.", "Save that permanently.", "Remember that forever.", "Keep this permanently",
    "Make the Eiffel Tower correction permanent.", "Show the trace.", "Show me the facts you used.",
    "remeber this permanently", "Remember this for good.", "Write this into the model.", "Undo that edit.",
    "undo", "List my edits please", "Show me the edit history.", "Make it permanent please.",
    "Permanently remember that.", "Burn this into your weights.", "/user alice", "/undo e-17", "Undo.",
]

ROWS = (
    [{"text": t, "label": "question"} for t in QUESTIONS]
    + [{"text": t, "label": "personal_fact"} for t in PERSONAL]
    + [{"text": t, "label": "personal_fact", "context": ctx} for t, ctx in PERSONAL_IN_CONTEXT]
    + [{"text": t, "label": "correction", **({"context": ctx} if ctx else {}), "expected": exp} for t, ctx, exp in C]
    + [{"text": t, "label": "forget"} for t in FORGET]
    + [{"text": t, "label": "command"} for t in COMMANDS]
)

# Written AFTER the classifier was frozen and never used to tune it: an honest estimate of
# how the rules do on phrasings their author did not see while writing them.
TOKYO = {"last_question": "What is the capital of Japan?", "last_answer": "The capital of Japan is Tokyo."}
HELDOUT = (
    [{"text": t, "label": "question"} for t in [
        "Who runs Tesla these days?", "capital of peru", "Any clue where the Taj Mahal is", "where my brother works?",
        "Could it be that Rome is in Spain?", "Which is bigger, Lyon or Nice?", "Who was the first man on the moon",
        "Got any idea who painted Guernica?", "What do you think the capital of Japan is", "i need the population of Tokyo",
        "Where was I born?", "whos my manager", "Give me the name of Apple's CEO.", "Is Rome really in Italy",
        "Please tell me what my email address is.", "How come the Eiffel Tower is in Paris?",
    ]]
    + [{"text": t, "label": "personal_fact"} for t in [
        "I just moved to Dublin.", "Our cat is called Mittens.", "My sister is a lawyer in Geneva.",
        "I'm working at Airbus now.", "My favourite band is Radiohead", "we live in a small flat in Rome",
        "Me and my brother share a car.", "I can't eat gluten.", "Mine is the red bike.", "my sons name is leo",
        "Heads up: my flight got moved to Monday.", "Just FYI my wife works at IKEA.", "I am not a morning person.",
        "Remember, my anniversary is on May 2nd.",
    ]]
    + [{"text": t, "label": "correction", "context": ctx, "expected": exp} for t, ctx, exp in [
        ("No, Kyoto.", TOKYO, {"subject": "Japan", "target_new": "Kyoto", "target_true": "Tokyo"}),
        ("Wrong! It's Kyoto now.", TOKYO, {"subject": "Japan", "target_new": "Kyoto", "target_true": "Tokyo"}),
        ("Umm, that's false, Kyoto is the capital.", TOKYO, {"subject": "Japan", "target_new": "Kyoto"}),
        ("You made a mistake, it's Kyoto.", TOKYO, {"target_new": "Kyoto"}),
        ("Not Tokyo but Kyoto.", TOKYO, {"target_new": "Kyoto", "target_true": "Tokyo"}),
        ("Kyoto, not Tokyo.", TOKYO, {"target_new": "Kyoto", "target_true": "Tokyo"}),
        ("Sorry, but it's Rome now.", EIFFEL, {"subject": "Eiffel Tower", "target_new": "Rome"}),
        ("Outdated info, it's in Rome.", EIFFEL, {"subject": "Eiffel Tower", "target_new": "Rome"}),
        ("Negative, Rome.", EIFFEL, {"target_new": "Rome"}),
        ("Elon left, the CEO is Linda Yaccarino.", CEO, {"target_new": "Linda Yaccarino"}),
    ]]
    + [{"text": t, "label": "correction"} for t in [
        "The Eiffel Tower now stands in Rome.", "Tokyo is no longer the capital of Japan; Kyoto is.",
        "The Mona Lisa was painted by Raphael.", "Twitter's CEO is Linda Yaccarino.", "Canberra is the capital of Australia.",
        "The Louvre relocated to Lyon.", "Hamlet's author is Christopher Marlowe.",
    ]]
    + [{"text": t, "label": "forget"} for t in [
        "Forget I said that.", "Please wipe everything about my sister", "Can u forget my number", "Erase that fact.",
        "Delete my data please.", "I'd rather you didn't remember my address.", "Stop storing my location.",
        "Take my address out of your memory.", "Remove what you know about my job, please", "unlearn that",
    ]]
    + [{"text": t, "label": "command"} for t in [
        "/edits please", "Undo my last correction.", "Show edits", "Please undo edit 7a9c", "Switch to alice",
        "Make this change permanent.", "Lock that in permanently.", "Why that answer?", "List the edits in effect.",
        "Start a new conversation.",
    ]]
)

if __name__ == "__main__":
    heldout = Path(__file__).with_name("turns_heldout.jsonl")
    with heldout.open("w", encoding="utf-8") as handle:
        for row in HELDOUT:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(HELDOUT)} held-out utterances to {heldout}")
    out = Path(__file__).with_name("turns.jsonl")
    with out.open("w", encoding="utf-8") as handle:
        for row in ROWS:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for row in ROWS:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    print(f"wrote {len(ROWS)} utterances to {out}: {counts}")
