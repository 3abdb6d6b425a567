"""The instructor's overview of a grading run: one self-contained HTML page.

Per assignment: how scores spread, which graded cells students fail, the accuracy their models
reach and how long grading took; then every student who needs a look, most severe first
(tampered, failed, rejected, timeouts, …, manual grading pending, not submitted), with counts.
The plots are PNG data URIs, so the page can be mailed or archived as a single file; their
ticks stay readable at any class size.
"""

from __future__ import annotations

import math
import statistics
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from course_lib.course import course_root
from course_lib.instructor.roll import attention_counts, class_roll, require_work
from course_lib.instructor.output import figure_data_uri, number, output_path, write_html
from course_lib.results import CellKind, CellStatus, Status, SubmissionResult as Result

Plot = tuple[str, Figure, str]  # heading, figure, alternative text


def report(*, course_dir: str | Path = ".", output: str | Path | None = None) -> Path:
    """Write the report of the class (default reports/report.html) and return its path."""
    root = course_root(course_dir)
    standings = class_roll(root)
    results = [s.result for s in standings if s.result]  # sorted by assignment, then student
    require_work(root, standings)
    sections = [
        _section(assignment, list(group))
        for assignment, group in groupby(results, key=attrgetter("assignment"))
    ]
    attention = [
        {"assignment": s.assignment, "student": s.student, "state": s.state,
         "reasons": [a.text for a in s.attention]}
        for s in sorted(standings, key=lambda s: (s.rank, s.assignment, s.student))
        if s.attention
    ]
    path = output_path(root, output, "reports/report.html")
    return write_html(path, "report.html", sections=sections, attention=attention,
                      counts=attention_counts(standings))


def section_plots(assignment: str, results: list[Result]) -> list[Plot]:
    """The plots of one assignment's results, as figures (the report embeds them as PNG)."""
    accuracies = [r.accuracy for r in results if r.accuracy is not None]
    plots = [_score_histogram(assignment, results), _pass_rates(assignment, results)]
    if accuracies:
        plots.append(_accuracy_histogram(assignment, accuracies))
    plots.append(_grading_times(assignment, results))
    return plots


def _section(assignment: str, results: list[Result]) -> dict[str, Any]:
    """The summary numbers and the plots of one assignment."""
    scores = [r.score for r in results]
    accuracies = [r.accuracy for r in results if r.accuracy is not None]
    plots = [{"heading": heading, "uri": figure_data_uri(figure), "alt": alt}
             for heading, figure, alt in section_plots(assignment, results)]
    return {
        "assignment": assignment,
        "count": len(results),
        "graded": sum(r.status == Status.GRADED for r in results),
        "mean": statistics.mean(scores),
        "median": statistics.median(scores),
        "max_score": max(r.max_score for r in results),
        "plots": plots,
        "without_accuracy": not accuracies,
    }


def _axis(figure_size: tuple[float, float] = (6.5, 3.2)) -> tuple[Figure, Any]:
    """A figure outside pyplot: rendered by Agg, whatever backend the caller's session uses."""
    figure = Figure(figsize=figure_size)
    return figure, figure.subplots()


def _histogram(values: list[float], bins: Any, xlabel: str) -> tuple[Figure, Any]:
    """Submissions counted per bin of `values`; at most 6 ticks on x, whatever the range."""
    figure, axis = _axis()
    axis.hist(values, bins=bins, edgecolor="white")
    axis.set_xlabel(xlabel)
    axis.set_ylabel("submissions")
    axis.xaxis.set_major_locator(MaxNLocator(nbins=6))
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure, axis


def _decimals(step: float) -> int:
    """Decimals of a percent axis whose ticks are `step` apart (a fraction): no more than
    needed to tell neighbouring ticks apart."""
    return max(0, -math.floor(math.log10(100 * step) + 1e-9))


def _score_histogram(assignment: str, results: list[Result]) -> Plot:
    scores = [r.score for r in results]
    top = max(r.max_score for r in results)
    figure, _ = _histogram(scores, np.linspace(0, top or 1, 11), f"score (out of {number(top)})")
    alt = (
        f"Histogram of the scores of {assignment}: {len(scores)} submissions, "
        f"mean {number(statistics.mean(scores))}, median {number(statistics.median(scores))}, "
        f"lowest {number(min(scores))}, highest {number(max(scores))}, out of {number(top)}."
    )
    return "Score distribution", figure, alt


def _pass_rates(assignment: str, results: list[Result]) -> Plot:
    """Share of submissions passing each auto-graded cell (manual answers have no pass/fail),
    each bar labelled with the cell's title as students read it (its grade id when it has none)."""
    outcomes: dict[str, list[bool]] = {}
    titles: dict[str, str] = {}
    for result in results:
        for cell in result.cells:
            if cell.kind == CellKind.AUTO:
                outcomes.setdefault(cell.grade_id, []).append(cell.status == CellStatus.PASSED)
                titles.setdefault(cell.grade_id, cell.title or cell.grade_id)
    rates = {grade_id: sum(passed) / len(passed) for grade_id, passed in outcomes.items()}
    labels = [_short(titles[grade_id]) for grade_id in rates]
    figure, axis = _axis((6.5, 1 + 0.35 * max(len(rates), 1)))
    axis.barh(range(len(rates)), list(rates.values()))
    axis.set_yticks(range(len(rates)), labels)
    axis.invert_yaxis()  # the notebook's order, top to bottom
    axis.set_xlim(0, 1)
    axis.xaxis.set_major_formatter(PercentFormatter(1))
    axis.set_xlabel("submissions passing the cell")
    listed = ", ".join(f"{titles[grade_id]} ({grade_id}) {rate:.0%}" for grade_id, rate in rates.items())
    alt = (
        f"Bar chart of the share of the {len(results)} submissions of {assignment} passing "
        f"each auto-graded cell: {listed or 'no auto-graded cell'}."
    )
    return "Pass rate per graded cell", figure, alt


def _short(title: str, limit: int = 45) -> str:
    """A bar's label: a long title cut at a word, with an ellipsis."""
    return title if len(title) <= limit else title[:limit].rsplit(" ", 1)[0] + " …"


def _accuracy_histogram(assignment: str, accuracies: list[float]) -> Plot:
    figure, axis = _histogram(accuracies, 10, "accuracy on the reference MNIST test set")
    locator = MaxNLocator(nbins=6, steps=[1, 2, 5, 10])
    axis.xaxis.set_major_locator(locator)
    ticks = locator()
    axis.xaxis.set_major_formatter(PercentFormatter(1, decimals=_decimals(ticks[1] - ticks[0])))
    alt = (
        f"Histogram of the test accuracy reached by {len(accuracies)} models of {assignment}, "
        f"measured by the grader: lowest {min(accuracies):.2%}, "
        f"median {statistics.median(accuracies):.2%}, highest {max(accuracies):.2%}."
    )
    return "Accuracy reached", figure, alt


def _grading_times(assignment: str, results: list[Result]) -> Plot:
    seconds = [r.seconds for r in results]
    slowest = max(results, key=attrgetter("seconds"))
    figure, _ = _histogram(seconds, 10, "grading time per submission (s)")
    alt = (
        f"Histogram of the grading time of the {len(seconds)} submissions of {assignment}: "
        f"median {statistics.median(seconds):.0f} s, total {sum(seconds):.0f} s, "
        f"slowest {slowest.seconds:.0f} s ({slowest.student})."
    )
    return "Grading time per submission", figure, alt
