"""The package list in pyproject.toml must match the folders, or `pip install .` breaks."""

from __future__ import annotations

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOTS = {"core", "agent", "memory", "editors", "apps"}


def test_every_python_folder_is_packaged_and_every_package_exists():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    declared = set(config["packages"])
    on_disk = set()
    for root in ROOTS:
        for init in (REPO / root).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO).as_posix().replace("/", ".")
            on_disk.add("editmind." + relative)
    assert on_disk == declared, {"missing from pyproject": on_disk - declared, "not on disk": declared - on_disk}
    assert mapping == {f"editmind.{root}": root for root in ROOTS}


def test_no_bare_top_level_modules_are_installed():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert all(name.startswith("editmind.") for name in config["packages"])
