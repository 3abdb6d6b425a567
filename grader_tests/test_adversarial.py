"""The adversarial corpus (grader_tests/adversarial/corpus.py), graded for real.

Every case and its honest twin are graded by `course grade`'s function in the sandbox, in two
courses graded at once (the cases are independent). Each case must earn exactly its twin's
points (less the cells whose data the verifier refuses), carry the tampered flag where the
kernel's verdict was forged, leave the course's files unchanged and nothing running, and let
the rest of its batch be graded normally; bombs and loops cost at most their limits.
"""

from __future__ import annotations

import hashlib
import html.parser
import shutil
import json
import re
import socket
import sqlite3
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from adversarial.corpus import CASES, CASES_DIR, LISTENER_PORT, TWINS, notebooks
from e2e import MINI, mini_course, points, sandbox_processes

from course_lib.pipeline.collect import place_submission
from course_lib.pipeline.grade import format_summary, grade
from course_lib.results import read_result

pytestmark = pytest.mark.slow

# The gradebook's tables that grading must never change (grades are recorded elsewhere).
DEFINITIONS = ("assignment", "notebook", "base_cell", "grade_cells", "solution_cells",
               "source_cell")
WALL_SECONDS = 150  # MINI_SETTINGS


class _Active(html.parser.HTMLParser):
    """What a browser would run or load from a piece of HTML: scripts, frames, objects,
    event handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "iframe", "object", "embed", "foreignobject", "style", "form", "base", "meta"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or re.sub(r"\s", "", value or "").lower().startswith(("javascript:", "data:text")):
                self.found.append(f"{tag} {name}={value}")


def strings(value) -> list[str]:
    """Every string in a JSON-like value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


def active_parts(notebook) -> list[str]:
    """The active parts of `notebook` as nbconvert renders it: its markdown and HTML or SVG outputs."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    pieces = [markdown2html_mistune(c.source) for c in notebook.cells if c.cell_type == "markdown"]
    pieces += [str(o.get("data", {}).get(mime, "")) for c in notebook.cells for o in c.get("outputs", [])
               for mime in ("text/html", "image/svg+xml")]
    pieces += [markdown2html_mistune(str(o["data"]["text/markdown"])) for c in notebook.cells
               for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
    finder = _Active()
    for piece in pieces:
        finder.feed(piece)
    return finder.found


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
    _plant_files(courses[0])
    before = [course_state(course) for course in courses]
    Path("/tmp/detached.txt").unlink(missing_ok=True)
    scratch_before = set(Path(tempfile.gettempdir()).glob("course-*-*"))
    listener = Listener()
    try:
        with ThreadPoolExecutor(2) as pool:
            summaries = [s for batch in pool.map(lambda course: grade(assignment=MINI, course_dir=course), courses)
                         for s in batch]
    finally:
        listener.close()
    halves[0] += ["link_beside_notebook", "notebook_is_a_link", "timestamp_not_a_time"]
    results = {name: read_result(course, MINI, name) for course, half in zip(courses, halves) for name in half}
    after = [course_state(course) for course in courses]
    return {
        "results": results, "courses": {name: c for c, half in zip(courses, halves) for name in half},
        "before": before, "after": after, "received": listener.received,
        "left": sandbox_processes(), "detached": Path("/tmp/detached.txt").exists(),
        "summaries": {summary.student: summary for summary in summaries},
        "scratch_left": sorted(map(str, set(Path(tempfile.gettempdir()).glob("course-*-*")) - scratch_before)),
    }


LINK_READER = "import os\nprint(open('gradebook_link', 'rb').read(100) if os.path.exists('gradebook_link') else 'no link here')"


def _plant_files(course: Path) -> None:
    """Submissions that are more than a notebook: two with symbolic links to the gradebook (one
    beside a good notebook, which tries to read it, one in place of the notebook), one whose
    timestamp.txt is no time."""
    beside = course / "submitted" / "link_beside_notebook" / MINI
    beside.mkdir(parents=True)
    notebook = nbformat.read(CASES_DIR / "twin_solution.ipynb", 4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(LINK_READER))
    nbformat.write(notebook, beside / f"{MINI}.ipynb")
    (beside / "gradebook_link").symlink_to(course / "gradebook.db")
    instead = course / "submitted" / "notebook_is_a_link" / MINI
    instead.mkdir(parents=True)
    (instead / f"{MINI}.ipynb").symlink_to(course / "gradebook.db")
    # nbgrader's exchange copies the student's own timestamp.txt: one that is not a time.
    stamped = course / "submitted" / "timestamp_not_a_time" / MINI
    stamped.mkdir(parents=True)
    shutil.copy(CASES_DIR / "twin_solution.ipynb", stamped / f"{MINI}.ipynb")
    (stamped / "timestamp.txt").write_bytes(b"\x1b[2Kdemain, promis\xff" * 1000)


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
    assert results["twin_partial"].score == 7  # relu (1) and the hidden layer (2) are wrong
    assert results["twin_release"].score == 0
    for name in TWINS:
        assert results[name].status == "graded", name
        assert not results[name].tampered, (name, results[name].tampering, results[name].notes)


@pytest.mark.parametrize("name", sorted(name for name, case in CASES.items() if not case.bomb))
def test_an_attack_earns_exactly_what_its_twin_earns(corpus, name):
    case, result = CASES[name], corpus["results"][name]
    twin = points(corpus["results"][case.twin])
    expected = {cell: 0.0 if cell in case.lose else value for cell, value in twin.items()}
    assert (result.status, points(result)) == (case.status, expected), result.message
    assert result.tampered == case.tampered, (result.tampering, result.notes)


@pytest.mark.parametrize("name", sorted(name for name, case in CASES.items() if case.bomb or case.status != "graded"))
def test_bombs_and_loops_cost_at_most_their_limits(corpus, name):
    result = corpus["results"][name]
    assert result.seconds <= WALL_SECONDS + 5
    assert result.status in ("graded", "timeout", "kernel-died")


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


def test_a_notebook_of_an_earlier_release_is_no_tampering(corpus):
    result = corpus["results"]["earlier_release_notebook"]
    assert result.earlier_release and result.notes == [] and not result.tampered
    assert not corpus["results"]["twin_solution"].earlier_release


def test_a_timestamp_that_is_not_a_time_stops_nothing(corpus):
    result = corpus["results"]["timestamp_not_a_time"]
    assert (result.status, points(result)) == ("graded", points(corpus["results"]["twin_solution"]))
    assert result.tampered and any("timestamp.txt is not a submission time" in n for n in result.notes)


def test_links_to_the_gradebook_are_never_followed(corpus):
    beside = corpus["results"]["link_beside_notebook"]
    assert points(beside) == points(corpus["results"]["twin_solution"])
    executed = nbformat.read(corpus["courses"]["link_beside_notebook"] / "autograded" / "link_beside_notebook"
                             / MINI / f"{MINI}.ipynb", 4)
    outputs = [out.get("text", "") for cell in executed.cells for out in cell.get("outputs", [])]
    assert any("no link here" in text for text in outputs), outputs
    instead = corpus["results"]["notebook_is_a_link"]
    assert (instead.status, instead.score) == ("invalid-notebook", 0)
    assert "symbolic link" in instead.message


@pytest.mark.parametrize("name", ["output_100mb", "display_updates_flood"])
def test_output_is_bounded(corpus, name):
    course = corpus["courses"][name]
    assert (course / "autograded" / name / MINI / f"{MINI}.ipynb").stat().st_size < 8 << 20


def test_what_the_cache_keeps_is_what_the_verifier_asked_for(corpus):
    """Sparse files beside the exports (60 MB long each, no disk in the sandbox) are not kept."""
    private = corpus["courses"]["sparse_files_in_exports"] / "autograded" / "sparse_files_in_exports"
    twin = corpus["courses"]["twin_solution"] / "autograded" / "twin_solution"
    kept, honest = ((folder / f"{MINI}.grading" / "execution" / "exports.zip").stat().st_size
                    for folder in (private, twin))
    assert abs(kept - honest) < 1 << 20, (kept, honest)


@pytest.mark.parametrize("name", ["lambda_layer_in_model", "custom_layer_in_model", "huge_declared_model",
                                  "hdf5_bomb_in_model"])
def test_a_refused_model_is_never_kept(corpus, name):
    private = corpus["courses"][name] / "autograded" / name / f"{MINI}.grading"
    assert corpus["results"][name].files.model is None
    assert not (private / "model.keras").exists()


def test_the_autograded_notebook_formgrader_shows_is_inert(corpus):
    course = corpus["courses"]["script_in_markdown_and_outputs"]
    executed = nbformat.read(course / "autograded" / "script_in_markdown_and_outputs" / MINI / f"{MINI}.ipynb", 4)
    assert active_parts(executed) == []
    shown = json.dumps(executed)
    assert "Mon analyse" in shown and "&lt;script&gt;" in shown  # the student's text, shown as text
    kinds = {mime for cell in executed.cells for output in cell.get("outputs", []) for mime in output.get("data", {})}
    assert kinds <= {"text/plain", "text/html", "text/markdown", "image/svg+xml", "image/png"}, kinds


def test_no_control_character_reaches_the_instructor(corpus):
    result = corpus["results"]["terminal_escapes_in_an_error"]
    controls = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e]")
    assert [text for text in strings(result) if controls.search(text)] == []
    assert "\\x1b]52" in result.message  # shown, as an escape
    printed = format_summary(corpus["summaries"]["terminal_escapes_in_an_error"])
    assert "\x1b" not in printed and "\r" not in printed


def test_a_sandbox_leaves_no_scratch_folder(corpus):
    assert corpus["scratch_left"] == []

