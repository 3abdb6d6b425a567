"""Checks of the arrays students prepare (x_train, y_train...), one-sentence messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from course_lib.french import decimal, shape_text
from .namespace import assert_defined

# numpy dtype kinds a check may ask for, and how a message names them.
_KIND_NAMES = {
    "f": "un tableau de réels",
    "i": "un tableau d'entiers signés",
    "u": "un tableau d'entiers positifs (uint8…)",
    "iu": "un tableau d'entiers",
    "b": "un tableau de booléens",
}


def as_array(x: Any, name: str) -> np.ndarray:
    """Convert anything array-like (numpy, tf tensor, list) or fail with a message naming x."""
    assert_defined(x, name)
    try:
        array = np.asarray(x)
    except Exception:  # any conversion failure means "not array-like", whatever its type
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise AssertionError(f"{name} n'est pas un tableau de nombres (type reçu : {type(x).__name__})")
    return array


def shape_matches(shape: Sequence[int], expected: Sequence[int | None]) -> bool:
    """True when shape equals expected, a None in expected matching any size."""
    return len(shape) == len(expected) and all(
        want is None or want == dim for dim, want in zip(shape, expected)
    )


def assert_array(
    x: Any,
    name: str,
    shape: Sequence[int | None] | None = None,
    dtype_kind: str | None = None,
    value_range: tuple[float, float] | None = None,
) -> np.ndarray:
    """Check shape (None = any size), dtype kind (a key of _KIND_NAMES) and value range, in that order."""
    array = as_array(x, name)
    if shape is not None:
        assert_shape(array.shape, shape, name)
    if dtype_kind is not None:
        assert_kind(array.dtype, dtype_kind, name)
    if value_range is not None and array.size:
        finite = bool(np.all(np.isfinite(array)))
        assert_values_in(array.min(), array.max(), finite, value_range, name)
    return array


# The three steps of assert_array on plain data, which the verifier also runs on the metadata
# of exported arrays (course_lib.specs): the same rules, the same messages.
def assert_shape(shape: Sequence[int], expected: Sequence[int | None], name: str) -> None:
    """Check shape against expected, a None in expected matching any size."""
    if not shape_matches(shape, expected):
        raise AssertionError(f"{name} a la forme {shape_text(shape)}, attendu {shape_text(expected)}")


def assert_kind(dtype: Any, kind: str, name: str) -> None:
    """Check a dtype (or its name) is of kind, a key of _KIND_NAMES."""
    if kind not in _KIND_NAMES:
        raise ValueError(f"dtype_kind must be one of {sorted(_KIND_NAMES)}, got {kind!r}")
    if np.dtype(dtype).kind not in kind:
        raise AssertionError(f"{name} est de type {dtype}, attendu {_KIND_NAMES[kind]}")


def assert_values_in(
    found_low: float, found_high: float, finite: bool, value_range: tuple[float, float], name: str
) -> None:
    """Check the values, whose minimum is found_low and maximum found_high, are finite and in value_range."""
    if not finite:
        raise AssertionError(f"{name} contient des valeurs NaN ou infinies")
    low, high = value_range
    if found_low < low or found_high > high:
        raise AssertionError(
            f"{name} a des valeurs entre {decimal(found_low)} et {decimal(found_high)}, "
            f"attendu entre {decimal(low)} et {decimal(high)}"
        )


def assert_one_hot(y: Any, labels: Any, name: str = "y_train", num_classes: int = 10) -> None:
    """Check y is the one-hot encoding of the integer labels: shape, 0/1 rows, then classes."""
    labels = np.asarray(labels)
    array = assert_array(y, name, shape=(len(labels), num_classes))
    one_hot_rows = np.all((array == 0) | (array == 1), axis=1) & (array.sum(axis=1) == 1)
    if not one_hot_rows.all():
        row = int(np.argmin(one_hot_rows))
        raise AssertionError(f"{name}[{row}] n'est pas une ligne one-hot (attendu un seul 1, le reste à 0)")
    classes = array.argmax(axis=1)
    wrong = classes != labels
    if wrong.any():
        row = int(np.argmax(wrong))
        raise AssertionError(f"{name}[{row}] code la classe {classes[row]}, attendu la classe {labels[row]}")
