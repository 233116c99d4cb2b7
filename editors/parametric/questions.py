"""Self-questions: the edit's own statement turned into a question by the base model.

People ask questions more than they complete sentences. A value optimised only after cloze
prompts ("The Eiffel Tower is located in") and the frame that wraps the same cloze in a
question ("Question: The Eiffel Tower is located in?\nAnswer:") moved the answer to a real
question much less than the cloze's: ROME's generalization (tf) on the dev edits stayed near
54 while reliability was near 98 (knowedit_quality_rome_packed_n100.json). So before an edit
is computed, the base model rewrites the statement as a question with two three-shot prompts
("Where is the Eiffel Tower located?"), and those questions become more contexts of the
optimisation and the update (keys.PARAPHRASE_FRAME), the same way a paraphrase the user gave
in `EditRequest.paraphrases` does.

The question English word order gives the template (grammar_questions.py) comes first:
the model's own are often good, but a 135M model also asks with the wrong word or about
something else, and for 16% of the dev statements wrote nothing usable. With it ROME's
generalization over the first 100 dev edits went 80.0 -> 93.2 tf
(knowedit_quality_rome_grammar_n100.json).

Only the edit's own prompt and subject go in; no evaluation data is read. A question is kept
only when it names the subject verbatim (the key is read at the subject's last token), ends
with "?", names the statement's relation (`asks_the_relation`), and the statement is a
likely answer to it (its round trip, `answer_scores`), so a question about another relation does not teach the
edit's answer to it; otherwise the edit goes on without.

The relation test came after the round trip: on the 112 distinct statements of the first 100
dev edits and 24 held-out ones (cases 200+), 44 of the 154 questions that passed the round
trip did not name the relation, and nearly all were wrong ("What is the capital of Serbia?"
for "Serbia is located in the continent of", "Which country is Spain?" for "The official
language of Spain is", "Who is the father of Ozzy Osbourne?" for "Ozzy Osbourne is married
to"); the few right ones it drops use a synonym ("nationality" for "citizen of").
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

import torch

from editmind.editors.base import EditRequest
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import pad_token_id, score_targets
from editmind.editors.parametric.grammar_questions import grammar_questions
from editmind.editors.parametric.keys import PARAPHRASE_FRAME, ContextConfig
from editmind.editors.parametric.stats import base_fingerprint

SHOTS = (
    # Simple, everyday relations in the shots: with rarer ones ("the programming language that
    # Guido van Rossum created") SmolLM2-135M wrote a usable question for 14 of 40 held-out
    # dev statements (cases 200-239, outside the evaluated ones), with these for 33.
    "Turn each statement into a question.\n"
    "Statement: The Eiffel Tower is located in\nQuestion: Where is the Eiffel Tower located?\n"
    "Statement: Barack Obama is married to\nQuestion: Who is Barack Obama married to?\n"
    "Statement: The official language of Peru is\nQuestion: What is the official language of Peru?\n"
    "Statement: {}\nQuestion:",
    # A second wording with other relations and question words ("Who founded", "Which
    # country"): a 135M model copies its shots' shape, so one set alone often wrote a question
    # about the shots' relations ("What is the official language of rugby union?" for "rugby
    # union was created in the country of") or none at all.
    "Rewrite each sentence start as the question it answers.\n"
    "Sentence: Apple was founded by\nQuestion: Who founded Apple?\n"
    "Sentence: Angela Merkel is a citizen of\nQuestion: Which country is Angela Merkel a citizen of?\n"
    "Sentence: The author of Hamlet is\nQuestion: Who is the author of Hamlet?\n"
    "Sentence: {}\nQuestion:",
)
# A question is kept when the statement is a likely answer to it: the mean log-probability of
# the statement's tokens after the question in the frame the question is trained in
# (keys.PARAPHRASE_FRAME, "Question: {q}\nAnswer:"), under the base model (the round trip).
# On held-out dev statements (cases 200-229) questions about another relation ("What is the
# capital of Singapore?" for "Singapore is located in the continent of", "Who is the author
# of Pauleta?") scored -2.5 to -3.2, the right ones mostly -0.3 to -2.3.
MIN_ROUND_TRIP = -2.5
MAX_QUESTIONS = 2
_CACHE: dict[tuple[str, str, str], tuple[tuple[float, str], ...]] = {}


def is_usable(question: str, subject: str) -> bool:
    return question.endswith("?") and subject in question and len(question) <= 300


# Words too common to say which relation a question asks about.
_FUNCTION_WORDS = frozenset(
    "that this with from which what where when whom whose were have does into their there about other "
    "than also been being some such".split()
)


def _long_words(text: str, subject: str) -> set[str]:
    """The text's words outside the subject, lower case, four letters or more."""
    return {w for w in re.findall(r"[a-z]+", text.replace(subject, " ").lower()) if len(w) >= 4}


def relation_words(statement: str, subject: str) -> set[str]:
    """The statement's content words outside the subject ("located", "continent" for
    "Serbia is located in the continent of"), lower case, four letters or more."""
    return _long_words(statement, subject) - _FUNCTION_WORDS


def asks_the_relation(question: str, statement: str, subject: str) -> bool:
    """Whether the question names the statement's relation: one of its words shares the first
    four letters of one of the relation's ("developer" for "developed", "citizenship" for
    "citizen"). A statement without such words (a bare "{} is a") passes. An irregular verb
    ("Who wrote X?" for "X was written by") fails: a good question lost, never a wrong one kept."""
    wanted = relation_words(statement, subject)
    if not wanted:
        return True
    asked = _long_words(question, subject)
    return any(a[:4] == w[:4] for a in asked for w in wanted) or bool(_acronyms(statement.replace(subject, " ")) & set(question.split()))


def _acronyms(text: str) -> set[str]:
    """Initials of every run of two to four words ("CEO" for "chief executive officer"),
    as a question may abbreviate the relation; with a trailing "?" or "'s" too."""
    words = re.findall(r"[A-Za-z]+", text)
    runs = {"".join(w[0] for w in words[i:i + n]).upper() for n in (2, 3, 4) for i in range(len(words) - n + 1)}
    return {r + tail for r in runs for tail in ("", "?", "'s")}


def answer_scores(model: LocalModel, questions: Sequence[str], answer: str) -> list[float]:
    """The mean log-probability of `answer` after each question (in keys.PARAPHRASE_FRAME),
    all in one batch. With the statement as the answer it is the question's round trip;
    with the subject's answer it tells "Who is the head coach of X?" from "What is ...",
    which the round trip cannot (the statement answers both equally well)."""
    if not questions:
        return []
    prompts = [PARAPHRASE_FRAME.format(paraphrase=q) for q in questions]
    return [s.mean_logprob for s in score_targets(model.model, model.tokenizer, prompts, [answer] * len(prompts))]


@torch.no_grad()
def candidate_questions(model: LocalModel, request: EditRequest, max_new_tokens: int = 32) -> tuple[tuple[float, str], ...]:
    """Every usable question the shot prompts give for the request's statement, with its round
    trip, best first. Greedy, so the same request always gets the same questions."""
    statement = request.rendered_prompt.strip()
    key = (base_fingerprint(model), statement, request.subject)
    if key not in _CACHE:
        written = [q for q in _generate(model, [shots.format(statement) for shots in SHOTS], max_new_tokens)
                   if is_usable(q, request.subject)]
        written = list(dict.fromkeys(written))
        _CACHE[key] = tuple(sorted(zip(answer_scores(model, written, statement), written), reverse=True))
    return _CACHE[key]


def _above_floor(model: LocalModel, request: EditRequest) -> list[tuple[str, bool]]:
    """(question, whether it names the relation) for each candidate above the round-trip floor, best first."""
    statement = request.rendered_prompt.strip()
    return [(q, asks_the_relation(q, statement, request.subject))
            for score, q in candidate_questions(model, request) if score >= MIN_ROUND_TRIP]


def grammar_question(model: LocalModel, request: EditRequest) -> str | None:
    """The question grammar_questions writes for the request's template; None when the
    template is in no shape the rules know. A "Which <kind>" form names the answer's kind and
    is taken as it is; between "What" and "Who" the model decides by how well each fits the
    subject's true answer (`target_true`, else the new one). On the counterfactual targets
    of the dev edits the new answer alone chose "Who is the capital of Germany?" for
    "Marcapata" and "What is the company that produced Ford Thunderbird?" over "Which
    company produced Ford Thunderbird?"."""
    written = [q for q in grammar_questions(request.prompt, request.subject) if is_usable(q, request.subject)]
    which = [q for q in written if q.startswith("Which ")]
    if which or len(written) <= 1:
        return (which or written or [None])[0]
    fits = answer_scores(model, written, request.target_true or request.target_new)
    return max(zip(fits, written))[1]


def self_questions(model: LocalModel, request: EditRequest, name_relation: bool = True, grammar: bool = True,
                   model_written: int = MAX_QUESTIONS) -> tuple[str, ...]:
    """The questions an edit trains on: with `grammar`, the one the rules write from the
    template (grammar_question) first; then at most `model_written` of the model's own, above
    the round-trip floor and, with `name_relation`, naming the statement's relation, best
    first (none asked for: the model writes nothing)."""
    written = ()
    if model_written > 0:
        written = tuple(q for q, names in _above_floor(model, request) if names or not name_relation)[:model_written]
    ruled = grammar_question(model, request) if grammar else None
    return tuple(dict.fromkeys(((ruled,) if ruled else ()) + written))


def other_relation_questions(model: LocalModel, request: EditRequest) -> tuple[str, ...]:
    """The questions above the floor that `asks_the_relation` turns away: what an edit would
    have learnt to answer with its target without that test (benchmarks' stage `questions`)."""
    return tuple(q for q, names in _above_floor(model, request) if not names)


def _generate(model: LocalModel, prompts: Sequence[str], max_new_tokens: int) -> list[str]:
    """Each prompt's greedy first line, all prompts in one left-padded batch: decoding is
    bound by the per-step latency on a CPU, and batched the two shot sets took 1.60 s per
    statement against 1.84 one after another (the same questions for 112 dev statements)."""
    tokenizer = model.tokenizer
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    try:
        batch = tokenizer(list(prompts), return_tensors="pt", padding=True).to(model.device)
    finally:
        tokenizer.padding_side = side
    if batch["input_ids"].shape[1] + max_new_tokens > _positions(model):
        return []  # a model with a short context (the tiny test models) goes without
    output = model.model.generate(**batch, do_sample=False, max_new_tokens=max_new_tokens,
                                  pad_token_id=pad_token_id(tokenizer), stop_strings=["\n"], tokenizer=tokenizer)
    new = output[:, batch["input_ids"].shape[1]:]
    return [tokenizer.decode(row, skip_special_tokens=True).split("\n")[0].strip() for row in new]


def _positions(model: LocalModel) -> int:
    config = model.model.config
    return int(getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None) or 2048)


def with_self_questions(model: LocalModel, requests: Sequence[EditRequest], config: ContextConfig | None = None) -> list[EditRequest]:
    """Each request that has no paraphrases gets its self-questions as paraphrases, as
    `config` asks for them (ContextConfig's question fields)."""
    config = config or ContextConfig()
    done = []
    for request in requests:
        questions = () if request.paraphrases else self_questions(
            model, request, config.questions_name_relation, config.grammar_questions, config.model_questions)
        done.append(replace(request, paraphrases=questions) if questions else request)
    return done
