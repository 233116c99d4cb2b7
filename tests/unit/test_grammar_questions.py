"""Questions written from a statement template by word-order rules (no model)."""

import pytest

from editmind.editors.base import EditRequest
from editmind.editors.model.testing import tiny_model
from editmind.editors.parametric import questions
from editmind.editors.parametric.grammar_questions import grammar_questions


@pytest.mark.parametrize("template, subject, written", [
    ("The capital of {} is", "Germany", ["What is the capital of Germany?", "Who is the capital of Germany?"]),
    ("The company that produced {} is", "Ford GT",
     ["Which company produced Ford GT?", "What is the company that produced Ford GT?", "Who is the company that produced Ford GT?"]),
    ("{}'s child is", "Wilma", ["What is Wilma's child?", "Who is Wilma's child?"]),
    ("{} is located in the continent of", "India", ["Which continent is India located in?"]),
    ("{} was created in the country of", "rugby union", ["Which country was rugby union created in?"]),
    ("{} is associated with the sport of", "Frank Lampard", ["Which sport is Frank Lampard associated with?"]),
    ("{} was founded by", "SpaceX", ["What was SpaceX founded by?", "Who was SpaceX founded by?"]),
    ("The headquarters of {} is located in the city of", "Cambridge University",
     ["Which city is the headquarters of Cambridge University located in?"]),
    ("{} plays the position of", "Alberto Aquilani", ["Which position does Alberto Aquilani play?"]),
    ("{} works in the field of", "Carl Sagan", ["Which field does Carl Sagan work in?"]),
    ("{} teaches at", "Ada", ["What does Ada teach at?", "Who does Ada teach at?"]),
    # shapes the rules do not know, or with no relation to ask about: nothing
    ("{} died in the city of", "Brian Epstein", []),
    ("{} is a", "Apple", []),
    ("The Eiffel Tower is in {}", "Paris", []),
    ("no slot here", "Paris", []),
])
def test_grammar_questions(template, subject, written):
    assert grammar_questions(template, subject) == written


def test_the_grammar_question_is_the_form_that_fits_the_answer_and_comes_first(monkeypatch):
    model = tiny_model("qwen2")
    request = EditRequest(subject="Atlético Madrid", prompt="The head coach of {} is", target_new="Frank Lampard")
    fits = {"What is the head coach of Atlético Madrid?": -4.0, "Who is the head coach of Atlético Madrid?": -1.0}
    monkeypatch.setattr(questions, "answer_scores", lambda model, asked, answer: [fits[q] for q in asked])
    monkeypatch.setattr(questions, "_above_floor", lambda model, request: [
        ("Who is the head coach of Atlético Madrid?", True), ("Who manages Atlético Madrid?", True)])
    assert questions.grammar_question(model, request) == "Who is the head coach of Atlético Madrid?"
    # the model wrote the same question: it is asked once
    assert questions.self_questions(model, request) == ("Who is the head coach of Atlético Madrid?", "Who manages Atlético Madrid?")
    assert questions.self_questions(model, request, grammar=False) == (
        "Who is the head coach of Atlético Madrid?", "Who manages Atlético Madrid?")
    assert questions.self_questions(model, request, model_written=1) == ("Who is the head coach of Atlético Madrid?",)
    monkeypatch.setattr(questions, "_above_floor", lambda model, request: pytest.fail("the model writes nothing"))
    assert questions.self_questions(model, request, model_written=0) == ("Who is the head coach of Atlético Madrid?",)
    from editmind.editors.parametric.keys import ContextConfig

    done = questions.with_self_questions(model, [request], ContextConfig(model_questions=0))
    assert done[0].paraphrases == ("Who is the head coach of Atlético Madrid?",)
    assert questions.with_self_questions(model, [request], ContextConfig(model_questions=0, grammar_questions=False)) == [request]
    # the subject's true answer decides when the request names it
    told = []
    monkeypatch.setattr(questions, "answer_scores", lambda model, asked, answer: told.append(answer) or [fits[q] for q in asked])
    questions.grammar_question(model, EditRequest(subject="Atlético Madrid", prompt="The head coach of {} is",
                                                  target_new="Frank Lampard", target_true="Diego Simeone"))
    assert told == ["Diego Simeone"]
    # a "Which <kind>" form names the answer's kind: taken without asking the model
    monkeypatch.setattr(questions, "answer_scores", lambda *args: pytest.fail("no fit needed"))
    produced = EditRequest(subject="Ford GT", prompt="The company that produced {} is", target_new="Toyota")
    assert questions.grammar_question(model, produced) == "Which company produced Ford GT?"
    unknown = EditRequest(subject="Brian Epstein", prompt="{} died in the city of", target_new="Rome")
    assert questions.grammar_question(model, unknown) is None


def test_answer_fit_is_the_answers_mean_log_probability_after_the_question():
    from editmind.editors.model.scoring import score_targets
    from editmind.editors.parametric.keys import PARAPHRASE_FRAME

    model = tiny_model("llama")
    asked = ["Who is the head coach of Atlético Madrid?", "What is the head coach of Atlético Madrid?"]
    fits = questions.answer_scores(model, asked, "Frank Lampard")
    alone = [score_targets(model.model, model.tokenizer, [PARAPHRASE_FRAME.format(paraphrase=q)], ["Frank Lampard"])[0].mean_logprob
             for q in asked]
    assert fits == pytest.approx(alone, abs=1e-4) and fits[0] != fits[1]
    assert questions.answer_scores(model, [], "x") == []
