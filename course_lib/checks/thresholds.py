"""Partial credit from a measured score (e.g. test accuracy) and two thresholds."""

from __future__ import annotations

from typing import NamedTuple

from course_lib.french import decimal, percent, points_text, threshold_percent


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
    name: str = "précision",
) -> Grade:
    """All points when value >= full, points * partial_fraction when value >= partial, else 0.

    Higher values are better; value and thresholds are fractions, shown as percentages. A
    hidden test cell can print the message and end with the points, which nbgrader then
    records as partial credit.
    """
    if partial > full:
        raise ValueError(f"the partial threshold {partial:g} is above the full one {full:g}")
    if value >= full:
        earned, verdict = float(points), f"au moins {threshold_percent(full)}"
    elif value >= partial:
        earned = points * partial_fraction
        verdict = f"au moins {threshold_percent(partial)} mais moins de {threshold_percent(full)}"
    else:
        earned, verdict = 0.0, f"moins de {threshold_percent(partial)}"
    return Grade(earned, f"{name} {percent(value)} : {verdict}, {points_text(earned)} sur {decimal(points)}")
