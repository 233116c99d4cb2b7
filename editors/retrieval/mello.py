"""MeLLo (Zhong et al. 2023), faithful to the paper's loop.

The model is prompted with few-shot demonstrations to (1) write a subquestion, (2) give a
tentative answer from its own knowledge; then the single fact nearest to the subquestion
is retrieved from the edited facts and shown to it, and (3) it judges whether the fact
contradicts its tentative answer and states the intermediate answer — the fact's object if
it does. The loop repeats until the model writes "Final answer:" or `max_hops` is reached.

The demonstrations below are ours (invented facts). `prompt_file` loads another prompt in
the same format, e.g. the original MeLLo prompt for the faithful side-by-side baseline
(../shared/data/reference_prompts/mello_prompt.txt; `editmind eval mquake --prompt-file`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from editmind.editors.base import register_editor
from editmind.editors.errors import EditmindError
from editmind.editors.model.local_model import LocalModel
from editmind.editors.retrieval.base import Hop, RetrievalAnswer, RetrievalEditor, Trace, short_answer, text_before
from editmind.editors.retrieval.ice import stated
from editmind.editors.retrieval.source import FactSource

MELLO_DEMONSTRATIONS = """Question: What is the capital of the country where the Louvre is located?
Subquestion: In which country is the Louvre located?
Generated answer: The Louvre is located in France.
Retrieved fact: The Louvre is located in the country of Spain.
Retrieved fact contradicts to generated answer, so the intermediate answer is: Spain
Subquestion: What is the capital of Spain?
Generated answer: The capital of Spain is Madrid.
Retrieved fact: The capital of Portugal is Porto.
Retrieved fact does not contradict to generated answer, so the intermediate answer is: Madrid
Final answer: Madrid

Question: Who founded the company that produces the iPhone?
Subquestion: Which company produces the iPhone?
Generated answer: The iPhone is produced by Apple.
Retrieved fact: The company that produced iPhone is Apple.
Retrieved fact does not contradict to generated answer, so the intermediate answer is: Apple
Subquestion: Who founded Apple?
Generated answer: Apple was founded by Steve Jobs.
Retrieved fact: Apple was founded by Bill Gates.
Retrieved fact contradicts to generated answer, so the intermediate answer is: Bill Gates
Final answer: Bill Gates

Question: What is the official language of the country of citizenship of the spouse of Barack Obama?
Subquestion: Who is Barack Obama married to?
Generated answer: Barack Obama is married to Michelle Obama.
Retrieved fact: Barack Obama is married to Taylor Swift.
Retrieved fact contradicts to generated answer, so the intermediate answer is: Taylor Swift
Subquestion: What is the country of citizenship of Taylor Swift?
Generated answer: Taylor Swift is a citizen of the United States.
Retrieved fact: Taylor Swift is a citizen of Japan.
Retrieved fact contradicts to generated answer, so the intermediate answer is: Japan
Subquestion: What is the official language of Japan?
Generated answer: The official language of Japan is Japanese.
Retrieved fact: The official language of Brazil is Spanish.
Retrieved fact does not contradict to generated answer, so the intermediate answer is: Japanese
Final answer: Japanese"""

_INTERMEDIATE = re.compile(r"intermediate answer is:\s*(.+)")


def load_prompt(path: str | Path) -> str:
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise EditmindError(f"cannot read the prompt file {path}: {exc.strerror or exc}") from None
    if "Subquestion:" not in text:
        raise EditmindError(f"{path} is not a MeLLo/PokeMQA-style prompt (no 'Subquestion:' lines)")
    return text


def field_value(text: str, label: str) -> str:
    """The rest of the line after `label` in `text` ("" if absent)."""
    match = re.search(re.escape(label) + r"[ \t]*(.*)", text)
    return match.group(1).strip() if match else ""


@dataclass
class MelloConfig:
    max_hops: int = 4
    prompt_file: str | None = None     # demonstrations in MeLLo's format (default: ours)
    max_new_tokens: int = 48           # per subquestion + tentative answer
    judge_new_tokens: int = 24         # per contradiction judgement


@register_editor
class MelloEditor(RetrievalEditor):
    name: ClassVar[str] = "mello"
    Config: ClassVar[type] = MelloConfig
    description: ClassVar[str] = "MeLLo: decompose, answer tentatively, retrieve top-1 fact, check contradiction, revise"

    def demonstrations(self) -> str:
        return load_prompt(self.config.prompt_file) if self.config.prompt_file else MELLO_DEMONSTRATIONS

    def answer(self, model: LocalModel, question: str, source: FactSource) -> RetrievalAnswer:
        config: MelloConfig = self.config
        trace = Trace(method=self.name, question=question)
        prompt = f"{self.demonstrations()}\n\nQuestion: {question}\n"
        final = ""
        for _ in range(config.max_hops):
            step = self.generate(model, prompt, trace, config.max_new_tokens,
                                 stop=("Retrieved fact:", "\n\n", "Question:"), cut=False)
            step = text_before(step, ("Retrieved fact:", "\n\n", "Question:"))
            if "Final answer:" in step:
                final = short_answer(field_value(step, "Final answer:"))
                break
            subquestion, tentative = field_value(step, "Subquestion:"), field_value(step, "Generated answer:")
            if not subquestion:
                trace.notes.append(f"the model wrote no subquestion: {step!r}")
                break
            retrieved = source.search(subquestion, 1)
            fact_line = stated(retrieved[0].text) if retrieved else "none."
            prompt += step.rstrip("\n") + f"\nRetrieved fact: {fact_line}\n"
            judgement = self.generate(model, prompt, trace, config.judge_new_tokens, stop=("\n",), cut=False)
            judgement = text_before(judgement, ("\n",))
            prompt += judgement + "\n"
            match = _INTERMEDIATE.search(judgement)
            intermediate = short_answer(match.group(1)) if match else short_answer(tentative)
            contradicts = "contradicts" in judgement and "does not contradict" not in judgement
            trace.hops.append(Hop(
                subquestion=subquestion, model_output=f"{step}{judgement}", retrieved=retrieved,
                used_fact_ids=[retrieved[0].id] if retrieved and contradicts else [],
                answer=intermediate, source="edit" if contradicts else "model",
            ))
        else:
            step = self.generate(model, prompt + "Final answer:", trace, 12)
            final = short_answer(step)
        if not final and trace.hops:
            final = trace.hops[-1].answer
            trace.notes.append("no 'Final answer:' line; the last intermediate answer is the answer")
        trace.prompt = prompt
        return RetrievalAnswer(final, trace)
