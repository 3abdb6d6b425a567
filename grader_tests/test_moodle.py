"""Moodle round trip: a "download all submissions" zip in Moodle's own naming, collected with
the class roster, graded, exported for Moodle's grade import, and the feedback pages packed for
Moodle's "upload multiple feedback files in a zip"."""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from e2e import ADVERSARIAL, MINI, mini_course

from course_lib.cli import main
from course_lib.gradebook import open_gradebook

pytestmark = pytest.mark.slow
CASES = ADVERSARIAL / "cases"
NOTEBOOK = f"{MINI}.ipynb"
ROSTER = (
    "id,first_name,last_name,email,idnumber\n"
    "jdupont,Jeanne,Dupont,jeanne@example.org,E2026-001\n"
    "elefevre,Élodie,Lefèvre-Roy,elodie@example.org,E2026-002\n"
    "zndiaye,Zed,Ndiaye,zed@example.org,E2026-003\n"
    "mabsent,Marc,Absent,marc@example.org,E2026-004\n"
)
DUE = datetime(2026, 11, 20, 18, 0)  # local time, as Moodle writes the zip's entry dates
ON_TIME, LATE = (2026, 11, 20, 17, 30, 0), (2026, 11, 21, 9, 15, 0)
# participant id → (the zip's folder prefix, its file, entry date): Moodle >= 4.1 names the
# folders `…_assignsubmission_file/`, older Moodle `…_assignsubmission_file_/`.
SUBMISSIONS = {
    "1001": ("Jeanne Dupont_1001_assignsubmission_file/", CASES / "twin_solution.ipynb", ON_TIME),
    "1002": ("Élodie Lefèvre-Roy_1002_assignsubmission_file_/", CASES / "twin_partial.ipynb", LATE),
    "1003": ("Zed Ndiaye_1003_assignsubmission_file/", None, ON_TIME),  # a broken notebook
    "1004": ("Inconnu Total_1004_assignsubmission_file/", CASES / "twin_solution.ipynb", ON_TIME),
}


def _moodle_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for prefix, notebook, when in SUBMISSIONS.values():
            data = notebook.read_bytes() if notebook else b'{"cells": [{"cell_type": "code",'
            archive.writestr(zipfile.ZipInfo(prefix + NOTEBOOK, date_time=when), data)
    return path


def _moodle_participant(entry: str) -> tuple[str, str, str]:
    """What Moodle's importziplib.php reads of a feedback file's name: explode('_', $name, 5)
    gives the participant id, the plugin type and name, and the file's own name."""
    name, participant, plugin_type, plugin, filename = entry.split("_", 4)
    assert (plugin_type, plugin) == ("assignfeedback", "file") and participant.isdigit()
    return name, participant, filename


def test_a_moodle_zip_round_trips(tmp_path, mnist_dir, capsys):
    course = mini_course(tmp_path / "course", mnist_dir)
    with open(course / "course.toml", "a") as settings:
        due = DUE.astimezone().isoformat()  # the zip's local times, as an offset date-time
        settings.write(f"\n[assignments.{MINI}]\ndue = {due}\n")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    at = ["--course-dir", str(course)]

    # Collect: each case reported.
    assert main([*at, "collect", MINI, str(_moodle_zip(tmp_path / "moodle.zip")), "--roster", str(roster)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(lines) == {"elefevre", "jdupont", "zndiaye", "inconnu_total", "mabsent"}
    assert lines["jdupont"].split()[1:] == ["collected", NOTEBOOK]
    assert "collected   late: submitted 2026-11-21" in lines["elefevre"]
    assert "rejected    not a notebook: invalid JSON" in lines["zndiaye"]
    assert "rejected    not in the roster (--allow-unknown collects it)" in lines["inconnu_total"]
    assert "not-submitted" in lines["mabsent"]

    # Grade; the instructor grades Jeanne's written answer by hand (formgrader's part), and
    # leaves Élodie's pending.
    # As the instructor's terminal shows it: no third-party warning block, no TensorFlow C++ line.
    graded = subprocess.run([sys.executable, "-m", "course_lib.cli", *at, "grade", MINI],
                            capture_output=True, text=True)
    assert graded.returncode == 0, graded.stderr
    noise = [line for line in graded.stderr.replace("\r", "\n").splitlines()
             if line.strip() and not line.startswith(f"grading {MINI}:")]
    assert noise == []
    # The state `course status` says: each has a written answer to grade by hand.
    assert [line.split()[:2] for line in graded.stdout.splitlines()] == [
        ["elefevre", "manual-pending"], ["jdupont", "manual-pending"]]
    assert "late: submitted 2026-11-21" in graded.stdout.splitlines()[0]
    with open_gradebook(course) as gradebook:
        grade = gradebook.find_grade("answer_why", MINI, MINI, "jdupont")
        grade.manual_score = 1.0
        gradebook.db.commit()
    capsys.readouterr()

    # Export for Moodle's grade import: the roster's ID numbers, final grades only, no blank.
    assert main([*at, "export", "--format", "moodle"]) == 0
    out, err = capsys.readouterr()
    exported = course / "exports" / f"grades-moodle-{MINI}.csv"
    assert out == f"exported {exported}\n"
    rows = list(csv.reader(exported.open(encoding="utf-8")))
    assert rows == [["ID number", MINI], ["E2026-001", "11"]]
    assert all(cell.strip() for row in rows for cell in row)
    assert err.startswith(f"left out of {exported.name} (4): ")
    for student, why in (("elefevre", "manual grading pending: answer_why"),
                         ("inconnu_total", "rejected: not in the roster"),
                         ("mabsent", "not submitted"), ("zndiaye", "rejected: not a notebook")):
        assert f"{student} ({why}" in err

    # Feedback zip for Moodle: one file per participant, named as Moodle reads it back.
    assert main([*at, "feedback", MINI, "--moodle-zip"]) == 0
    out, err = capsys.readouterr()
    packed = course / "exports" / f"feedback-moodle-{MINI}.zip"
    assert f"moodle-zip {packed}\n" in out and err == ""
    with zipfile.ZipFile(packed) as archive:
        entries = {_moodle_participant(name): archive.read(name) for name in archive.namelist()}
    assert set(entries) == {("Jeanne Dupont", "1001", f"{MINI}.html"),
                            ("Élodie Lefèvre-Roy", "1002", f"{MINI}.html")}
    for (_, participant, _), page in entries.items():
        student = {"1001": "jdupont", "1002": "elefevre"}[participant]
        assert page == (course / "feedback" / student / MINI / f"{MINI}.html").read_bytes()

    # Moodle's offline grading worksheet, as the English interface downloads it (a BOM, quoted
    # fields, a participant the course never collected): filled by participant id.
    worksheet = tmp_path / "Grades-mini.csv"
    worksheet.write_bytes(("\ufeff" + WORKSHEET_EN).encode("utf-8"))
    assert main([*at, "export", "--format", "moodle-worksheet", "--worksheet", str(worksheet)]) == 0
    out, err = capsys.readouterr()
    filled = course / "exports" / f"grading-worksheet-{MINI}.csv"
    assert out == f"exported {filled}\n" and "elefevre (manual grading pending: answer_why)" in err
    data = filled.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    original = list(csv.reader(WORKSHEET_EN.splitlines()))
    assert rows[0] == original[0]
    jeanne = rows[1]
    assert jeanne[4] == f"{11 * 20 / _max_score(course):.2f}" and jeanne[9].startswith("Note du correcteur")
    assert rows[2:] == original[2:]  # Élodie pending, Zed rejected, a stranger: untouched


WORKSHEET_EN = (
    'Identifier,"Full name","Email address",Status,Grade,"Maximum Grade","Grade can be changed",'
    '"Last modified (submission)","Last modified (grade)","Feedback comments"\n'
    '"Participant 1001","Jeanne Dupont",jeanne@example.org,"Submitted for grading",,20.00,Yes,'
    '"Friday, 20 November 2026, 5:30 PM",-,\n'
    '"Participant 1002","Élodie Lefèvre-Roy",elodie@example.org,"Submitted for grading",,20.00,Yes,'
    '"Saturday, 21 November 2026, 9:15 AM",-,\n'
    '"Participant 1003","Zed Ndiaye",zed@example.org,"Submitted for grading",,20.00,Yes,'
    '"Friday, 20 November 2026, 5:30 PM",-,\n'
    '"Participant 1999","Someone Else",else@example.org,"No submission",,20.00,Yes,-,-,\n'
)


def _max_score(course: Path) -> float:
    from course_lib.results import read_result

    return read_result(course, MINI, "jdupont").max_score
