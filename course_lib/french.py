"""French text for students: the checks' messages, the self-check, feedback pages and plots
spell shapes, numbers and points alike.

Numbers are written the French way, as students read them: a decimal comma, a narrow no-break
space between thousands (623 290) and a no-break space before % (97,27 %).
"""

from __future__ import annotations

from collections.abc import Sequence

THOUSANDS = "\u202f"  # narrow no-break space
BEFORE_PERCENT = "\u00a0"  # no-break space


def shape_text(shape: Sequence[int | None]) -> str:
    """Python tuple text, with an unknown dimension (None) shown as N: (N, 784)."""
    items = ["N" if dim is None else str(int(dim)) for dim in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def integer(n: int) -> str:
    """623290 → "623 290" (narrow no-break spaces between thousands)."""
    return f"{int(n):,}".replace(",", THOUSANDS)


def decimal(value: float) -> str:
    """format(value, "g") with a decimal comma: 0.5 → "0,5", 3.0 → "3", 1e-06 → "1e-06"."""
    return format(value, "g").replace(".", ",")


def percent(fraction: float, digits: int = 2) -> str:
    """A fraction as a percentage with `digits` decimals: 0.97274 → "97,27 %", (0.97, 0) → "97 %"."""
    return f"{100 * fraction:.{digits}f}".replace(".", ",") + BEFORE_PERCENT + "%"


def threshold_percent(fraction: float) -> str:
    """A threshold as a percentage without trailing zeros: 0.97 → "97 %", 0.975 → "97,5 %"."""
    hundredths = round(100 * fraction, 9)  # 100 * 0.975 is 97.49999999999999
    return decimal(hundredths) + BEFORE_PERCENT + "%"


def points_text(points: float) -> str:
    """A count of points, singular below 2 as French has it: "0 point", "1,5 point", "2 points"."""
    return f"{decimal(points)} point" + ("s" if abs(points) >= 2 else "")


def score(value: float | None) -> str:
    """A score as a French page writes it: 0.525 → "0,53", 17.0 → "17", None → ""."""
    return "" if value is None else decimal(round(value, 2))
