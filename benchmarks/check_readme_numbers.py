"""Check the README's headline numbers against the JSON files they come from.

Convention: a number in the README that must match a benchmark result carries an HTML
comment on the same line (invisible when rendered), one per number:

    <!-- check: benchmarks/results/conversation.json dialogues.dialogues_test.memory_exact_share 96.3% -->

- the path is relative to the repository root;
- the key path is dotted; a segment that is an integer indexes a list (``runs.0.summary``);
  a key that itself contains dots is found too (the longest matching key wins);
- the value is written as shown in the README. A trailing ``%`` means the JSON holds a
  fraction (0.9627) shown as a percentage (96.3%); without ``%`` the JSON value is compared
  as it is (a JSON 96.48 shown as 96.5). The JSON value must round to the shown value at the
  shown number of decimals (|json - shown| <= half a unit of the last shown digit).
- the value (without a leading ``+``) must also appear in the visible text of the line
  outside the comments, so the comment cannot drift from what a reader sees.

Run ``python benchmarks/check_readme_numbers.py [README]``: exit status 0 when every number
matches, 1 with one line per mismatch otherwise.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK_RE = re.compile(r"<!--\s*check:\s*(\S+)\s+(\S+)\s+(\S+)\s*-->")
COMMENT_RE = re.compile(r"<!--.*?-->")
NUMBER_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?%?$")


@dataclass(frozen=True)
class Check:
    line: int
    path: str
    key: str
    shown: str


def parse_checks(text: str) -> list[Check]:
    checks = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for m in CHECK_RE.finditer(line):
            checks.append(Check(lineno, m.group(1), m.group(2), m.group(3)))
    return checks


def lookup(data, key: str):
    """Follow a dotted key path; raises KeyError with the failing segment."""
    parts = key.split(".")
    node = data
    i = 0
    while i < len(parts):
        if isinstance(node, list):
            try:
                node = node[int(parts[i])]
            except (ValueError, IndexError):
                raise KeyError(".".join(parts[: i + 1])) from None
            i += 1
            continue
        if not isinstance(node, dict):
            raise KeyError(".".join(parts[: i + 1]))
        # the longest run of segments that names a key (keys may hold dots)
        for j in range(len(parts), i, -1):
            candidate = ".".join(parts[i:j])
            if candidate in node:
                node = node[candidate]
                i = j
                break
        else:
            raise KeyError(".".join(parts[: i + 1]))
    return node


def compare(shown: str, actual) -> str | None:
    """None when ``actual`` rounds to ``shown``, else why not."""
    if not NUMBER_RE.match(shown):
        return f"shown value {shown!r} is not a number"
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return f"JSON value {actual!r} is not a number"
    percent = shown.endswith("%")
    digits = shown.rstrip("%")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    value = float(digits)
    got = float(actual) * (100.0 if percent else 1.0)
    if math.isnan(got):
        return "JSON value is NaN"
    tolerance = 0.5 * 10.0 ** (-decimals) + 1e-9
    if abs(got - value) > tolerance:
        shown_got = f"{got:.{decimals}f}" + ("%" if percent else "")
        return f"README shows {shown}, JSON gives {actual!r} ({shown_got})"
    return None


def check_text(text: str, root: Path = ROOT) -> list[str]:
    """Every mismatch between the README text's check comments and their JSON files."""
    problems = []
    checks = parse_checks(text)
    if not checks:
        return ["no '<!-- check: FILE KEY VALUE -->' comments found"]
    lines = text.splitlines()
    cache: dict[str, object] = {}
    for c in checks:
        where = f"line {c.line}: {c.path} {c.key}"
        visible = COMMENT_RE.sub("", lines[c.line - 1])
        if c.shown.lstrip("+") not in visible:
            problems.append(f"{where}: {c.shown} does not appear in the line's visible text")
        if c.path not in cache:
            try:
                cache[c.path] = json.loads((root / c.path).read_text(encoding="utf-8"))
            except FileNotFoundError:
                cache[c.path] = FileNotFoundError
            except json.JSONDecodeError as exc:
                cache[c.path] = exc
        data = cache[c.path]
        if data is FileNotFoundError:
            problems.append(f"{where}: file not found")
            continue
        if isinstance(data, json.JSONDecodeError):
            problems.append(f"{where}: not valid JSON ({data})")
            continue
        try:
            actual = lookup(data, c.key)
        except KeyError as exc:
            problems.append(f"{where}: no key {exc.args[0]!r}")
            continue
        why = compare(c.shown, actual)
        if why:
            problems.append(f"{where}: {why}")
    return problems


def check_readme(readme: Path | None = None, root: Path = ROOT) -> list[str]:
    readme = readme or root / "README.md"
    return check_text(readme.read_text(encoding="utf-8"), root)


def main(argv: list[str]) -> int:
    readme = Path(argv[1]) if len(argv) > 1 else None
    problems = check_readme(readme)
    for p in problems:
        print(p)
    if not problems:
        n = len(parse_checks((readme or ROOT / "README.md").read_text(encoding="utf-8")))
        print(f"all {n} README numbers match their JSON files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
