"""Partial credit from a measured score (e.g. test accuracy) and two thresholds."""

from __future__ import annotations

from typing import NamedTuple


class Grade(NamedTuple):
    """Points earned and the sentence explaining them to the student."""

    points: float
    message: str


def grade_threshold(
    value: float,
    full: float,
    partial: float,
    points: float,
    *,
    partial_fraction: float = 0.5,
    name: str = "accuracy",
) -> Grade:
    """All points when value >= full, points * partial_fraction when value >= partial, else 0.

    Higher values are better. A hidden test cell can print the message and end with the points,
    which nbgrader then records as partial credit.
    """
    if partial > full:
        raise ValueError(f"the partial threshold {partial:g} is above the full one {full:g}")
    if value >= full:
        earned, verdict = float(points), f"reaches {full:g}"
    elif value >= partial:
        earned, verdict = points * partial_fraction, f"reaches {partial:g} but not {full:g}"
    else:
        earned, verdict = 0.0, f"is below {partial:g}"
    return Grade(earned, f"{name} {value:g} {verdict}: {earned:g} of {points:g} points")
