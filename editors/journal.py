"""The edit journal: every weight edit as a persisted, reversible record.

Layout under `<home>/journal/`:
    index.json            the source of truth: base model fingerprint, the ordered list of
                          edits with their status (active / undone), and the fingerprint
                          of the weights the active edits produce
    <id>.json             one EditRecord (request, method, hyperparameters, layers, metrics)
    <id>.safetensors      its weight deltas (rank-one/rank-n factors where the method makes
                          them, dense otherwise) and any tensors the method persists
Every file is written to a temporary name and renamed into place, and the index is written
last, so a crash mid-write leaves the previous journal readable and intact (an orphan
record file is ignored).

`open` replays the active edits onto the *base* model (its fingerprint must match the
journal's) and checks the result against the recorded fingerprint. Undo never subtracts:
the journal keeps the base copy of every touched weight, restores the modules the undone
edit touched, and re-adds the remaining edits' deltas for those modules in their original
order, so the weights are bitwise those of a history without that edit.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from safetensors.torch import load_file, save_file

from editmind.editors.base import (
    EditFailedError, EditRequest, EditRequestError, Progress, WeightDelta, get_editor,
)
from editmind.editors.base import _load_builtin_editors
from editmind.editors.deltas import apply_deltas
from editmind.editors.side_memory import (
    SIDE_DELTA_KINDS, SideMemoryDelta, clear_side_memories, export_side_memories, restore_side_state, side_state,
)
from editmind.editors.errors import EditmindError
from editmind.editors.model.home import resolve_home
from editmind.editors.model.local_model import LocalModel

INDEX_VERSION = 1


class JournalError(EditmindError):
    """The journal cannot be used as asked (wrong base model, unknown edit id, corrupt files)."""


@dataclass
class EditRecord:
    id: str
    method: str
    layers: list[int]
    requests: list[EditRequest]
    metrics: dict[str, Any]
    created_at: str
    supersedes: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    modules: list[str] = field(default_factory=list)
    base_fingerprint: str = ""
    status: str = "active"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["requests"] = [r.to_dict() for r in self.requests]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EditRecord":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["requests"] = [EditRequest.from_dict(r) for r in data.get("requests", [])]
        return cls(**values)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    """Config/info values as JSON (tensors and other objects become short strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, torch.Tensor):
        return f"<tensor {tuple(value.shape)}>"
    return str(value)


def _save_deltas(path: Path, deltas: Sequence[WeightDelta], extra: dict[str, torch.Tensor]) -> None:
    tensors: dict[str, torch.Tensor] = {}
    layout = []
    for i, delta in enumerate(deltas):
        if isinstance(delta, SideMemoryDelta):  # a side-memory edit (GRACE): its tensors, its JSON metadata
            for part, tensor in delta.side_tensors().items():
                tensors[f"delta.{i}.{part}"] = tensor.detach().cpu().contiguous()
            layout.append({"module": delta.module, "kind": delta.kind, "owner": delta.owner,
                           "parts": sorted(delta.side_tensors()), "meta": delta.side_meta()})
            continue
        parts = {"left": delta.left, "right": delta.right, "dense": delta.dense}
        stored = {}
        for part, tensor in parts.items():
            if tensor is not None:
                tensors[f"delta.{i}.{part}"] = tensor.detach().cpu().contiguous()
                stored[part] = True
        layout.append({"module": delta.module, "transposed": delta.transposed, "parts": sorted(stored)})
    for name, tensor in extra.items():
        tensors[f"extra.{name}"] = tensor.detach().cpu().contiguous()
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    save_file(tensors, str(tmp), metadata={"deltas": json.dumps(layout)})
    os.replace(tmp, path)


def _load_deltas(path: Path) -> tuple[list[WeightDelta], dict[str, torch.Tensor]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            layout = json.loads((handle.metadata() or {}).get("deltas", "[]"))
        tensors = load_file(str(path))
    except Exception as exc:
        raise JournalError(f"the journal file {path} is unreadable ({type(exc).__name__}); restore it or start a new --home") from exc
    deltas = []
    for i, entry in enumerate(layout):
        parts = {part: tensors[f"delta.{i}.{part}"] for part in entry["parts"]}
        if entry.get("kind"):
            _load_builtin_editors()  # registers the side-memory kinds
            kind = SIDE_DELTA_KINDS.get(entry["kind"])
            if kind is None:
                raise JournalError(f"the journal file {path} holds a {entry['kind']!r} edit this editmind does not know")
            deltas.append(kind.from_saved(entry["module"], entry.get("owner", ""), parts, entry.get("meta", {})))
            continue
        deltas.append(WeightDelta(module=entry["module"], transposed=entry["transposed"], **parts))
    extra = {name[len("extra."):]: t for name, t in tensors.items() if name.startswith("extra.")}
    return deltas, extra


class EditJournal:
    """The persisted history of weight edits applied to one base model (see module docstring)."""

    def __init__(self, directory: Path, model: LocalModel | None, index: dict[str, Any]) -> None:
        self.directory = directory
        self.model = model
        self._index = index
        self._base: dict[str, torch.Tensor] = {}  # pristine copies of every touched weight
        self._deltas: dict[str, list[WeightDelta]] = {}
        self._extra: dict[str, dict[str, torch.Tensor]] = {}

    # --- opening -------------------------------------------------------------------
    @classmethod
    def open(cls, home: str | os.PathLike[str] | None, model: LocalModel | None, progress: Progress | None = None) -> "EditJournal":
        """The journal under <home>/journal/, replayed onto `model` (which must be the base
        model, unedited). With model=None the journal is read-only (listing)."""
        directory = resolve_home(home) / "journal"
        directory.mkdir(parents=True, exist_ok=True)
        index = cls._read_index(directory)
        journal = cls(directory, model, index)
        if model is None:
            return journal
        fingerprint = model.fingerprint()
        active = journal._active_ids()
        if index.get("base_fingerprint") and index["base_fingerprint"] != fingerprint:
            if active:
                raise JournalError(
                    f"the edit journal in {directory} belongs to another base model (fingerprint "
                    f"{index['base_fingerprint'][:12]}, this model is {fingerprint[:12]}); use the model it was made "
                    "with, or another --home"
                )
        if not active:  # an empty (or fully undone) journal adopts the model it is opened with
            index.update(base_fingerprint=fingerprint, model=model.name, state_fingerprint=fingerprint)
        model._base_fingerprint = index["base_fingerprint"]
        for done, edit_id in enumerate(active, start=1):
            deltas, extra = _load_deltas(directory / f"{edit_id}.safetensors")
            journal._remember(edit_id, deltas, extra)
            apply_deltas(model, deltas)
            if progress:
                progress("replaying edits", done, len(active))
        if active and index.get("state_fingerprint") and model.fingerprint() != index["state_fingerprint"]:
            journal._restore_base()
            raise JournalError(
                f"replaying the journal in {directory} did not reproduce the recorded weights; its files were "
                "changed or damaged (the model was left unedited)"
            )
        return journal

    @staticmethod
    def _read_index(directory: Path) -> dict[str, Any]:
        path = directory / "index.json"
        if not path.exists():
            return {"version": INDEX_VERSION, "base_fingerprint": None, "model": None, "state_fingerprint": None, "edits": []}
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JournalError(f"the journal index {path} is unreadable ({exc}); restore it or use another --home") from exc
        if not isinstance(index, dict) or not isinstance(index.get("edits"), list):
            raise JournalError(f"the journal index {path} is not an editmind journal; use another --home")
        return index

    def _write_index(self) -> None:
        _atomic_write_text(self.directory / "index.json", json.dumps(self._index, indent=2))

    def _commit_index(self, index: dict) -> None:
        """Make `index` the journal's index on disk and in memory, or neither."""
        self._index, previous = index, self._index
        try:
            self._write_index()
        except BaseException:
            self._index = previous
            raise

    def _active_ids(self) -> list[str]:
        return [e["id"] for e in self._index["edits"] if e.get("status") == "active"]

    def _keep_base(self, deltas: Sequence[WeightDelta]) -> None:
        """Copy the pristine weight of every module these deltas touch for the first time
        (called before they are applied)."""
        assert self.model is not None
        for delta in deltas:
            if isinstance(delta, SideMemoryDelta):
                continue
            if delta.module not in self._base:
                self._base[delta.module] = self.model.module(delta.module).weight.detach().clone()

    def _remember(self, edit_id: str, deltas: list[WeightDelta], extra: dict[str, torch.Tensor]) -> None:
        self._keep_base(deltas)
        self._deltas[edit_id] = deltas
        self._extra[edit_id] = extra

    @torch.no_grad()
    def _restore_base(self, modules: Sequence[str] | None = None) -> None:
        assert self.model is not None
        for module, weight in self._base.items():
            if modules is None or module in modules:
                self.model.module(module).weight.copy_(weight)
        if modules is None:
            clear_side_memories(self.model)

    # --- reading -------------------------------------------------------------------
    def record(self, edit_id: str) -> EditRecord:
        entry = next((e for e in self._index["edits"] if e["id"] == edit_id), None)
        if entry is None:
            raise JournalError(f"no edit with id {edit_id!r} in {self.directory}; see 'editmind edits list'")
        try:
            record = EditRecord.from_dict(json.loads((self.directory / f"{edit_id}.json").read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError) as exc:
            raise JournalError(f"the record of edit {edit_id} is unreadable ({type(exc).__name__})") from exc
        record.status = entry.get("status", "active")
        return record

    def records(self, include_undone: bool = False) -> list[EditRecord]:
        """The edits in the order they were applied (active ones only unless asked)."""
        return [self.record(e["id"]) for e in self._index["edits"] if include_undone or e.get("status") == "active"]

    # --- editing -------------------------------------------------------------------
    def _require_model(self) -> LocalModel:
        if self.model is None:
            raise JournalError("this journal was opened without a model; open it with the model to change it")
        return self.model

    def apply(
        self,
        method: str,
        requests: Sequence[EditRequest],
        overrides: dict[str, Any] | None = None,
        progress: Progress | None = None,
        supersedes: str | None = None,
    ) -> EditRecord:
        """Compute an edit with `method`, apply it, measure it, and persist it.

        Anything that fails (a bad request, a method failure, NaN, a write error) leaves
        the model and the journal exactly as they were.
        """
        model = self._require_model()
        requests = list(requests)
        if not requests:
            raise EditRequestError("no edit requests given")
        for request in requests:
            request.validate()
        if supersedes is not None and supersedes not in self._active_ids():
            raise JournalError(f"--supersedes {supersedes!r} is not an active edit; see 'editmind edits list'")
        editor = get_editor(method, family="parametric", **(overrides or {}))
        if hasattr(editor, "add_preserved_keys"):  # AlphaEdit preserves the keys of earlier edits
            subjects = {r.id: [q.subject for q in r.requests] for r in self.records()}
            for edit_id in self._active_ids():
                extra = self._extra.get(edit_id, {})
                owners = subjects.get(edit_id)
                if owners and "edit_key_requests" in extra:  # each key row's request
                    owners = [owners[int(i)] for i in extra["edit_key_requests"]]
                for name, keys in extra.items():
                    if name.startswith("edit_keys."):
                        editor.add_preserved_keys(name[len("edit_keys."):], keys, owners)
        prompts = [r.rendered_prompt for r in requests]
        targets = [r.target_new for r in requests]
        before = model.score(prompts, targets)
        started = time.perf_counter()
        try:
            result = editor.compute(model, requests, progress)
        except EditmindError:
            raise
        except (RuntimeError, ValueError, torch.linalg.LinAlgError) as exc:
            raise EditFailedError(f"{method} failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; nothing was changed") from exc
        seconds = time.perf_counter() - started
        new_modules = [d.module for d in result.deltas if d.module not in self._base and not isinstance(d, SideMemoryDelta)]
        self._keep_base(result.deltas)
        try:
            snapshot = apply_deltas(model, result.deltas)  # raises before changing anything on NaN/shape errors
        except BaseException:
            for module in new_modules:
                self._base.pop(module, None)
            raise
        edit_id = uuid.uuid4().hex[:12]
        written: list[Path] = []
        try:
            after = model.score(prompts, targets)
            if not all(torch.isfinite(torch.tensor(s.token_logprobs)).all() for s in after):
                raise EditFailedError(f"the {method} edit made the model's outputs non-finite; it was rolled back")
            metrics = {
                "before_prob": [s.prob for s in before], "after_prob": [s.prob for s in after],
                "before_reliability": [s.token_accuracy for s in before],
                "reliability": [s.token_accuracy for s in after],
                "mean_reliability": sum(s.token_accuracy for s in after) / len(after),
                "compute_seconds": round(seconds, 3),
            }
            self._remember(edit_id, result.deltas, result.tensors)
            record = EditRecord(
                id=edit_id, method=editor.name, layers=list(result.layers), requests=requests, metrics=metrics,
                created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), supersedes=supersedes,
                hyperparameters=_jsonable(editor.config), info=_jsonable(result.info),
                modules=sorted({d.module for d in result.deltas}), base_fingerprint=self._index["base_fingerprint"],
            )
            delta_path = self.directory / f"{edit_id}.safetensors"
            record_path = self.directory / f"{edit_id}.json"
            _save_deltas(delta_path, result.deltas, result.tensors)
            written.append(delta_path)
            _atomic_write_text(record_path, json.dumps(record.to_dict(), indent=2, ensure_ascii=False))
            written.append(record_path)
            index = json.loads(json.dumps(self._index))
            index["edits"].append({"id": edit_id, "status": "active", "method": record.method})
            index["state_fingerprint"] = model.fingerprint()
            self._commit_index(index)
        except BaseException as exc:
            snapshot.restore()
            for module in new_modules:
                self._base.pop(module, None)
            self._deltas.pop(edit_id, None)
            self._extra.pop(edit_id, None)
            for path in written:
                path.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise JournalError(f"could not write the journal in {self.directory}: {exc}; nothing was changed") from exc
            raise
        return record

    @torch.no_grad()
    def undo(self, edit_id: str) -> EditRecord:
        """Remove an edit: the weights become bitwise those of a history without it."""
        model = self._require_model()
        active = self._active_ids()
        if edit_id not in active:
            known = any(e["id"] == edit_id for e in self._index["edits"])
            state = "already undone" if known else "not in the journal"
            raise JournalError(f"edit {edit_id!r} is {state}; see 'editmind edits list'")
        touched = {d.module for d in self._deltas[edit_id] if not isinstance(d, SideMemoryDelta)}
        side = [d for d in self._deltas[edit_id] if isinstance(d, SideMemoryDelta)]
        side_before = side_state(model)
        remaining = [i for i in active if i != edit_id]
        index = json.loads(json.dumps(self._index))
        for entry in index["edits"]:
            if entry["id"] == edit_id:
                entry["status"] = "undone"
        current = {m: model.module(m).weight.detach().clone() for m in touched}
        try:
            self._restore_base(touched)
            for other in remaining:
                apply_deltas(model, [d for d in self._deltas[other] if d.module in touched and not isinstance(d, SideMemoryDelta)])
            for delta in side:  # the memory rebuilds itself from the remaining deltas, in order
                delta.detach(model)
            index["state_fingerprint"] = model.fingerprint()
            self._commit_index(index)
        except BaseException as exc:
            for module, weight in current.items():
                model.module(module).weight.copy_(weight)
            restore_side_state(model, side_before)
            if isinstance(exc, OSError):
                raise JournalError(f"could not write the journal in {self.directory}: {exc}; nothing was changed") from exc
            raise
        self._deltas.pop(edit_id, None)
        self._extra.pop(edit_id, None)
        return self.record(edit_id)

    def export(self, directory: str | os.PathLike[str]) -> Path:
        """Write the edited model as a plain Hugging Face directory (safetensors + config +
        tokenizer) that `transformers` loads without editmind.

        Side-memory edits (GRACE) change no weight: their codebook is written beside the
        weights (grace_codebook.safetensors + .json); transformers loads the directory as the
        model without them, `editmind` (load_model on the directory) re-attaches them."""
        model = self._require_model()
        target = Path(directory).expanduser().resolve()
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise JournalError(f"{target} exists and is not an empty directory; choose a new path for the export")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            model.model.save_pretrained(str(staging), safe_serialization=True)
            model.tokenizer.save_pretrained(str(staging))
            manifest = {"base_fingerprint": self._index.get("base_fingerprint"), "edits": self._active_ids(),
                        "exported_by": "editmind"}
            manifest["side_memories"] = export_side_memories(model, staging)  # GRACE: codebook files beside the weights
            (staging / "editmind_edits.json").write_text(json.dumps(manifest, indent=2))
            if target.exists():
                target.rmdir()
            os.replace(staging, target)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise JournalError(f"could not export to {target}: {exc}") from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target
