"""Checks of the arrays students prepare (x_train, y_train...), one-sentence messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._format import shape_text
from .namespace import assert_defined

# numpy dtype kinds a check may ask for, and how a message names them.
_KIND_NAMES = {
    "f": "a float",
    "i": "a signed integer",
    "u": "an unsigned integer",
    "iu": "an integer",
    "b": "a boolean",
}


def as_array(x: Any, name: str) -> np.ndarray:
    """Convert anything array-like (numpy, tf tensor, list) or fail with a message naming x."""
    assert_defined(x, name)
    try:
        array = np.asarray(x)
    except Exception:  # any conversion failure means "not array-like", whatever its type
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise AssertionError(f"{name} is not an array of numbers (got {type(x).__name__})")
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
    if shape is not None and not shape_matches(array.shape, shape):
        raise AssertionError(
            f"{name} has shape {shape_text(array.shape)}, expected {shape_text(shape)}"
        )
    if dtype_kind is not None:
        if dtype_kind not in _KIND_NAMES:
            raise ValueError(f"dtype_kind must be one of {sorted(_KIND_NAMES)}, got {dtype_kind!r}")
        if array.dtype.kind not in dtype_kind:
            raise AssertionError(
                f"{name} has dtype {array.dtype}, expected {_KIND_NAMES[dtype_kind]} array"
            )
    if value_range is not None and array.size:
        low, high = value_range
        if not np.all(np.isfinite(array)):
            raise AssertionError(f"{name} contains NaN or infinite values")
        found_low, found_high = array.min(), array.max()
        if found_low < low or found_high > high:
            raise AssertionError(
                f"{name} has values in [{found_low:g}, {found_high:g}], "
                f"expected values in [{low:g}, {high:g}]"
            )
    return array


def assert_close(
    x: Any, reference: Any, name: str, atol: float = 1e-6, rtol: float = 1e-5
) -> None:
    """Compare with the teacher's reference values and point at the worst element."""
    expected = np.asarray(reference, dtype=np.float64)
    values = assert_array(x, name, shape=expected.shape).astype(np.float64)
    mismatch = ~np.isclose(values, expected, rtol=rtol, atol=atol, equal_nan=True)
    if mismatch.any():
        with np.errstate(invalid="ignore"):
            difference = np.where(mismatch, np.abs(values - expected), 0.0)
        difference = np.nan_to_num(difference, nan=np.inf)  # a NaN against a number is the worst
        index = np.unravel_index(np.argmax(difference), difference.shape)
        raise AssertionError(
            f"{name} differs from the expected values "
            f"(largest difference {difference[index]:g} at index {shape_text(index)})"
        )


def assert_one_hot(y: Any, labels: Any, name: str = "y_train", num_classes: int = 10) -> None:
    """Check y is the one-hot encoding of the integer labels: shape, 0/1 rows, then classes."""
    labels = np.asarray(labels)
    array = assert_array(y, name, shape=(len(labels), num_classes))
    one_hot_rows = np.all((array == 0) | (array == 1), axis=1) & (array.sum(axis=1) == 1)
    if not one_hot_rows.all():
        row = int(np.argmin(one_hot_rows))
        raise AssertionError(f"{name}[{row}] is not a one-hot row (expected a single 1 and zeros)")
    classes = array.argmax(axis=1)
    wrong = classes != labels
    if wrong.any():
        row = int(np.argmax(wrong))
        raise AssertionError(f"{name}[{row}] encodes class {classes[row]}, expected class {labels[row]}")
