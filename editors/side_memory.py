"""Side memories: edits that write beside a module instead of into its weight (GRACE).

A lifelong editor such as GRACE leaves every weight untouched and keeps what it learnt in
a memory attached to one module (a forward hook that may replace the module's output). To
go through the same machinery as weight edits — `apply_deltas`/`Snapshot.restore`, the
journal's apply, replay and undo, the evaluator's sequential runs — such an edit is a
`SideMemoryDelta`: a `WeightDelta` subclass that `attach`es itself to the model and
`detach`es itself again, instead of being added to a weight.

The contract every kind keeps:
- the memory's state is a pure function of the ordered list of deltas attached to it, so
  detaching any one of them (undo of one edit of many) gives bitwise the state of a history
  without it, and detaching the last gives bitwise the state before it;
- with nothing attached, no hook is installed: the model is the plain model again;
- the weights and the state_dict are never changed (save_pretrained writes the base
  weights; the memory is exported beside them, see `export_side_memories`).

Persistence is safetensors (tensors) + JSON (metadata); never pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from editmind.editors.base import WeightDelta

_ATTRIBUTE = "_editmind_side_memories"
SIDE_DELTA_KINDS: dict[str, type["SideMemoryDelta"]] = {}


def register_side_kind(cls: type["SideMemoryDelta"]) -> type["SideMemoryDelta"]:
    SIDE_DELTA_KINDS[cls.kind] = cls
    return cls


@dataclass
class SideMemoryDelta(WeightDelta):
    """An edit held in a side memory beside `module` (see the module docstring)."""

    kind: ClassVar[str] = ""
    owner: str = ""  # a unique id of this delta (stable across save/load)

    def tensor(self) -> torch.Tensor:  # there is no weight change to show
        raise TypeError(f"a {self.kind} edit changes no weight; it lives in a side memory beside {self.module}")

    def is_finite(self) -> bool:
        return all(torch.isfinite(t).all() for t in self.side_tensors().values())

    def check(self, model) -> None:
        """Raise EditFailedError when the delta does not fit the model (before anything changes)."""

    def attach(self, model) -> None:
        raise NotImplementedError

    def detach(self, model) -> None:
        raise NotImplementedError

    # persistence
    def side_tensors(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def side_meta(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_saved(cls, module: str, owner: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> "SideMemoryDelta":
        raise NotImplementedError


@dataclass
class SideMemory:
    """Base of one module's memory: the ordered deltas attached to it."""

    module: str
    attached: list[SideMemoryDelta] = field(default_factory=list)
    export_name: ClassVar[str] = ""

    def rebuild(self, model) -> None:
        raise NotImplementedError

    def set_attached(self, model, deltas: list[SideMemoryDelta]) -> None:
        self.attached = list(deltas)
        self.rebuild(model)


def memories(model) -> dict[str, SideMemory]:
    """The side memories installed on this model (a LocalModel or a torch module), by module."""
    torch_model = getattr(model, "model", model)
    found = torch_model.__dict__.get(_ATTRIBUTE)
    if found is None:
        found = {}
        torch_model.__dict__[_ATTRIBUTE] = found
    return found


def side_state(model) -> dict[str, list[SideMemoryDelta]]:
    """What is attached where (to put it back after a failed operation)."""
    return {name: list(memory.attached) for name, memory in memories(model).items()}


def restore_side_state(model, state: dict[str, list[SideMemoryDelta]]) -> None:
    for name, memory in list(memories(model).items()):
        memory.set_attached(model, state.get(name, []))
    for name, deltas in state.items():
        if name not in memories(model) and deltas:
            for delta in deltas:
                delta.attach(model)


def clear_side_memories(model) -> None:
    """Detach everything: the model becomes the plain model again."""
    for memory in list(memories(model).values()):
        memory.set_attached(model, [])


def has_side_memory(model) -> bool:
    return any(memory.attached for memory in memories(model).values())


def export_side_memories(model, directory: Path) -> list[str]:
    """Write every non-empty side memory beside an exported HF directory; the file names."""
    written: list[str] = []
    for memory in memories(model).values():
        if memory.attached:
            written.extend(memory.export(model, Path(directory)))  # type: ignore[attr-defined]
    return written


def load_side_memories(model, directory: Path) -> int:
    """Re-attach the side memories an export wrote into `directory`; how many deltas."""
    from editmind.editors.base import _load_builtin_editors

    _load_builtin_editors()  # registers the side kinds
    count = 0
    for cls in SIDE_DELTA_KINDS.values():
        for delta in cls.load_export(Path(directory)):  # type: ignore[attr-defined]
            delta.attach(model)
            count += 1
    return count
