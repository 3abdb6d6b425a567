"""A number the student computes, checked in the notebook without the notebook giving it away.

The test cell holds the SHA-256 of the expected integer, not the integer: the student learns
whether the formula is right, not the number to copy (the verifier compares the value itself).
"""

from __future__ import annotations

import hashlib
from typing import Any


def answer_digest(value: int) -> str:
    """The digest a test cell holds for the integer `value`."""
    return hashlib.sha256(f"course_lib:{int(value)}".encode()).hexdigest()


def assert_answer(value: Any, digest: str, name: str, hint: str) -> None:
    """`value` is an integer whose digest is `digest`; else one French sentence with `hint`."""
    import numpy as np

    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise AssertionError(f"{name} doit être un nombre entier")
    if answer_digest(int(value)) != digest:
        raise AssertionError(f"{name} vaut {int(value)}, ce n'est pas le bon nombre : {hint}")
