"""Late work: the course's rule (course.toml `[late]`), and what a late submission loses.

The rule is one of nbgrader's two (`none`: the points stay; `zero`: a late submission scores
0, nbgrader's own choice for this course) or the points-per-hour rule nbgrader's documentation
gives as its example of a custom plugin (`per-hour`: `points_per_hour` for each started hour
after the due date, down to 0). The grader records, when it grades, the due date, the submission
time, the rule and the penalty (`late` in the result); the penalty is recomputed when written
answers get their points in formgrader (nbgrader's own total in formgrader keeps the one of the
grading: `course export` is the one to trust), and every later step (status, export, report,
the student's page) says the due date, the submission time and the penalty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

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

    def french(self) -> str:
        return {NONE: "le retard n'est pas pénalisé", ZERO: "un rendu en retard vaut 0"}.get(
            self.method, f"{points_text(self.points_per_hour)} par heure de retard commencée")


@dataclass(frozen=True)
class Late:
    """A submission handed in after its due date (UTC times, ISO 8601), the rule, and what it
    lost of its score: recomputed when written answers get their points (`for_score`)."""

    due: str
    submitted: str
    penalty: float
    method: str
    points_per_hour: float = 0.0

    @property
    def rule(self) -> LateRule:
        return LateRule(self.method, self.points_per_hour)

    @property
    def seconds(self) -> float:
        return (datetime.fromisoformat(self.submitted) - datetime.fromisoformat(self.due)).total_seconds()

    def for_score(self, score: float) -> Late:
        """The same lateness, for a submission now worth `score` before the penalty."""
        return replace(self, penalty=self.rule.penalty(score, self.seconds))

    def english(self) -> str:
        """'late: submitted 2026-01-06 09:00 UTC, due 2026-01-05 18:00 UTC (15 h late): -8 points (…)'"""
        when = late_words(datetime.fromisoformat(self.due), datetime.fromisoformat(self.submitted))
        return f"{when}: {self._lost()} ({self.rule.english()})"

    def short(self) -> str:
        """A spreadsheet's cell: '2026-01-06 09:12 UTC (due 2026-01-05 18:00 UTC): 15 h late, -8 points'."""
        due, submitted = datetime.fromisoformat(self.due), datetime.fromisoformat(self.submitted)
        return (f"{submitted:%Y-%m-%d %H:%M} UTC (due {due:%Y-%m-%d %H:%M} UTC): "
                f"{_duration(self.seconds / 3600)} late, {self._lost()}")

    def french(self) -> str:
        """What the student's page says."""
        due, submitted = datetime.fromisoformat(self.due), datetime.fromisoformat(self.submitted)
        lost = f"pénalité de retard de {points_text(round(self.penalty, 2))}" if self.penalty else "pas de pénalité"
        return (f"Rendu le {submitted:%d/%m/%Y à %H:%M} (UTC), après la date limite du {due:%d/%m/%Y à %H:%M} "
                f"(UTC ; {self.rule.french()}) : {lost}.")

    def same_lateness(self, other: Late | None) -> bool:
        """Whether `other` has this due date, submission time and rule (the penalty aside)."""
        return other is not None and replace(other, penalty=self.penalty) == self

    def _lost(self) -> str:
        return f"-{self.penalty:g} points" if self.penalty else "no penalty"


def late_rule(root: Path) -> LateRule:
    """The course's rule, from course.toml's `[late]` (default: zero), checked."""
    table = course_settings(root).get("late", {})
    if not isinstance(table, dict):
        raise CourseError('course.toml: late is a table ([late] with penalty = "zero", "none" or "per-hour")')
    unknown = set(table) - {"penalty", "points_per_hour"}
    method = table.get("penalty", DEFAULT)
    if unknown or method not in (NONE, ZERO, PER_HOUR):
        raise CourseError('course.toml [late]: penalty is "none", "zero" or "per-hour" (with points_per_hour)'
                          + (f"; unknown setting {', '.join(sorted(unknown))}" if unknown else ""))
    points = table.get("points_per_hour", 0)
    number = isinstance(points, (int, float)) and not isinstance(points, bool) and math.isfinite(points)
    if method == PER_HOUR and not (number and points > 0):
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
    return Late(due=due.isoformat(), submitted=submitted.isoformat(), penalty=0.0, method=rule.method,
                points_per_hour=rule.points_per_hour).for_score(score)


def late_words(due: datetime, submitted: datetime) -> str:
    """'late: submitted …, due … (15 h late)', for the instructor (UTC times)."""
    hours = (submitted - due).total_seconds() / 3600
    return f"late: submitted {submitted:%Y-%m-%d %H:%M} UTC, due {due:%Y-%m-%d %H:%M} UTC ({_duration(hours)} late)"


def _duration(hours: float) -> str:
    minutes = max(1, round(hours * 60))
    if minutes < 60:
        return f"{minutes} min"
    if round(hours, 1) < 10:
        return f"{hours:.1f} h"
    return f"{hours:.0f} h" if round(hours) < 48 else f"{hours / 24:.1f} days"
