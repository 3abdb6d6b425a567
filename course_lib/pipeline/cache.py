"""The execution cache: a submission's sandboxed run is kept beside its result, keyed by all
that the run depends on, so that grading it again (a threshold, a template or the roster
changed, `--force`) re-trains nothing and only the verifier works again.

The key covers the notebook as the sandbox runs it (the student's answers merged into the
release, without the verifier's random sample of rows), the submitted notebook's bytes,
course_lib's sources, the versions of what executes it (Python, TensorFlow, Keras, the kernel)
and the sandbox's settings. The entry is the runner's report, how the run ended, the exports
zip, and the export requests it ran with: a hit replays them to the verifier unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from course_lib.atomic import write_atomic

ENTRY, EXPORTS = "execution.json", "exports.zip"
RUN = ("cells_run", "runner_exit", "seconds", "timed_out", "oom_killed")  # how the run went
RUNTIME = ("tensorflow", "keras", "numpy", "nbclient", "ipykernel", "nbformat")


@functools.cache
def fingerprint() -> str:
    """course_lib's sources (but the instructor's side) and the versions of what runs a
    notebook: what a coordinator and its workers must share, and what an execution depends on
    besides its notebook."""
    import course_lib

    digest = hashlib.sha256(platform.python_version().encode())
    for name in RUNTIME:
        digest.update(f"{name}={_version(name)}".encode())
    package = Path(course_lib.__file__).parent
    for path in sorted(package.rglob("*.py")):
        if path.parent.name == "instructor":  # the reports and pages read results, never run
            continue
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "none"


def execution_key(*, prepared_without_exports: Any, notebook_bytes: bytes, limits: dict[str, Any],
                  cell_timeout: int, sandbox: bool, seed: int) -> str:
    """The digest of everything the sandboxed run of a submission depends on."""
    cells = [{k: v for k, v in cell.items() if k != "id"}  # new cells get random ids
             for cell in prepared_without_exports["cells"]]
    parts = {
        "notebook": {**prepared_without_exports, "cells": cells}, "submitted": hashlib.sha256(notebook_bytes).hexdigest(),
        "fingerprint": fingerprint(), "limits": limits, "cell_timeout": cell_timeout, "sandbox": sandbox,
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def load(folder: Path, key: str) -> tuple[dict[str, Any], list] | None:
    """The cached execution under `key` and the export requests it ran with, or None."""
    try:
        entry = json.loads((folder / ENTRY).read_text())
        exports = (folder / EXPORTS).read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or not {*RUN, "requests"} <= set(entry):
        return None  # another version's entry
    if entry.get("key") != key or entry.get("exports_sha256") != hashlib.sha256(exports).hexdigest():
        return None  # another submission's, or cut short while being written
    execution = {name: entry[name] for name in RUN}
    return {**execution, "exports": exports}, entry["requests"]


def store(folder: Path, key: str, execution: dict[str, Any], requests: dict[str, list]) -> None:
    """Keep `execution` (run with export `requests`) under `key`, replacing the entry before;
    each file is written whole, then renamed (a reader never sees half of one)."""
    folder.mkdir(parents=True, exist_ok=True)
    entry = {name: execution[name] for name in RUN}
    entry.update(key=key, requests=requests, exports_sha256=hashlib.sha256(execution["exports"]).hexdigest())
    write_atomic(folder / EXPORTS, execution["exports"])
    write_atomic(folder / ENTRY, json.dumps(entry).encode())
