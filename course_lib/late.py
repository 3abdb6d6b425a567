"""Late work: the course's rule (course.toml `[late]`), and what a late submission loses.

The rule is one of nbgrader's two (`none`: the points stay; `zero`: a late submission scores
0, nbgrader's own choice for this course) or the points-per-hour rule nbgrader's documentation
gives as its example of a custom plugin (`per-hour`: `points_per_hour` for each started hour
after the due date, down to 0). The grader computes the penalty once, when it grades; every
later step (status, export, report, the student's page) reads the `late` record of the result
and says the due date, the submission time and the penalty.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from course_lib.course import course_settings, due_date
from course_lib.errors import CourseError
from course_lib.french import points_text
from course_lib.submissions import submission_time, submitted_dir

NONE, ZERO, PER_HOUR = "none", "zero", "per-hour"
DEFAULT = ZERO


@dataclass(frozen=True)
class LateRule:
    method: str = DEFAULT
    points_per_hour: float = 0.0

    def penalty(self, score: float, seconds_late: float) -> float:
        """What a submission `seconds_late` after the due date loses of `score`."""
        if seconds_late <= 0 or self.method == NONE:
            return 0.0
        if self.method == ZERO:
            return score
        return min(score, self.points_per_hour * math.ceil(seconds_late / 3600))

    def english(self) -> str:
        return {NONE: "no late penalty", ZERO: "a late submission scores 0"}.get(
            self.method, f"{self.points_per_hour:g} point(s) per started hour late")


@dataclass(frozen=True)
class Late:
    """A submission handed in after its due date (UTC times, ISO 8601), and what it lost."""

    due: str
    submitted: str
    penalty: float
    rule: str  # the rule, in English, as the instructor set it

    @property
    def hours(self) -> float:
        return (datetime.fromisoformat(self.submitted) - datetime.fromisoformat(self.due)).total_seconds() / 3600

    def english(self) -> str:
        """'late: submitted 2026-01-06 09:00 UTC, due 2026-01-05 18:00 UTC (15 h late): -8 points (…)'"""
        when = late_words(datetime.fromisoformat(self.due), datetime.fromisoformat(self.submitted))
        return f"{when}: -{self.penalty:g} points ({self.rule})"

    def short(self) -> str:
        """'15 h late, -8 points': a spreadsheet's cell."""
        return f"{_duration(self.hours)} late, -{self.penalty:g} points"

    def french(self) -> str:
        """What the student's page says."""
        due, submitted = datetime.fromisoformat(self.due), datetime.fromisoformat(self.submitted)
        return (f"Rendu le {submitted:%d/%m/%Y à %H:%M} (UTC), après la date limite du {due:%d/%m/%Y à %H:%M} "
                f"(UTC) : pénalité de retard de {points_text(round(self.penalty, 2))}.")

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def late_rule(root: Path) -> LateRule:
    """The course's rule, from course.toml's `[late]` (default: zero), checked."""
    table = course_settings(root).get("late", {})
    unknown = set(table) - {"penalty", "points_per_hour"}
    method = table.get("penalty", DEFAULT)
    if unknown or method not in (NONE, ZERO, PER_HOUR):
        raise CourseError('course.toml [late]: penalty is "none", "zero" or "per-hour" (with points_per_hour)'
                          + (f"; unknown setting {', '.join(sorted(unknown))}" if unknown else ""))
    points = table.get("points_per_hour", 0)
    if method == PER_HOUR and (not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0):
        raise CourseError('course.toml [late]: penalty "per-hour" needs points_per_hour, a number above 0')
    return LateRule(method, float(points) if method == PER_HOUR else 0.0)


def lateness(root: Path, assignment: str, student: str, score: float) -> Late | None:
    """How late the collected submission is and what it loses of `score`; None when it is on
    time, the assignment has no due date or the submission has no readable time (the
    result's notes say so)."""
    due = due_date(root, assignment)
    try:
        submitted = submission_time(submitted_dir(root, student, assignment))
    except ValueError:
        return None
    if due is None or submitted is None or submitted <= due:
        return None
    rule = late_rule(root)
    return Late(due=due.isoformat(), submitted=submitted.isoformat(),
                penalty=rule.penalty(score, (submitted - due).total_seconds()), rule=rule.english())


def late_words(due: datetime, submitted: datetime) -> str:
    """'late: submitted …, due … (15 h late)', for the instructor (UTC times)."""
    hours = (submitted - due).total_seconds() / 3600
    return f"late: submitted {submitted:%Y-%m-%d %H:%M} UTC, due {due:%Y-%m-%d %H:%M} UTC ({_duration(hours)} late)"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{hours:.0f} h" if hours >= 10 else f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"
