"""In the student's kernel: write what the verifier needs as plain data, never decide anything.

The grader inserts one cell after each graded test cell, calling `run(grade_id, items)`. Each
item names an expression of the notebook's namespace and how to save its value: `value`
(JSON), `array` (.npy, pickle-free, with its shape, dtype and range; a sample of rows when
`rows` is given), `model` (.keras), `call` (the function's result on the given arguments,
saved as a model or an array) or `file` (a copy of a regular file the student wrote).

Whatever this module writes comes from a kernel that student code may have changed in any way:
the verifier treats it as data to check against the reference, never as a verdict.
"""

from __future__ import annotations

import builtins
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

# Imported before the student's first cell (course_lib.pipeline.prepare): these names keep the
# builtins of a clean kernel even if student code replaces them in the builtins module later.
bool, dict, eval, float, int, isinstance, len, list, str, tuple, type = (  # noqa: A001
    builtins.bool, builtins.dict, builtins.eval, builtins.float, builtins.int, builtins.isinstance,
    builtins.len, builtins.list, builtins.str, builtins.tuple, builtins.type,
)
# The grader's expressions are evaluated with these builtins, never the notebook's.
BUILTINS = dict(vars(builtins))

# Absolute, fixed when the module is imported (before any student code): a notebook that
# changes its working directory does not send the exports elsewhere.
EXPORTS = (Path(".grader") / "exports").absolute()
INDEX = "index.json"
MAX_JSON_ITEMS = 10_000


def run(grade_id: str, items: list[dict[str, Any]]) -> None:
    """Export `items` for the test cell `grade_id`; an item that fails records its error."""
    import __main__

    namespace = vars(__main__)
    folder = EXPORTS / grade_id
    folder.mkdir(parents=True, exist_ok=True)
    index = {}
    for item in items:
        try:
            index[item["key"]] = _export(folder, item, namespace)
        except Exception as error:  # the student's fault is data too
            index[item["key"]] = {"error": f"{type(error).__name__}: {error}"[:300]}
    (folder / INDEX).write_text(json.dumps(index))


def _export(folder: Path, item: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    kind, key = item["kind"], item["key"]
    if kind == "file":
        source = Path(item["expr"])
        if source.is_symlink() or not source.is_file():
            raise FileNotFoundError(f"{source} is not a file")
        name = f"{key}{source.suffix}"  # Keras reads a model only from a .keras file
        shutil.copyfile(source, folder / name)
        return {"file": name}
    # The grader's expression, on the student's variables; a variable shadowing a builtin (a
    # student's own `isinstance`) is not seen, the builtins are those of a clean kernel.
    scope = {name: value for name, value in namespace.items() if name not in BUILTINS}
    value = eval(item["expr"], {**scope, "__builtins__": BUILTINS})  # noqa: S307
    if kind == "call":
        # Lists are arrays of numbers; numbers and strings are passed as they are.
        args = [np.asarray(a, dtype=float) if isinstance(a, list) else a for a in item.get("args", [])]
        value = value(*args)
        kind = "model" if _is_model(value) else "array"
    if kind == "value":
        return {"value": _plain(value, 0), "type": _type_name(value)}
    if kind == "model":
        if not _is_model(value):
            raise TypeError(f"not a Keras model (got {type(value).__name__})")
        value.save(folder / f"{key}.keras")
        return {"file": f"{key}.keras"}
    if kind == "array":
        return _save_array(folder, key, value, item.get("rows"))
    raise ValueError(f"unknown export kind {kind}")


def _save_array(folder: Path, key: str, value: Any, rows: list[int] | None) -> dict[str, Any]:
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"not an array of numbers (got {type(value).__name__}, dtype {array.dtype})")
    meta = {"shape": list(array.shape), "dtype": str(array.dtype), "file": f"{key}.npy"}
    if array.size:
        finite = bool(np.all(np.isfinite(array)))
        meta.update(finite=finite, min=float(np.nanmin(array)), max=float(np.nanmax(array)))
    if rows is not None:
        if array.ndim == 0:
            raise TypeError("a number, not an array")
        rows = [row for row in rows if row < len(array)]
        meta["rows"] = rows
        array = array[rows]
    np.save(folder / f"{key}.npy", np.require(array, requirements="C"), allow_pickle=False)  # a number stays 0-d
    return meta


def _is_model(value: Any) -> bool:
    import keras

    return isinstance(value, keras.Model)


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def _plain(value: Any, depth: int) -> Any:
    """JSON-ready copy of numbers, strings, lists and dicts; other objects become None."""
    if depth > 4:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    # The stored value of an int or float, whatever a subclass says of itself (__int__, __eq__).
    if isinstance(value, int):
        return int.__add__(value, 0)
    if isinstance(value, np.integer):
        return int.__add__(int(np.int64(value)), 0)
    if isinstance(value, (float, np.floating)):
        number = float.__add__(float(np.float64(value)), 0.0)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, str):
        return value[:MAX_JSON_ITEMS]
    if isinstance(value, (list, tuple)) and len(value) <= MAX_JSON_ITEMS:
        return [_plain(item, depth + 1) for item in value]
    if isinstance(value, dict) and len(value) <= 100:
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    return None


def export_names(items: list[dict[str, Any]]) -> set[str]:
    """The file names `run` may write for `items` (beside INDEX): what the grader packs."""
    names = set()
    for item in items:
        key = item["key"]
        if item["kind"] == "file":
            names.add(f"{key}{Path(item['expr']).suffix}")
        else:
            names |= {f"{key}.npy", f"{key}.keras"}
    return names


def exports_dir(work: str | os.PathLike) -> Path:
    """Where the exports of a run are, seen from outside the sandbox."""
    return Path(work) / ".grader" / "exports"
