"""Text formatting shared by the checks, so every message spells shapes and numbers alike."""

from __future__ import annotations

from collections.abc import Sequence


def shape_text(shape: Sequence[int | None]) -> str:
    """Python tuple text, with an unknown dimension (None) shown as N: (N, 784)."""
    items = ["N" if dim is None else str(int(dim)) for dim in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
