"""PokeMQA's scope detector: is this edited fact about this subquestion?

PokeMQA (Gu et al. 2024) decides per subquestion whether an edit applies with a trained
detector instead of asking the model — "conflict disentangling": the LLM only decomposes,
the detector only judges scope. Ours is a small MLP on frozen all-MiniLM-L6-v2 embeddings
of the edit (u) and the question (v), over the features [u, v, u*v, |u-v|]; it trains on
the CPU in minutes and is saved as safetensors (weights) + JSON (metadata) under
<home>/retrieval/.

Training data: ../shared/data/mquake/edit_paraphrases.json (an edit sentence and four
paraphrased questions each). Positives are (edit, own question); negatives are (edit,
question of the nearest *other* edits by embedding) — hard negatives that share a subject
or a relation, which is exactly the confusion the detector must resolve. Edits that also
occur in the evaluation cases are excluded, and the held-out accuracy is measured on edits
the detector never saw.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from editmind.editors.errors import EditmindError

WEIGHTS_FILE = "scope_detector.safetensors"
META_FILE = "scope_detector.json"


@dataclass
class ScopeTrainingConfig:
    max_edits: int | None = 3000     # edits used (None: all); the embedding pass dominates the cost
    heldout_fraction: float = 0.1    # edits kept out of training, for the reported accuracy
    negatives_per_positive: int = 2  # hard negatives from the nearest other edits
    hidden: int = 256
    epochs: int = 8
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0


class ScopeModel(torch.nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4 * dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def forward(self, edits: torch.Tensor, questions: torch.Tensor) -> torch.Tensor:
        features = torch.cat([edits, questions, edits * questions, (edits - questions).abs()], dim=-1)
        return self.net(features).squeeze(-1)


@dataclass
class ScopeDetector:
    model: ScopeModel
    embedder_name: str
    meta: dict[str, Any] = field(default_factory=dict)

    @torch.no_grad()
    def probabilities(self, edit_vectors: np.ndarray, question_vector: np.ndarray) -> np.ndarray:
        """P(in scope) of each edit (rows of `edit_vectors`) for one question."""
        if len(edit_vectors) == 0:
            return np.zeros(0, dtype=np.float32)
        edits = torch.from_numpy(np.asarray(edit_vectors, dtype=np.float32))
        question = torch.from_numpy(np.asarray(question_vector, dtype=np.float32)).expand_as(edits)
        return torch.sigmoid(self.model(edits, question)).numpy()

    def save(self, directory: str | Path) -> Path:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        weights = {k: v.detach().contiguous() for k, v in self.model.state_dict().items()}
        tmp = directory / (WEIGHTS_FILE + ".tmp")
        save_file(weights, str(tmp))
        meta_tmp = directory / (META_FILE + ".tmp")
        meta_tmp.write_text(json.dumps({**self.meta, "embedder": self.embedder_name}, indent=2), encoding="utf-8")
        tmp.replace(directory / WEIGHTS_FILE)          # weights first: a crash leaves the old meta, not a
        meta_tmp.replace(directory / META_FILE)        # meta that describes weights that are not there
        return directory / WEIGHTS_FILE

    @classmethod
    def load(cls, directory: str | Path, embedder_name: str | None = None) -> "ScopeDetector":
        from safetensors.torch import load_file

        directory = Path(directory)
        weights_path, meta_path = directory / WEIGHTS_FILE, directory / META_FILE
        if not weights_path.is_file() or not meta_path.is_file():
            raise EditmindError(
                f"no trained scope detector in {directory}; train it with 'editmind eval train-scope' (a few minutes)"
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            weights = load_file(str(weights_path))
            model = ScopeModel(int(meta["dim"]), int(meta["hidden"]))
            model.load_state_dict(weights)
        except Exception as exc:  # corrupt or foreign files: one clear line
            raise EditmindError(f"the scope detector in {directory} is unreadable ({exc}); retrain it with 'editmind eval train-scope'") from None
        if embedder_name and meta.get("embedder") != embedder_name:
            raise EditmindError(
                f"the scope detector in {directory} was trained on embeddings of {meta.get('embedder')!r}, "
                f"not {embedder_name!r}; retrain it with 'editmind eval train-scope'"
            )
        model.eval()
        return cls(model, meta.get("embedder", ""), meta)


def load_paraphrase_edits(path: str | Path) -> list[dict]:
    try:
        data = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EditmindError(f"training data not found at {path}; pass the path to edit_paraphrases.json") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise EditmindError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) and "edit" in r and r.get("questions") for r in data):
        raise EditmindError(f"{path} is not a list of {{'edit': ..., 'questions': [...]}} records")
    return data


def excluded_by(records: Sequence[dict], eval_cases: Sequence[dict]) -> list[bool]:
    """True for records whose edit states an edit of the evaluation cases (its subject and
    its new object both appear in the edit sentence)."""
    pairs = {(r["subject"].casefold(), r["target_new"]["str"].casefold())
             for case in eval_cases for r in case.get("requested_rewrite", [])}
    by_subject: dict[str, list[str]] = {}
    for subject, obj in pairs:
        by_subject.setdefault(subject, []).append(obj)
    flags = []
    for record in records:
        text = record["edit"].casefold()
        flags.append(any(subject in text and any(obj in text for obj in objs) for subject, objs in by_subject.items()))
    return flags


def train_scope_detector(
    records: Sequence[dict], embedder: Any, eval_cases: Sequence[dict] = (), config: ScopeTrainingConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScopeDetector:
    """Train on `records` minus those overlapping `eval_cases`; held-out accuracy in .meta."""
    config = config or ScopeTrainingConfig()
    say = progress or (lambda _message: None)
    flags = excluded_by(records, eval_cases)
    kept = [r for r, out in zip(records, flags) if not out]
    rng = random.Random(config.seed)
    rng.shuffle(kept)
    if config.max_edits:
        kept = kept[: config.max_edits]
    if len(kept) < 10:
        raise EditmindError(f"only {len(kept)} training edits are left after excluding the evaluation edits; need at least 10")
    say(f"{sum(flags)} of {len(records)} edits excluded (they occur in the evaluation cases); embedding {len(kept)} edits")
    edit_vectors = embedder.embed([r["edit"] for r in kept])
    questions = [(i, q) for i, r in enumerate(kept) for q in r["questions"]]
    question_vectors = embedder.embed([q for _, q in questions])
    owner = np.array([i for i, _ in questions])

    n_heldout = max(2, int(len(kept) * config.heldout_fraction))
    heldout = set(range(n_heldout))  # shuffled already: the first edits are held out

    # hard negatives: the nearest other edits (among the same split) by edit embedding
    similarity = edit_vectors @ edit_vectors.T
    np.fill_diagonal(similarity, -np.inf)
    split = np.arange(len(kept)) < n_heldout
    similarity[split[:, None] != split[None, :]] = -np.inf  # never pair across the split
    neighbours = np.argsort(-similarity, axis=1)[:, : config.negatives_per_positive]

    by_edit: dict[int, list[int]] = {}
    for row, i in enumerate(owner):
        by_edit.setdefault(int(i), []).append(row)

    def pairs(edit_ids: set[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        e_idx, q_idx, labels = [], [], []
        for i in edit_ids:
            for row in by_edit[i]:
                e_idx.append(i); q_idx.append(row); labels.append(1.0)
            for j in neighbours[i]:
                if not np.isfinite(similarity[i, j]):
                    continue
                for row in by_edit[int(j)][:2]:
                    e_idx.append(i); q_idx.append(row); labels.append(0.0)
        return np.array(e_idx), np.array(q_idx), np.array(labels, dtype=np.float32)

    train_ids = set(range(len(kept))) - heldout
    train, test = pairs(train_ids), pairs(heldout)
    torch.manual_seed(config.seed)
    model = ScopeModel(edit_vectors.shape[1], config.hidden)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    E, Q = torch.from_numpy(edit_vectors), torch.from_numpy(question_vectors)
    e_idx, q_idx, labels = (torch.from_numpy(a) for a in train)
    say(f"training on {len(labels)} pairs ({int(labels.sum())} positive)")
    for epoch in range(config.epochs):
        order = torch.randperm(len(labels))
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            logits = model(E[e_idx[batch]], Q[q_idx[batch]])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(batch)
        say(f"epoch {epoch + 1}/{config.epochs}: loss {total / len(labels):.4f}")
    model.eval()

    def accuracy(split) -> float:
        with torch.no_grad():
            e, q, y = (torch.from_numpy(a) for a in split)
            predicted = (model(E[e], Q[q]) > 0).float()
            return float((predicted == y).float().mean())

    meta = {
        "dim": int(edit_vectors.shape[1]), "hidden": config.hidden, "config": asdict(config),
        "train_edits": len(train_ids), "heldout_edits": len(heldout), "excluded_edits": int(sum(flags)),
        "train_pairs": int(len(train[2])), "heldout_pairs": int(len(test[2])),
        "train_accuracy": accuracy(train), "heldout_accuracy": accuracy(test),
    }
    say(f"held-out accuracy {meta['heldout_accuracy']:.3f} on {meta['heldout_pairs']} pairs of {len(heldout)} unseen edits")
    return ScopeDetector(model, getattr(embedder, "name", ""), meta)
