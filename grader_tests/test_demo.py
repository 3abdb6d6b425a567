"""The README's main job: `course demo` runs end to end and its outputs agree with each other."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest

from e2e import UNTOUCHED, in_calibrated_range

from course_lib.cli import main
from course_lib.gradebook import open_gradebook
from course_lib.results import read_results

pytestmark = pytest.mark.slow


# Demo students whose notebook is an end-to-end fixture as it is (course_lib.demo.CLASS).
SAME_NOTEBOOKS = {"alice": "solution", "chloe": "wrong_hidden_units", "david": UNTOUCHED}


def graded_as(result: dict) -> tuple:
    return result.status, result.score, [c.points for c in result.cells]


def test_demo_outputs_exist_and_agree(tmp_path, capsys, monkeypatch, fixture_batch):
    monkeypatch.chdir(tmp_path)
    demo = subprocess.run([sys.executable, "-m", "course_lib.cli", "demo"], capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    # The terminal holds the demo's own lines and grading's progress bar, no warning block.
    noise = [line for line in demo.stderr.replace("\r", "\n").splitlines()
             if line.strip() and not line.startswith("grading tp1_dense:")]
    assert noise == []
    root = tmp_path / "demo-course"
    assert re.search(r"^emma\s+rejected\s+not a notebook: invalid JSON", out, flags=re.M)
    for kind in ("feedback", "export", "report"):
        paths = re.findall(rf"^  {kind}\s+(\S+)$", out, flags=re.M)
        assert paths and all((tmp_path / p).is_file() for p in paths), kind
    [gradebook] = re.findall(r"^  gradebook\s+sqlite:///(\S+)$", out, flags=re.M)
    assert Path(gradebook) == root / "gradebook.db" and Path(gradebook).is_file()

    results = {r.student: r for r in read_results(root, "tp1_dense")}
    assert set(results) == {"alice", "bruno", "chloe", "david"}
    assert results["alice"].score == 23 and results["chloe"].score == 21
    # alice hands in the solution: trained with her own seed, it lands in the calibration's range.
    inside, bounds = in_calibrated_range("tp1_dense", results["alice"].accuracy)
    assert inside, (results["alice"].accuracy, bounds)
    rows = {r["student_id"]: r for r in csv.DictReader((root / "exports" / "grades.csv").open())}
    with open_gradebook(root) as gradebook:
        for student, result in results.items():
            submission = gradebook.find_submission("tp1_dense", student)
            assert submission.score == result.score == float(rows[student]["tp1_dense"])
            page = (root / "feedback" / student / "tp1_dense" / "TP1_MNIST_dense.html").read_text()
            assert f"{result.score:g} / {result.max_score:g}" in page
    assert rows["emma"]["tp1_dense_status"] == "rejected"
    assert rows["emma"]["needs_attention"].startswith("tp1_dense: rejected: not a notebook: invalid JSON")
    moodle = list(csv.reader((root / "exports" / "grades-moodle-tp1_dense.csv").open()))
    final = [s for s in ("alice", "bruno", "chloe", "david") if rows[s]["tp1_dense_status"] == "graded"]
    assert moodle[0] == ["ID number", "tp1_dense"] and len(moodle) == 1 + len(final)
    assert all(cell for row in moodle for cell in row)  # a blank cell would clear a Moodle grade

    # Two local Dask workers grade the demo class as one process did: here the runs come from
    # the execution cache, the verifier works on the workers...
    again = subprocess.run([sys.executable, "-m", "course_lib.cli", "grade", "tp1_dense", "--workers", "2",
                            "--force", "--course-dir", str(root)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    regraded = {r.student: r for r in read_results(root, "tp1_dense")}
    assert {s: graded_as(r) for s, r in regraded.items()} == {s: graded_as(r) for s, r in results.items()}
    assert all(r.cached for r in regraded.values())
    # ...and the notebooks the demo's students handed in (fixtures), run again as one batch on
    # two local workers (the end-to-end tests' batch), get what one process gave them.
    batch = fixture_batch("tp1_dense").results
    assert {s: graded_as(results[s]) for s in SAME_NOTEBOOKS} == {
        s: graded_as(batch[fixture]) for s, fixture in SAME_NOTEBOOKS.items()}

    # A second demo replaces the first one's folder; any other folder is left alone.
    (tmp_path / "mine").mkdir()
    assert main(["demo", "--folder", "mine"]) == 2
    assert "is not a demo course" in capsys.readouterr().err
