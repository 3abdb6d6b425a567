"""What `export`, `report` and `feedback` share: the results to show, figures, HTML pages.

The three read the same grading.json results (course_lib.results) and must agree on how a
score is written and a page is made, so that is decided here, once (what needs attention is
course_lib.instructor.roll's).
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from matplotlib import pyplot
from matplotlib.figure import Figure

from course_lib import french
from course_lib.data import MnistError, configured_mnist_dir, load_mnist
from course_lib.errors import CourseError
from course_lib.gradebook import with_manual_grades
from course_lib.results import read_results

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class ExportedFile:
    """A file written for another system (Moodle), and who was left out of it, with why."""

    path: Path
    left_out: list[str] = field(default_factory=list)


def graded_results(root: Path, assignment: str | None = None) -> list[dict[str, Any]]:
    """The stored results (of one assignment, or all), with the manual grades given so far in
    formgrader; none at all is the instructor's error."""
    results = with_manual_grades(root, read_results(root, assignment))
    if not results:
        of = f"of {assignment} " if assignment else ""
        raise CourseError(
            f"no grading result {of}in {root / 'autograded'}: grade the submissions first"
        )
    return results


def number(value: float | None) -> str:
    """A score as people write it (17, 17.5, 0.33), '' when there is none."""
    return "" if value is None else f"{round(value, 2):g}"


def output_path(root: Path, output: str | Path | None, default: str) -> Path:
    """`output` as given, else `default` inside the course folder; its folder is created."""
    path = Path(output) if output is not None else root / default
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def figure_data_uri(figure: Figure) -> str:
    """The figure as a PNG data URI, so that a page is one file that can be mailed or uploaded.

    The figure is closed: pages hold dozens of them.
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    pyplot.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # messages come from students' code: never trusted as HTML
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.filters["number"] = number  # the instructor's pages
_TEMPLATES.filters["score"] = french.score  # the students' pages: a decimal comma


def render_html(template: str, **context: Any) -> str:
    """Render one of course_lib/instructor/templates/ (autoescaped)."""
    return _TEMPLATES.get_template(template).render(**context)


def write_html(path: Path, template: str, **context: Any) -> Path:
    """Render one of course_lib/instructor/templates/ into `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(template, **context), encoding="utf-8")
    return path


@functools.cache
def reference_test_labels(root: Path) -> np.ndarray:
    """MNIST's test labels, from the course's configured copy (loaded once per process): the
    feedback's confusion matrix and the similarity of mistakes compare predictions with them."""
    configured = configured_mnist_dir(root)
    try:
        _, (_, labels) = load_mnist(configured if configured and configured.is_dir() else None)
    except MnistError as error:
        raise CourseError(str(error)) from None
    return labels
