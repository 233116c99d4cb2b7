"""benchmarks/lifelong_curves.py: a stopped run keeps its checkpoints and is marked incomplete;
a finished run gains its final point from the table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "lifelong_curves.py"


def _module():
    spec = importlib.util.spec_from_file_location("lifelong_curves", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_curve_of_partial_and_complete_runs():
    curves = _module()
    checkpoint = {"edits": 100.0, "edit_success_tf": 55.0, "locality_tf": 49.0, "wall_seconds": 9.0}
    partial = {"complete": False, "curves": {"memit": [checkpoint]}, "table": {"columns": {}}}
    points, complete = curves.curve_of(partial, "memit")
    assert not complete and points == [{"edits": 100.0, "edit_success_tf": 55.0, "locality_tf": 49.0}]
    done = {"complete": True, "args": {"n": 500}, "curves": {"grace": [checkpoint]},
            "table": {"columns": {"grace": {"edit_success_tf": 80.0, "locality_tf": 100.0, "fluency": 1.0}}}}
    points, complete = curves.curve_of(done, "grace")
    assert complete and points[-1] == {"edits": 500.0, "edit_success_tf": 80.0, "locality_tf": 100.0}
