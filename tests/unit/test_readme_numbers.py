"""The README's headline numbers match the benchmark JSON files they name."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "check_readme_numbers.py"


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_readme_numbers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_readme_numbers_match_their_json(checker):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert checker.parse_checks(readme), "the README's headline table has no check comments"
    assert checker.check_readme(ROOT / "README.md", ROOT) == []


def test_a_wrong_number_is_reported(checker, tmp_path):
    (tmp_path / "r.json").write_text(json.dumps(
        {"a": {"share": 0.9627, "mean": 96.48}, "runs": [{"x": 7.0}], "b.c": {"d": 3}}))
    text = "\n".join([
        "| what | number | json |",
        "|---|---|---|",
        "| right share | 96.3% | <!-- check: r.json a.share 96.3% --> |",
        "| right mean | 96.5 | <!-- check: r.json a.mean 96.5 --> |",
        "| right list item, dotted key | 7.0 / 3 | <!-- check: r.json runs.0.x 7.0 --> "
        "<!-- check: r.json b.c.d 3 --> |",
        "| wrong share | 95.1% | <!-- check: r.json a.share 95.1% --> |",
        "| percent read as plain | 96 | <!-- check: r.json a.share 96 --> |",
        "| wrong mean | 96.4 | <!-- check: r.json a.mean 96.4 --> |",
        "| missing key | 1 | <!-- check: r.json a.nothing 1 --> |",
        "| missing file | 1 | <!-- check: none.json a 1 --> |",
        "| drifted text | 12.0 | <!-- check: r.json a.mean 96.5 --> |",
    ])
    problems = checker.check_text(text, tmp_path)
    assert len(problems) == 6, problems
    assert any("line 6" in p and "95.1%" in p and "96.3%" in p for p in problems)
    assert any("line 7" in p for p in problems)
    assert any("line 8" in p and "96.4" in p for p in problems)
    assert any("line 9" in p and "no key" in p for p in problems)
    assert any("line 10" in p and "file not found" in p for p in problems)
    assert any("line 11" in p and "visible text" in p for p in problems)


def test_no_check_comments_is_an_error(checker, tmp_path):
    assert checker.check_text("| a | 1 |\n", tmp_path)
