"""The adversarial corpus (grader_tests/adversarial/corpus.py), graded for real.

Every case and its honest twin are graded by `course grade`'s function in the sandbox, in two
courses graded at once (the cases are independent). Each case must earn exactly its twin's
points (less the cells whose data the verifier refuses), carry the tampered flag where the
kernel's verdict was forged, leave the course's files unchanged and nothing running, and let
the rest of its batch be graded normally; bombs and loops cost at most their limits.
"""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from adversarial.corpus import CASES, CASES_DIR, LISTENER_PORT, TWINS, notebooks
from e2e import MINI, mini_course, points, sandbox_processes

from course_lib.pipeline.collect import place_submission
from course_lib.pipeline.grade import grade
from course_lib.results import read_result

pytestmark = pytest.mark.slow

# The gradebook's tables that grading must never change (grades are recorded elsewhere).
DEFINITIONS = ("assignment", "notebook", "base_cell", "grade_cells", "solution_cells",
               "source_cell")
WALL_SECONDS = 150  # MINI_SETTINGS


def tree_digest(folder: Path) -> str:
    """Names and contents of the files below `folder` (a link: where it points)."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        content = str(path.readlink()).encode() if path.is_symlink() else (
            path.read_bytes() if path.is_file() else b"")
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + content)
    return digest.hexdigest()


def gradebook_definitions(course: Path) -> list:
    with sqlite3.connect(course / "gradebook.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type='table'")}
        return [(t, sorted(map(repr, db.execute(f"select * from {t}")))) for t in DEFINITIONS if t in tables]


def course_state(course: Path) -> dict:
    return {
        "source": tree_digest(course / "source"),
        "release": tree_digest(course / "release"),
        "config": hashlib.sha256((course / "nbgrader_config.py").read_bytes()).hexdigest(),
        "gradebook": gradebook_definitions(course),
        **{f"submitted/{p.name}": tree_digest(p) for p in sorted((course / "submitted").iterdir())},
    }


class Listener:
    """A TCP listener on 127.0.0.1 that keeps whatever it receives."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", LISTENER_PORT))
        self.server.settimeout(0.5)
        self.received: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                self.received.append(connection.recv(1024))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, mnist_dir):
    """Grade every case and twin; return (results by name, states before and after, what the
    listener received, sandbox processes left, the host's /tmp/detached.txt)."""
    names = sorted([*TWINS, *CASES])
    halves = [names[0::2], names[1::2]]
    courses = [mini_course(tmp_path_factory.mktemp(f"corpus{i}") / "course", mnist_dir) for i in (0, 1)]
    for course, half in zip(courses, halves):
        for name in half:
            place_submission(course_dir=course, assignment=MINI, student=name,
                             notebook=CASES_DIR / f"{name}.ipynb")
    _plant_links(courses[0])
    before = [course_state(course) for course in courses]
    Path("/tmp/detached.txt").unlink(missing_ok=True)
    listener = Listener()
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda course: grade(assignment=MINI, course_dir=course), courses))
    finally:
        listener.close()
    halves[0] += ["link_beside_notebook", "notebook_is_a_link"]
    results = {name: read_result(course, MINI, name) for course, half in zip(courses, halves) for name in half}
    after = [course_state(course) for course in courses]
    return {
        "results": results, "courses": {name: c for c, half in zip(courses, halves) for name in half},
        "before": before, "after": after, "received": listener.received,
        "left": sandbox_processes(), "detached": Path("/tmp/detached.txt").exists(),
    }


LINK_READER = "import os\nprint(open('gradebook_link', 'rb').read(100) if os.path.exists('gradebook_link') else 'no link here')"


def _plant_links(course: Path) -> None:
    """Two submissions with symbolic links to the gradebook: one beside a good notebook (which
    tries to read it), one in place of the notebook."""
    beside = course / "submitted" / "link_beside_notebook" / MINI
    beside.mkdir(parents=True)
    notebook = nbformat.read(CASES_DIR / "twin_solution.ipynb", 4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(LINK_READER))
    nbformat.write(notebook, beside / f"{MINI}.ipynb")
    (beside / "gradebook_link").symlink_to(course / "gradebook.db")
    instead = course / "submitted" / "notebook_is_a_link" / MINI
    instead.mkdir(parents=True)
    (instead / f"{MINI}.ipynb").symlink_to(course / "gradebook.db")


def test_the_corpus_is_the_one_the_table_describes(tmp_path, mnist_dir):
    course = mini_course(tmp_path / "course", mnist_dir)
    release = nbformat.read(course / "release" / MINI / f"{MINI}.ipynb", 4)
    expected = notebooks(release)
    assert sorted(p.stem for p in CASES_DIR.glob("*.ipynb")) == sorted(expected)
    assert len(CASES) >= 24
    for name, notebook in expected.items():
        assert nbformat.read(CASES_DIR / f"{name}.ipynb", 4) == notebook, f"{name} is out of date: rebuild it"


def test_every_submission_is_graded_and_the_twins_as_expected(corpus):
    results = corpus["results"]
    assert all(result is not None for result in results.values())
    assert points(results["twin_solution"]) == {
        "test_relu": 1, "test_counts": 1, "test_prepare": 2, "test_onehot": 1,
        "test_architecture": 2, "test_predict": 1, "test_accuracy": 2,
    }
    assert results["twin_partial"]["score"] == 7  # relu (1) and the hidden layer (2) are wrong
    assert results["twin_release"]["score"] == 0
    for name in TWINS:
        assert results[name]["status"] == "graded", name
        assert not results[name]["tampered"], (name, results[name]["tampering"], results[name]["notes"])


@pytest.mark.parametrize("name", sorted(name for name, case in CASES.items() if not case.bomb))
def test_an_attack_earns_exactly_what_its_twin_earns(corpus, name):
    case, result = CASES[name], corpus["results"][name]
    twin = points(corpus["results"][case.twin])
    expected = {cell: 0.0 if cell in case.lose else value for cell, value in twin.items()}
    assert (result["status"], points(result)) == (case.status, expected), result["message"]
    assert result["tampered"] == case.tampered, (result["tampering"], result["notes"])


@pytest.mark.parametrize("name", sorted(name for name, case in CASES.items() if case.bomb or case.status != "graded"))
def test_bombs_and_loops_cost_at_most_their_limits(corpus, name):
    result = corpus["results"][name]
    assert result["seconds"] <= WALL_SECONDS + 5
    assert result["status"] in ("graded", "timeout", "kernel-died")


def test_attacks_change_nothing_outside_their_sandbox(corpus):
    assert corpus["after"] == corpus["before"]
    assert corpus["received"] == []
    assert corpus["left"] == []
    assert not corpus["detached"]


@pytest.mark.parametrize("name", sorted(name for name, case in CASES.items() if "absent" in case.extra))
def test_what_an_attack_looked_for_it_did_not_find(corpus, name):
    course = corpus["courses"][name]
    executed = nbformat.read(course / "autograded" / name / MINI / f"{MINI}.ipynb", 4)
    outputs = [out.get("text", "") for cell in executed.cells for out in cell.get("outputs", [])]
    assert outputs, "the attack's cell did not run"
    assert not any(CASES[name].extra["absent"] in text for text in outputs), outputs


def test_links_to_the_gradebook_are_never_followed(corpus):
    beside = corpus["results"]["link_beside_notebook"]
    assert points(beside) == points(corpus["results"]["twin_solution"])
    executed = nbformat.read(corpus["courses"]["link_beside_notebook"] / "autograded" / "link_beside_notebook"
                             / MINI / f"{MINI}.ipynb", 4)
    outputs = [out.get("text", "") for cell in executed.cells for out in cell.get("outputs", [])]
    assert any("no link here" in text for text in outputs), outputs
    instead = corpus["results"]["notebook_is_a_link"]
    assert (instead["status"], instead["score"]) == ("invalid-notebook", 0)
    assert "symbolic link" in instead["message"]


def test_output_is_bounded(corpus):
    course = corpus["courses"]["output_100mb"]
    assert (course / "autograded" / "output_100mb" / MINI / f"{MINI}.ipynb").stat().st_size < 8 << 20

