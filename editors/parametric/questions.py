"""Self-questions: the edit's own statement turned into a question by the base model.

People ask questions more than they complete sentences. A value optimised only after cloze
prompts ("The Eiffel Tower is located in") and the frame that wraps the same cloze in a
question ("Question: The Eiffel Tower is located in?\nAnswer:") moved the answer to a real
question much less than the cloze's: ROME's generalization (tf) on the dev edits stayed near
54 while reliability was near 98 (knowedit_quality_rome_packed_n100.json). So before an edit
is computed, the base model rewrites the statement as a question with a three-shot prompt
("Where is the Eiffel Tower located?"), and that question becomes one more context of the
optimisation and the update (keys.PARAPHRASE_FRAME), the same way a paraphrase the user gave
in `EditRequest.paraphrases` does.

Only the edit's own prompt and subject go in; no evaluation data is read. A question is kept
only when it names the subject verbatim (the key is read at the subject's last token) and
ends with "?"; otherwise the edit goes on without one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import torch

from editmind.editors.base import EditRequest
from editmind.editors.model.local_model import LocalModel
from editmind.editors.model.scoring import pad_token_id
from editmind.editors.parametric.stats import base_fingerprint

SHOTS = (
    # Simple, everyday relations in the shots: with rarer ones ("the programming language that
    # Guido van Rossum created") SmolLM2-135M wrote a usable question for 14 of 40 held-out
    # dev statements (cases 200-239, outside the evaluated ones), with these for 33.
    "Turn each statement into a question.\n"
    "Statement: The Eiffel Tower is located in\nQuestion: Where is the Eiffel Tower located?\n"
    "Statement: Barack Obama is married to\nQuestion: Who is Barack Obama married to?\n"
    "Statement: The official language of Peru is\nQuestion: What is the official language of Peru?\n"
)
_CACHE: dict[tuple[str, str, str], str | None] = {}


def is_usable(question: str, subject: str) -> bool:
    return question.endswith("?") and subject in question and len(question) <= 300


@torch.no_grad()
def self_question(model: LocalModel, request: EditRequest, max_new_tokens: int = 32) -> str | None:
    """The base model's question for the request's statement, or None when it gave no usable one.
    Greedy, so the same request always gets the same question."""
    statement = request.rendered_prompt.strip()
    key = (base_fingerprint(model), statement, request.subject)
    if key not in _CACHE:
        tokenizer = model.tokenizer
        ids = tokenizer(SHOTS + f"Statement: {statement}\nQuestion:", return_tensors="pt")["input_ids"].to(model.device)
        if ids.shape[1] + max_new_tokens > _positions(model):
            return None  # a model with a short context (the tiny test models) goes without
        output = model.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                      max_new_tokens=max_new_tokens, pad_token_id=pad_token_id(tokenizer),
                                      stop_strings=["\n"], tokenizer=tokenizer)
        question = tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=True).split("\n")[0].strip()
        _CACHE[key] = question if is_usable(question, request.subject) else None
    return _CACHE[key]


def _positions(model: LocalModel) -> int:
    config = model.model.config
    return int(getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None) or 2048)


def with_self_questions(model: LocalModel, requests: Sequence[EditRequest]) -> list[EditRequest]:
    """Each request that has no paraphrases gets its self-question as one (when usable)."""
    done = []
    for request in requests:
        question = None if request.paraphrases else self_question(model, request)
        done.append(replace(request, paraphrases=(question,)) if question else request)
    return done
