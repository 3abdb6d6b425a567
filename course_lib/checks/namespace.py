"""Fetching a student's variable: a missing or None variable means the exercise is not done."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def assert_defined(value: T | None, name: str) -> T:
    """Return value, or fail with "<name> n'est pas encore défini" when it is None (the notebook stub)."""
    if value is None:
        raise AssertionError(f"{name} n'est pas encore défini")
    return value
