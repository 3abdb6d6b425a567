"""Fetching a student's variable: a missing or None variable means the exercise is not done."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def assert_defined(value: T | None, name: str) -> T:
    """Return value, or fail with "<name> n'est pas encore défini" when it is None (the notebook stub)."""
    if value is None:
        raise AssertionError(f"{name} n'est pas encore défini")
    return value


def require(namespace: Mapping[str, Any], name: str) -> Any:
    """Return namespace[name] for a hidden test, e.g. require(globals(), "x_train")."""
    return assert_defined(namespace.get(name), name)
