"""Where a result file's numbers came from: the software and machine that produced them.

Shared by `editmind eval knowedit --json` and the benchmarks, so the two kinds of result file
describe their runs with the same keys and can be compared side by side.
"""

from __future__ import annotations

import os
import platform
import time
from importlib.metadata import PackageNotFoundError, version

import torch


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def run_environment() -> dict:
    """Versions, threads and load at the start: what makes two timings comparable or not."""
    try:
        editmind_version = version("editmind")
    except PackageNotFoundError:
        editmind_version = "unknown"
    return {
        "editmind": editmind_version, "torch": torch.__version__, "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "load_average_at_start": list(os.getloadavg()), "started_utc": utc_now(),
    }


def git_state(checkout: str | os.PathLike[str]) -> dict:
    """The commit a result was measured at, and whether the code (not data/results) was dirty."""
    import subprocess

    def git(*cmd: str) -> str:
        try:
            return subprocess.run(["git", *cmd], cwd=checkout, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "HEAD") or None,
            "dirty": bool(git("status", "--porcelain", "--", "agent", "memory", "editors", "apps"))}
