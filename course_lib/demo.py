"""`course demo`: the whole instructor workflow on a simulated class, in a folder of its own.

Releases the practicals, makes the submissions of a small class (complete, partial, wrong
architecture, empty, broken notebook) from the repository's fixture notebooks, collects them
as a folder of flat files, grades, writes feedback, exports and reports, and returns where
each output is.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat

from course_lib.cells import grade_id, is_answer
from course_lib.pipeline.collect import collect, format_report
from course_lib.release import copy_course
from course_lib.course import released_notebook
from course_lib.data import configured_mnist_dir
from course_lib.errors import CourseError
from course_lib.gradebook import gradebook_url
from course_lib.instructor.export import export
from course_lib.instructor.feedback import feedback
from course_lib.pipeline.grade import format_summary, grade
from course_lib.instructor.report import report

REPOSITORY = Path(__file__).resolve().parents[1]
FIXTURES = REPOSITORY / "grader_tests" / "fixtures"
MARKER = ".course-demo"
# Simulated students: name → fixture notebook (or the release / a broken file).
CLASS = {
    "alice": "solution",
    "bruno": "partial",
    "chloe": {"tp1_dense": "wrong_hidden_units", "tp2_convol": "valid_padding_first_conv"},
    "david": "release",
    "emma": "broken",
}
MORE_STUDENTS = {
    "farid": {"tp1_dense": "undertrained", "tp2_convol": "undertrained"},
    "gabrielle": {"tp1_dense": "not_normalised", "tp2_convol": "no_channel_axis"},
    "hugo": {"tp1_dense": "crash_in_one_cell", "tp2_convol": "keras_example_convnet"},
}


def _quiet(line: str) -> None:
    """The default of `say`: the Python API prints nothing."""


def demo(
    *, folder: str | Path = "demo-course", full_class: bool = False, unsafe_no_sandbox: bool = False,
    say: Callable[[str], None] = _quiet,
) -> dict[str, list[str]]:
    """Run the workflow on TP1 with five students (both practicals, eight students with
    `full_class`) in `folder`, made anew; tell each step to `say`; return output kind → paths.
    Student code runs in the bubblewrap sandbox, unless `unsafe_no_sandbox` (said)."""
    if not FIXTURES.is_dir():
        raise CourseError(f"the demo needs the repository's fixture notebooks ({FIXTURES})")
    root = _fresh_folder(Path(folder))
    assignments = ["tp1_dense", "tp2_convol"] if full_class else ["tp1_dense"]
    students = {**CLASS, **MORE_STUDENTS} if full_class else CLASS
    mnist = configured_mnist_dir(REPOSITORY)
    say(f"release {', '.join(assignments)} into {root / 'release'}")
    copy_course(origin=REPOSITORY, folder=root, assignments=assignments, mnist_dir=mnist)
    roster = _roster(root, students)
    pages = []
    for assignment in assignments:
        incoming = _simulated_submissions(root, assignment, students)
        say(f"\ncollect {assignment} from {incoming}, the class list being {roster.name}")
        say(format_report(collect(assignment=assignment, source=incoming, course_dir=root, roster=roster)))
        sandbox = "WITHOUT a sandbox (--unsafe-no-sandbox)" if unsafe_no_sandbox else "in the bubblewrap sandbox"
        say(f"\ngrade {assignment}: each notebook runs {sandbox}, the verifier decides the points")
        for summary in grade(assignment=assignment, unsafe_no_sandbox=unsafe_no_sandbox, course_dir=root):
            say(format_summary(summary))
        pages += feedback(assignment=assignment, course_dir=root)
    exports = [export(course_dir=root, detail=detail).path for detail in (False, True)]
    for assignment in assignments:
        moodle = export(course_dir=root, format="moodle", assignment=assignment)
        say(f"\nMoodle import of {assignment}: final grades only; left out until final: "
            + "; ".join(moodle.left_out))
        exports.append(moodle.path)
    return {
        "course": [str(root)],
        "gradebook": [gradebook_url(root)],
        "feedback": [str(page) for page in pages],
        "export": [str(path) for path in exports],
        "report": [str(report(course_dir=root))],
    }


def _roster(root: Path, students: dict) -> Path:
    """The class list, as an instructor exports it: id, names, e-mail and Moodle's ID number."""
    path = root / "roster.csv"
    lines = ["id,first_name,last_name,email,idnumber"] + [
        f"{student},{student.capitalize()},Demo,{student}@example.org,E2026-{number:03d}"
        for number, student in enumerate(students, start=1)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _fresh_folder(folder: Path) -> Path:
    """`folder`, emptied if an earlier demo made it; any other existing folder is left alone."""
    if folder.exists():
        if not (folder / MARKER).is_file():
            raise CourseError(f"{folder} exists and is not a demo course: choose another --folder")
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("made by `course demo`; the next demo deletes it\n")
    return folder.resolve()


def _simulated_submissions(root: Path, assignment: str, students: dict) -> Path:
    """The class's notebooks as flat files `<student>_<notebook>.ipynb` in incoming/."""
    incoming = root / "incoming" / assignment
    incoming.mkdir(parents=True)
    released = released_notebook(root, assignment)
    for student, kind in students.items():
        kind = kind[assignment] if isinstance(kind, dict) else kind
        target = incoming / f"{student}_{released.name}"
        if kind == "release":
            shutil.copy(released, target)
        elif kind == "broken":
            target.write_text(released.read_text()[:5000])  # a notebook cut short: invalid JSON
        elif kind == "partial":
            nbformat.write(_partial(released, FIXTURES / assignment / "solution.ipynb"), target)
        else:
            shutil.copy(FIXTURES / assignment / f"{kind}.ipynb", target)
    return incoming


def _partial(released: Path, solution: Path) -> nbformat.NotebookNode:
    """The release with the first half of its code answers completed, the rest untouched."""
    answers = {grade_id(c): c.source for c in nbformat.read(solution, 4).cells}
    notebook = nbformat.read(released, 4)
    code_answers = [cell for cell in notebook.cells if is_answer(cell) and cell.cell_type == "code"]
    for cell in code_answers[: len(code_answers) // 2]:
        cell.source = answers[grade_id(cell)]
    return notebook
