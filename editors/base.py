"""The editor interface every method implements, and the registry it joins.

An editor *computes* weight deltas for a batch of edit requests; it does not own
persistence. The journal (`editors/journal.py`) applies deltas, records them and undoes
them. Keeping "compute" pure (the model is left exactly as it was found) is what lets a
failed edit leave nothing behind, and lets the evaluator and the router try an edit,
measure it, and decide.

Parameter editors and retrieval editors share one registry; each family has its own
abstract base (`ParameterEditor` here, `RetrievalEditor` in `editors/retrieval`). A new
method joins with one class:

    @register_editor
    class MyEditor(ParameterEditor):
        name = "my-method"
        Config = MyConfig            # a dataclass whose defaults work on any model

        def compute(self, model, requests, progress=None) -> EditResult: ...
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal, Sequence

import torch

from editmind.editors.errors import EditmindError
from editmind.editors.model.local_model import LocalModel

EditKind = Literal["insert", "modify", "erase"]
Progress = Callable[[str, int, int], None]  # (stage, done, total)


class EditRequestError(EditmindError):
    """An edit request that cannot be applied as given."""


class EditFailedError(EditmindError):
    """The method ran but could not produce a usable edit (NaN, blow-up, no effect)."""


@dataclass(frozen=True)
class EditRequest:
    """What a correction asks: make `prompt` (about `subject`) continue with `target_new`.

    `prompt` is a template with "{}" where the subject goes ("{} is located in"), or a full
    prompt that contains the subject verbatim.
    """

    subject: str
    prompt: str
    target_new: str
    target_true: str | None = None
    kind: EditKind = "modify"
    user_id: str | None = None
    lasting: bool = True
    paraphrases: tuple[str, ...] = ()
    locality_prompts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "paraphrases", tuple(self.paraphrases))
        object.__setattr__(self, "locality_prompts", tuple(self.locality_prompts))

    @property
    def template(self) -> str:
        """The prompt with "{}" for the subject (the form ROME-style editors need)."""
        if "{}" in self.prompt:
            return self.prompt
        return self.prompt.replace(self.subject, "{}", 1)

    @property
    def rendered_prompt(self) -> str:
        return self.template.format(self.subject)

    def validate(self) -> "EditRequest":
        """Raise EditRequestError naming what is wrong; return self when usable."""
        if not self.subject.strip():
            raise EditRequestError("the edit has an empty subject; give --subject, the entity the fact is about")
        if not self.target_new.strip():
            raise EditRequestError("the edit has an empty target; give --target, the new answer")
        if not self.prompt.strip():
            raise EditRequestError("the edit has an empty prompt; give --prompt like '{} is located in'")
        if self.prompt.count("{}") > 1:
            raise EditRequestError(f"the prompt {self.prompt!r} has more than one '{{}}'; use exactly one for the subject")
        if "{}" not in self.prompt and self.subject not in self.prompt:
            raise EditRequestError(
                f"the prompt {self.prompt!r} contains neither '{{}}' nor the subject {self.subject!r}; "
                "write it like '{} is located in'"
            )
        if self.kind not in ("insert", "modify", "erase"):
            raise EditRequestError(f"unknown edit kind {self.kind!r}; use insert, modify or erase")
        for paraphrase in self.paraphrases:
            if "{}" not in paraphrase and self.subject not in paraphrase:
                raise EditRequestError(
                    f"the paraphrase {paraphrase!r} does not name the subject {self.subject!r}; "
                    "write it with the subject or '{}', like 'Where is the {} located?'"
                )
        return self

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["paraphrases"] = list(self.paraphrases)
        data["locality_prompts"] = list(self.locality_prompts)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EditRequest":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class WeightDelta:
    """A change to one projection's weight, in the [out, in] convention of nn.Linear.

    Rank-r methods store factors (`left` [out, r], `right` [in, r]; delta = left @ right.T),
    others a dense [out, in] tensor. `module` is the projection's path (e.g.
    "model.layers.4.mlp.down_proj"); `transposed` says the stored weight is [in, out]
    (GPT-2 Conv1D), so appliers go through `LocalModel.weight(ref)`.
    """

    module: str
    transposed: bool = False
    left: torch.Tensor | None = None
    right: torch.Tensor | None = None
    dense: torch.Tensor | None = None

    def tensor(self) -> torch.Tensor:
        if self.dense is not None:
            return self.dense
        if self.left is None or self.right is None:
            raise ValueError(f"delta for {self.module} has neither factors nor a dense tensor")
        return self.left @ self.right.T

    def is_finite(self) -> bool:
        parts = [t for t in (self.left, self.right, self.dense) if t is not None]
        return bool(parts) and all(torch.isfinite(t).all() for t in parts)


@dataclass
class EditResult:
    """What `Editor.compute` returns: the deltas and what the method learned on the way."""

    deltas: list[WeightDelta]
    layers: list[int]
    # JSON-friendly. Two keys every caller understands, whatever the method:
    # "per_request": one dict per request of what happened to that request alone (ROME's
    #   second value search), which the evaluator adds to that edit's row;
    # "remarks": sentences a user should see about this edit (a retry, extra epochs), which
    #   `editmind edit` prints and the evaluator keeps per edit.
    info: dict[str, Any] = field(default_factory=dict)
    # Tensors the method wants persisted with the edit (AlphaEdit: the edited keys per
    # module, so later sequential edits preserve them); the journal stores them as safetensors.
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)

    def for_request(self, i: int) -> dict[str, Any]:
        """What the method reported about request `i` alone (empty when it reports nothing)."""
        per_request = self.info.get("per_request") or []
        return dict(per_request[i]) if i < len(per_request) else {}

    @property
    def remarks(self) -> list[str]:
        return list(self.info.get("remarks") or [])


class Editor(ABC):
    """One editing method: a registry name, a config dataclass, a family."""

    name: ClassVar[str]
    Config: ClassVar[type]
    family: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __init__(self, config: Any | None = None, **overrides: Any) -> None:
        """`overrides` are field values, dotted for nested configs (**{"value.steps": 10})."""
        from editmind.editors.settings import apply_settings, check_choices

        base = config if config is not None else self.Config()
        self.config = apply_settings(base, overrides) if overrides else base
        if dataclasses.is_dataclass(self.config):
            check_choices(self.config)


class ParameterEditor(Editor):
    """A method that writes the edit into the weights. Implement `compute`."""

    family: ClassVar[str] = "parametric"
    supports_batch: ClassVar[bool] = True

    @abstractmethod
    def compute(self, model: LocalModel, requests: Sequence[EditRequest], progress: Progress | None = None) -> EditResult:
        """Return the deltas that make the requests true. The model must be left exactly as
        it was found, also when this raises (EditFailedError for a method failure)."""


EDITORS: dict[str, type[Editor]] = {}


def register_editor(cls: type[Editor]) -> type[Editor]:
    if cls.name in EDITORS and EDITORS[cls.name] is not cls:
        raise ValueError(f"an editor named {cls.name!r} is already registered")
    EDITORS[cls.name] = cls
    return cls


def available_editors(family: str | None = None) -> list[str]:
    _load_builtin_editors()
    return sorted(name for name, cls in EDITORS.items() if family is None or cls.family == family)


def editor_class(name: str, family: str | None = None) -> type[Editor]:
    """The registered editor class `name` (case-insensitive), optionally required to be of `family`."""
    choices = available_editors(family)
    key = name.strip().lower()
    if key not in choices:
        raise EditRequestError(f"unknown editing method {name!r}; choose from {', '.join(choices) or 'none registered'}")
    return EDITORS[key]


def get_editor(name: str, config: Any | None = None, family: str | None = None, **overrides: Any) -> Editor:
    """The registered editor `name`, made with `config` and dotted field `overrides`."""
    return editor_class(name, family)(config, **overrides)


def _load_builtin_editors() -> None:
    """Importing the method packages registers their editors."""
    import importlib

    for package in ("editmind.editors.parametric", "editmind.editors.retrieval", "editmind.editors.safety"):
        try:
            importlib.import_module(package)
        except ModuleNotFoundError as exc:
            if exc.name != package:
                raise
