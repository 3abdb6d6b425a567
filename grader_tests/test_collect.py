"""`collect` brings every format of submissions into submitted/, reports each student, and
never loses or silently replaces a submission. Fast: nothing is autograded."""

from __future__ import annotations

import csv
import json
import os
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import PROJECT

from course_lib.pipeline.collect import collect, format_report
from course_lib.release import copy_course
from course_lib.errors import CourseError
from course_lib.gradebook import open_gradebook

FIXTURES = PROJECT / "grader_tests" / "fixtures" / "tp1_dense"
SOLUTION = (FIXTURES / "solution.ipynb").read_bytes()
UNDERTRAINED = (FIXTURES / "undertrained.ipynb").read_bytes()
RELEASED = "TP1_MNIST_dense.ipynb"
# 2026-11-20 09:02 UTC: a submission time, given to files and expected in timestamp.txt.
SUBMITTED_AT = datetime(2026, 11, 20, 9, 2, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def released_course(tmp_path_factory, mnist_dir) -> Path:
    folder = tmp_path_factory.mktemp("course")
    return copy_course(
        origin=PROJECT, folder=folder, assignments=["tp1_dense"], mnist_dir=mnist_dir
    )


@pytest.fixture
def course(released_course, tmp_path) -> Path:
    """A fresh copy of the released course per test: collecting changes submitted/."""
    return Path(shutil.copytree(released_course, tmp_path / "course"))


def _write(path: Path, data: bytes | str, when: datetime = SUBMITTED_AT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def _collect(course: Path, source: Path | str, **options) -> dict[str, dict]:
    entries = collect(assignment="tp1_dense", source=source, course_dir=course, **options)
    json.dumps(entries)  # plain JSON-ready data
    return {entry["student"]: entry for entry in entries}


def _submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / "tp1_dense"


def _students(course: Path) -> dict[str, tuple]:
    with open_gradebook(course) as gradebook:
        return {s.id: (s.first_name, s.last_name, s.email) for s in gradebook.students}


def test_per_student_folders(course, tmp_path):
    source = tmp_path / "source"
    _write(source / "alice" / RELEASED, SOLUTION)
    _write(source / "alice" / ".ipynb_checkpoints" / "old-checkpoint.ipynb", "{}")
    _write(source / "bob" / "mon_tp1.ipynb", UNDERTRAINED)
    _write(source / "bob" / "notes.txt", "fait en binôme")
    entries = _collect(course, source)

    assert entries["alice"] == {
        "student": "alice", "status": "collected", "message": "",
        "source": str(source / "alice" / RELEASED), "notebook": RELEASED,
        "timestamp": "2026-11-20T09:02:00+00:00",
        "files": [
            {"file": str(source / "alice" / RELEASED), "action": "collected", "why": ""},
            {"file": str(source / "alice" / ".ipynb_checkpoints" / "old-checkpoint.ipynb"),
             "action": "ignored", "why": "hidden file"},
        ],
    }
    assert entries["bob"]["status"] == "collected"
    assert entries["bob"]["message"] == f"renamed mon_tp1.ipynb to {RELEASED}; ignored notes.txt"
    assert (_submitted(course, "alice") / RELEASED).read_bytes() == SOLUTION
    assert (_submitted(course, "bob") / RELEASED).read_bytes() == UNDERTRAINED
    assert sorted(p.name for p in _submitted(course, "bob").iterdir()) == [
        RELEASED, "timestamp.txt"
    ]
    assert set(_students(course)) == {"alice", "bob"}


def test_timestamp_is_the_files_time_as_nbgrader_reads_it(course, tmp_path):
    from nbgrader.coursedir import CourseDirectory

    _write(tmp_path / "source" / "alice" / RELEASED, SOLUTION)
    _collect(course, tmp_path / "source")
    folder = _submitted(course, "alice")
    assert (folder / "timestamp.txt").read_text() == "2026-11-20 09:02:00.000000 UTC\n"
    assert CourseDirectory().get_existing_timestamp(str(folder)) == datetime(2026, 11, 20, 9, 2)


def test_a_forged_timestamp_in_the_upload_is_ignored(course, tmp_path):
    """A student's own timestamp.txt (or one in the notebook's metadata) claims an early
    submission: the collected time is the file's, which the student does not set."""
    late = datetime(2026, 12, 24, 23, 59, tzinfo=timezone.utc)
    notebook = json.loads(SOLUTION)
    notebook["metadata"]["timestamp"] = "2026-11-01 08:00:00.000000 UTC"
    _write(tmp_path / "source" / "mallory" / RELEASED, json.dumps(notebook), when=late)
    _write(tmp_path / "source" / "mallory" / "timestamp.txt", "2026-11-01 08:00:00.000000 UTC\n")
    _collect(course, tmp_path / "source")
    assert (_submitted(course, "mallory") / "timestamp.txt").read_text() == "2026-12-24 23:59:00.000000 UTC\n"


BAD_FILES = {
    "rapport.pdf": (b"%PDF-1.4 not a notebook", "not a notebook: rapport.pdf"),
    "script.py": ("import tensorflow as tf\n", "not a notebook: script.py"),
    RELEASED: ("", "not a notebook: empty file"),
    "tp1.ipynb": (
        '{\n  "cells": [\n    {"cell_type": "code",,\n', "not a notebook: invalid JSON (line 3)"
    ),
    "binary.ipynb": (b"\x89PNG\r\n\x1a\n\xff", "not a notebook: not UTF-8 text"),
    "data.ipynb": ('{"cells": []}', 'not a notebook: JSON without "nbformat": 4'),
    "cell.ipynb": (
        '{"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": [{"cell_type": "code"}]}',
        "not a valid notebook: 'metadata' is a required property",
    ),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_is_reported_and_the_good_ones_collected(course, tmp_path, name):
    data, message = BAD_FILES[name]
    bad = _write(tmp_path / "source" / "carol" / name, data)
    _write(tmp_path / "source" / "alice" / RELEASED, SOLUTION)
    entries = _collect(course, tmp_path / "source")
    assert entries["carol"]["status"] == "rejected"
    assert entries["carol"]["message"] == message
    assert entries["carol"]["source"] == str(bad)
    assert not _submitted(course, "carol").exists()
    assert entries["alice"]["status"] == "collected"


def test_several_notebooks_none_with_the_released_name_are_rejected(course, tmp_path):
    _write(tmp_path / "source" / "dave" / "a.ipynb", SOLUTION)
    _write(tmp_path / "source" / "dave" / "b.ipynb", UNDERTRAINED)
    [entry] = _collect(course, tmp_path / "source").values()
    assert entry["status"] == "rejected"
    assert entry["message"] == (f"2 notebooks (a.ipynb, b.ipynb): which one to grade is not clear; "
                                f"the student hands in one (named {RELEASED})")


def test_flat_files(course, tmp_path):
    source = tmp_path / "flat"
    _write(source / "alice_TP1_MNIST_dense.ipynb", SOLUTION)
    _write(source / "bob_tp1.ipynb", UNDERTRAINED)
    _write(source / "bob_rapport.pdf", b"%PDF")
    _write(source / "carol_tp1.py", "print(1)\n")
    entries = _collect(course, source)
    assert {s: e["status"] for s, e in entries.items()} == {
        "alice": "collected", "bob": "collected", "carol": "rejected",
    }
    assert entries["bob"]["message"] == (
        f"renamed bob_tp1.ipynb to {RELEASED}; ignored bob_rapport.pdf"
    )
    assert entries["carol"]["message"] == "not a notebook: carol_tp1.py"
    assert entries["alice"]["message"] == ""  # <student>_<released name> is not a rename
    assert (_submitted(course, "alice") / RELEASED).read_bytes() == SOLUTION


def _moodle_zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 20, 10, 2, 0)), data)
    return path


def test_moodle_zip_with_accents_and_homonyms(course, tmp_path):
    source = _moodle_zip(tmp_path / "moodle.zip", {
        f"Jeanne Dupont_1001_assignsubmission_file_/{RELEASED}": SOLUTION,
        "Élodie Lefèvre-Roy_1002_assignsubmission_file_/Mon TP1 (2).ipynb": UNDERTRAINED,
        f"Jeanne Dupont_1003_assignsubmission_file_/{RELEASED}": UNDERTRAINED,
        "Zoé Martin_1004_assignsubmission_file_/rapport.pdf": b"%PDF",
        "__MACOSX/._rapport.pdf": b"",
    })
    entries = _collect(course, source)
    assert {s: e["status"] for s, e in entries.items()} == {
        "elodie_lefevre_roy": "collected", "jeanne_dupont_1001": "collected",
        "jeanne_dupont_1003": "collected", "zoe_martin": "rejected",
        "": "ignored",  # __MACOSX/._rapport.pdf: the zipping Mac's, a line of its own
    }
    assert entries[""]["message"] == "__MACOSX/._rapport.pdf: hidden file (the system's or an editor's)"
    assert entries["elodie_lefevre_roy"]["source"] == (
        f"{source}:Élodie Lefèvre-Roy_1002_assignsubmission_file_/Mon TP1 (2).ipynb"
    )
    assert (_submitted(course, "jeanne_dupont_1003") / RELEASED).read_bytes() == UNDERTRAINED
    zipped_at = datetime(2026, 11, 20, 10, 2).astimezone(timezone.utc)  # zip times are local
    assert entries["zoe_martin"]["timestamp"] == zipped_at.isoformat()
    timestamp = (_submitted(course, "elodie_lefevre_roy") / "timestamp.txt").read_text()
    assert timestamp == f"{zipped_at:%Y-%m-%d %H:%M:%S.%f} UTC\n"
    assert _students(course) == {
        "elodie_lefevre_roy": ("Élodie", "Lefèvre-Roy", None),
        "jeanne_dupont_1001": ("Jeanne", "Dupont", None),
        "jeanne_dupont_1003": ("Jeanne", "Dupont", None),
        "zoe_martin": ("Zoé", "Martin", None),
    }


def test_unchanged_kept_and_replaced(course, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    _write(first / "alice" / RELEASED, SOLUTION)
    later = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
    _write(second / "alice" / "tp1_v2.ipynb", UNDERTRAINED, later)
    folder = _submitted(course, "alice")
    assert _collect(course, first)["alice"]["status"] == "collected"

    again = _collect(course, first)["alice"]
    assert (again["status"], again["message"]) == (
        "unchanged", "same notebook as the one already collected"
    )

    kept = _collect(course, second)["alice"]
    assert (kept["status"], kept["message"]) == (
        "kept",
        "a different submission is already collected (2026-11-20 09:02 UTC); "
        "--replace takes the new one",
    )
    assert (folder / RELEASED).read_bytes() == SOLUTION

    replaced = _collect(course, second, replace=True)["alice"]
    [previous] = folder.parent.glob("tp1_dense.previous-*")
    assert replaced["status"] == "replaced"
    assert replaced["message"] == (
        f"the submission of 2026-11-20 09:02 UTC is moved to {previous.name}/; "
        f"renamed tp1_v2.ipynb to {RELEASED}"
    )
    assert (folder / RELEASED).read_bytes() == UNDERTRAINED
    assert (folder / "timestamp.txt").read_text() == "2026-11-21 08:00:00.000000 UTC\n"
    assert (previous / RELEASED).read_bytes() == SOLUTION
    assert (previous / "timestamp.txt").read_text() == "2026-11-20 09:02:00.000000 UTC\n"


def test_roster_is_imported_and_wins_over_names_from_moodle(course, tmp_path):
    """With --allow-unknown, a student the roster does not list takes the zip's names."""
    roster = _write(tmp_path / "roster.csv", (
        "\ufeffid,first_name,last_name,email,group\n"
        "jeanne_dupont,Jeanne-Marie,Dupont,jeanne@example.org,A\n"
        "\n"
        "zed,Zed,Ndiaye,zed@example.org,B\n"
    ))
    source = _moodle_zip(tmp_path / "moodle.zip", {
        f"Jeanne Dupont_1001_assignsubmission_file_/{RELEASED}": SOLUTION,
        f"Ali Ben Salah_1005_assignsubmission_file_/{RELEASED}": SOLUTION,
    })
    _collect(course, source, roster=roster, allow_unknown=True)
    assert _students(course) == {
        "jeanne_dupont": ("Jeanne-Marie", "Dupont", "jeanne@example.org"),
        "zed": ("Zed", "Ndiaye", "zed@example.org"),
        "ali_ben_salah": ("Ali", "Ben Salah", None),
    }


@pytest.mark.parametrize("text, message", [
    ("id,first_name,last_name\nalice,Alice,Martin\n",
     "roster {path}: the first line must be the header id,first_name,last_name,email "
     "(missing email)"),
    ("alice,Alice,Martin,alice@example.org\n",
     "roster {path}: the first line must be the header id,first_name,last_name,email "
     "(missing id, first_name, last_name, email)"),
    ("id,first_name,last_name,email\nalice,Alice,Martin\n",
     "roster {path} line 2: expected 4 fields"),
    ("id,first_name,last_name,email\n ,Alice,Martin,a@example.org\n",
     "roster {path} line 2: empty id"),
    ("id,first_name,last_name,email\nalice,A,M,a@x.org\nalice,A,M,a@x.org\n",
     "roster {path} line 3: id alice appears twice"),
])
def test_a_malformed_roster_is_a_one_line_error(course, tmp_path, text, message):
    roster = _write(tmp_path / "roster.csv", text)
    _write(tmp_path / "source" / "alice" / RELEASED, SOLUTION)
    with pytest.raises(CourseError) as error:
        _collect(course, tmp_path / "source", roster=roster)
    assert str(error.value) == message.format(path=roster)
    assert not (course / "submitted").exists()


def test_bad_input_is_a_one_line_error(course, tmp_path):
    def error(**options) -> str:
        options = {"assignment": "tp1_dense", "course_dir": course} | options
        with pytest.raises(CourseError) as raised:
            collect(**options)
        return str(raised.value)

    (tmp_path / "empty").mkdir()
    _write(tmp_path / "only_pdf" / "alice_rapport.pdf", b"%PDF")
    _write(tmp_path / "corrupt.zip", b"PK\x03\x04 truncated")
    plain = _moodle_zip(tmp_path / "plain.zip", {f"alice/{RELEASED}": SOLUTION})
    no_submission = "no submission in {}: expected <student>/<notebook>.ipynb, " \
        "<student>_<name>.ipynb or a Moodle zip"

    assert error(assignment="tp9", source=tmp_path) == (
        "unknown assignment tp9: the course has tp1_dense"
    )
    assert error(source=tmp_path / "missing") == f"{tmp_path / 'missing'} does not exist"
    assert error(source=tmp_path / "empty") == no_submission.format(tmp_path / "empty")
    assert error(source=tmp_path / "only_pdf") == no_submission.format(tmp_path / "only_pdf")
    assert error(source=tmp_path / "corrupt.zip") == (
        f"cannot read the zip {tmp_path / 'corrupt.zip'}: File is not a zip file"
    )
    assert error(source=plain) == (
        f"{plain} is not a Moodle submissions zip: alice/{RELEASED} is not in a "
        "<Full Name>_<id>_assignsubmission_file_ folder"
    )
    assert not (course / "submitted").exists()


def _use_exchange(course: Path, exchange: Path) -> None:
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.Exchange.root = {str(exchange)!r}\n")


@pytest.mark.parametrize("made, reason", [
    ("", "Unwritable directory, please contact your instructor: {exchange}"),
    ("mnist_tf2", "Course not found: {exchange}/mnist_tf2/inbound"),
])
def test_exchange_without_the_course_is_a_one_line_error(course, tmp_path, made, reason):
    exchange = tmp_path / "exchange"
    if made:
        (exchange / made).mkdir(parents=True)
    _use_exchange(course, exchange)
    with pytest.raises(CourseError) as error:
        collect(assignment="tp1_dense", source="exchange", course_dir=course)
    assert str(error.value) == (
        "nbgrader could not collect tp1_dense from the exchange: "
        + reason.format(exchange=exchange)
        + " (see c.Exchange.root in nbgrader_config.py; `course release tp1_dense --exchange` "
        "publishes there first)"
    )


def test_exchange_is_collected_by_nbgrader(course, tmp_path):
    _use_exchange(course, tmp_path / "exchange")
    stamp = "2026-11-20 09:02:00.000000 UTC"
    inbound = tmp_path / "exchange" / "mnist_tf2" / "inbound" / f"alice+tp1_dense+{stamp}+x1"
    _write(inbound / RELEASED, SOLUTION)
    _write(inbound / "timestamp.txt", stamp)
    entries = _collect(course, "exchange")
    assert entries == {"alice": {
        "student": "alice", "status": "collected", "message": "", "source": "exchange",
        "notebook": RELEASED, "timestamp": "2026-11-20T09:02:00+00:00", "files": [],
    }}
    assert (_submitted(course, "alice") / RELEASED).read_bytes() == SOLUTION
    assert _collect(course, "exchange")["alice"]["status"] == "kept"
    assert set(_students(course)) == {"alice"}


def test_format_report_prints_one_line_per_student():
    entries = [
        {"student": "alice", "status": "collected", "message": "", "notebook": RELEASED},
        {"student": "bob", "status": "rejected", "message": "not a notebook: invalid JSON (line 1)",
         "notebook": None},
    ]
    assert format_report(entries) == (
        f"alice      collected   {RELEASED}\n"
        "bob        rejected    not a notebook: invalid JSON (line 1)"
    )


# --- Every student accounted for --------------------------------------------------------------

ROSTER = (
    "id,first_name,last_name,email,idnumber\n"
    "jdupont,Jeanne,Dupont,jeanne@example.org,E2026-001\n"
    "elefevre,Élodie,Lefèvre-Roy,elodie@example.org,E2026-002\n"
    "zndiaye,Zed,Ndiaye,zed@example.org,E2026-003\n"
)


def test_the_roster_is_enforced_and_its_absent_students_reported(course, tmp_path):
    roster = _write(tmp_path / "roster.csv", ROSTER)
    _write(tmp_path / "source" / "jdupont" / RELEASED, SOLUTION)
    _write(tmp_path / "source" / "intrus" / RELEASED, UNDERTRAINED)
    entries = _collect(course, tmp_path / "source", roster=roster)
    assert {s: e["status"] for s, e in entries.items()} == {
        "jdupont": "collected", "intrus": "rejected", "elefevre": "not-submitted",
        "zndiaye": "not-submitted",
    }
    assert entries["intrus"]["message"] == "not in the roster (--allow-unknown collects it)"
    assert not _submitted(course, "intrus").exists()
    [kept] = (course / "rejected" / "intrus" / "tp1_dense").iterdir()
    assert (kept / RELEASED).read_bytes() == UNDERTRAINED
    assert json.loads((kept / "rejection.json").read_text())["reason"] == entries["intrus"]["message"]
    assert "intrus" not in _students(course)
    assert _collect(course, tmp_path / "source", roster=roster,
                    allow_unknown=True)["intrus"]["status"] == "collected"


def test_a_flat_file_without_a_student_part_is_rejected_and_kept(course, tmp_path):
    source = tmp_path / "flat"
    _write(source / RELEASED, SOLUTION)
    _write(source / "TP1_MNIST_dense (2).ipynb", UNDERTRAINED)
    _write(source / "alice_TP1_MNIST_dense.ipynb", SOLUTION)
    entries = collect(assignment="tp1_dense", source=source, course_dir=course)
    assert [(e["student"], e["status"]) for e in entries] == [
        ("_unidentified", "rejected"), ("_unidentified", "rejected"), ("alice", "collected"),
    ]
    assert {e["message"] for e in entries[:2]} == {
        f"no student in the file name {name}: expected <student>_{RELEASED}"
        for name in (RELEASED, "TP1_MNIST_dense (2).ipynb")
    }
    assert not (course / "submitted" / "TP1").exists()
    assert len(list((course / "rejected" / "_unidentified" / "tp1_dense").iterdir())) == 2
    assert "_unidentified" not in _students(course)
    from course_lib.instructor.status import status

    assert [(line.student, line.state) for line in status(course_dir=course)] == [
        ("_unidentified", "rejected"), ("alice", "collected")]


def test_a_rejected_upload_is_kept_with_its_reason(course, tmp_path):
    _write(tmp_path / "source" / "carol" / "tp1.ipynb", '{"cells": [')
    _write(tmp_path / "source" / "carol" / "notes.txt", "mes notes")
    [entry] = _collect(course, tmp_path / "source").values()
    [kept] = (course / "rejected" / "carol" / "tp1_dense").iterdir()
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt", "rejection.json", "tp1.ipynb"]
    assert json.loads((kept / "rejection.json").read_text()) == {
        "student": "carol", "assignment": "tp1_dense", "reason": entry["message"],
        "source": str(tmp_path / "source" / "carol" / "tp1.ipynb"),
        "timestamp": "2026-11-20T09:02:00+00:00", "files": ["notes.txt", "tp1.ipynb"],
    }
    _collect(course, tmp_path / "source")  # a second rejection never overwrites the first
    assert len(list((course / "rejected" / "carol" / "tp1_dense").iterdir())) == 2


def test_collect_exits_non_zero_when_nothing_was_collected(course, tmp_path, capsys):
    from course_lib.cli import main

    _write(tmp_path / "source" / "carol" / RELEASED, "")
    assert main(["collect", "tp1_dense", str(tmp_path / "source"), "--course-dir", str(course)]) == 1
    captured = capsys.readouterr()
    assert "carol      rejected    not a notebook: empty file" in captured.out
    assert captured.err == (f"course: nothing was collected from {tmp_path / 'source'}: every "
                            "upload was rejected (kept in rejected/)\n")
    assert (course / "rejected" / "carol").is_dir()  # --course-dir after the subcommand
    _write(tmp_path / "source" / "alice" / RELEASED, SOLUTION)
    assert main(["--course-dir", str(course), "collect", "tp1_dense", str(tmp_path / "source")]) == 0


def test_a_late_submission_says_so(course, tmp_path):
    with open(course / "course.toml", "a") as settings:
        settings.write("\n[assignments.tp1_dense]\ndue = 2026-11-20T09:00:00Z\n")
    _write(tmp_path / "source" / "alice" / RELEASED, SOLUTION)  # 09:02, two minutes late
    _write(tmp_path / "source" / "bob" / RELEASED, UNDERTRAINED, datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc))
    entries = _collect(course, tmp_path / "source")
    assert entries["alice"]["message"] == (
        "late: submitted 2026-11-20 09:02 UTC, due 2026-11-20 09:00 UTC (2 min late): a late submission scores 0")
    assert entries["bob"]["message"] == ""


def moodle_zip_of_every_version(path: Path) -> Path:
    """Moodle's own naming: in folders since 4.1 (`…_file/`), in folders before (`…_file_/`),
    and without folders (`…_file_<name>`), as mod/assign/classes/downloader.php writes them."""
    return _moodle_zip(path, {
        f"Jeanne Dupont_1001_assignsubmission_file/{RELEASED}": SOLUTION,
        f"Élodie Lefèvre-Roy_1002_assignsubmission_file_/{RELEASED}": UNDERTRAINED,
        f"Zed Ndiaye_1003_assignsubmission_file_{RELEASED}": SOLUTION,
        f"Inconnu Total_1004_assignsubmission_file/{RELEASED}": SOLUTION,
    })


def test_a_moodle_zip_takes_the_roster_ids_and_keeps_moodle_identifiers(course, tmp_path):
    from course_lib.submissions import MoodleIdentity, read_moodle_identity

    roster = _write(tmp_path / "roster.csv", ROSTER)
    entries = _collect(course, moodle_zip_of_every_version(tmp_path / "moodle.zip"), roster=roster)
    assert {s: e["status"] for s, e in entries.items()} == {
        "jdupont": "collected", "elefevre": "collected", "zndiaye": "collected",
        "inconnu_total": "rejected",
    }
    assert read_moodle_identity(course, "elefevre", "tp1_dense") == MoodleIdentity("1002", "Élodie Lefèvre-Roy")
    assert read_moodle_identity(course, "zndiaye", "tp1_dense") == MoodleIdentity("1003", "Zed Ndiaye")
    assert (_submitted(course, "zndiaye") / RELEASED).read_bytes() == SOLUTION
    with open_gradebook(course) as gradebook:
        assert gradebook.find_student("jdupont").lms_user_id == "E2026-001"


def test_export_and_report_account_for_collected_and_rejected_students(course, tmp_path):
    from course_lib.instructor.export import export
    from course_lib.instructor.report import report

    roster = _write(tmp_path / "roster.csv", ROSTER)
    _write(tmp_path / "source" / "jdupont" / RELEASED, SOLUTION)
    _write(tmp_path / "source" / "elefevre" / RELEASED, "{")
    _collect(course, tmp_path / "source", roster=roster)
    rows = {r["student_id"]: r for r in csv.DictReader(export(course_dir=course).path.open())}
    assert {s: (r["tp1_dense"], r["tp1_dense_status"]) for s, r in rows.items()} == {
        "jdupont": ("", "collected"), "elefevre": ("", "rejected"), "zndiaye": ("", "not-submitted"),
    }
    assert rows["elefevre"]["needs_attention"] == "tp1_dense: rejected: not a notebook: invalid JSON (line 1)"
    assert rows["jdupont"]["needs_attention"] == "tp1_dense: collected, not graded yet"
    page = report(course_dir=course).read_text()
    assert page.index("<td>elefevre</td>") < page.index("<td>jdupont</td>") < page.index("<td>zndiaye</td>")
    assert "rejected: 1 · not graded: 1 · not submitted: 1" in page


def test_two_moodle_participants_of_one_roster_name_are_not_merged(course, tmp_path):
    roster = _write(tmp_path / "roster.csv", ROSTER)
    source = _moodle_zip(tmp_path / "moodle.zip", {
        f"Jeanne Dupont_1001_assignsubmission_file/{RELEASED}": SOLUTION,
        f"Jeanne Dupont_1007_assignsubmission_file/{RELEASED}": UNDERTRAINED,
    })
    entries = _collect(course, source, roster=roster)
    assert {s: e["status"] for s, e in entries.items()} == {
        "jeanne_dupont_1001": "rejected", "jeanne_dupont_1007": "rejected",
        "jdupont": "not-submitted", "elefevre": "not-submitted", "zndiaye": "not-submitted",
    }
    assert entries["jeanne_dupont_1001"]["message"] == (
        "2 Moodle participants have the name Jeanne Dupont, which the roster cannot tell apart: "
        "collect them from folders named by their roster ids")
    assert not (course / "submitted").exists()


def test_a_symbolic_link_is_never_followed(course, tmp_path):
    secret = _write(tmp_path / "elsewhere" / "other_student.ipynb", SOLUTION)
    (tmp_path / "source" / "mallory").mkdir(parents=True)
    (tmp_path / "source" / "mallory" / RELEASED).symlink_to(secret)
    (tmp_path / "source" / "mallory" / "notes.txt").symlink_to(course / "nbgrader_config.py")
    [entry] = _collect(course, tmp_path / "source").values()
    assert (entry["status"], entry["message"]) == (
        "rejected", f"cannot read {RELEASED}: {RELEASED} is a symbolic link (not followed)")
    [kept] = (course / "rejected" / "mallory" / "tp1_dense").iterdir()
    assert sorted(p.name for p in kept.iterdir()) == ["rejection.json"]  # no target copied


def test_a_roster_with_semicolons_as_a_french_spreadsheet_writes_it(course, tmp_path):
    roster = _write(tmp_path / "roster.csv", ROSTER.replace(",", ";").encode("utf-8-sig"))
    _write(tmp_path / "source" / "elefevre" / RELEASED, SOLUTION)
    entries = _collect(course, tmp_path / "source", roster=roster)
    assert entries["elefevre"]["status"] == "collected"
    assert _students(course)["elefevre"] == ("Élodie", "Lefèvre-Roy", "elodie@example.org")


def test_ids_that_would_act_on_a_terminal_are_refused_and_look_alikes_reported(course, tmp_path, capsys):
    from course_lib.cli import main
    from course_lib.instructor.status import status

    source = tmp_path / "source"
    _write(source / "alice" / RELEASED, SOLUTION)
    _write(source / "\u0430lice" / RELEASED, SOLUTION)  # a Cyrillic а: another folder, alice's look
    escape = "eve\x1b]52;c;cm0gLXJmIH4K\x07\x1b[2K"  # sets the clipboard, erases the line
    _write(source / escape / RELEASED, SOLUTION)
    assert main(["collect", "tp1_dense", str(source), "--course-dir", str(course)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "\x07" not in printed
    assert "\\x1b]52" in printed  # shown as an escape
    entries = _collect(course, source)  # again: the same verdicts, as data; the id is never one
    assert entries["_unidentified"]["status"] == "rejected"
    assert "control or invisible characters" in entries["_unidentified"]["message"]
    assert not _submitted(course, escape).exists()
    assert (course / "rejected" / "_unidentified" / "tp1_dense").is_dir()  # kept, under no name
    assert entries["alice"]["status"] == entries["\u0430lice"]["status"] == "unchanged"
    attention = {line.student: line.reason for line in status(course_dir=course)}
    assert "looks like \u0430lice" in attention["alice"] and "looks like alice" in attention["\u0430lice"]


def test_a_look_alike_is_said_when_it_is_collected(course, tmp_path):
    source = tmp_path / "source"
    _write(source / "alice" / RELEASED, SOLUTION)
    _write(source / "\u0430lice" / RELEASED, SOLUTION)
    entries = _collect(course, source)
    assert entries["alice"]["status"] == entries["\u0430lice"]["status"] == "collected"
    assert "looks like \u0430lice" in entries["alice"]["message"]
    assert "looks like alice" in entries["\u0430lice"]["message"]


def test_no_cell_of_an_export_is_a_formula(course, tmp_path):
    """Names from a roster or Moodle (OWASP's CSV injection): each is written as text."""
    from course_lib.instructor.export import export

    hostile = ("id,first_name,last_name,email\n"
               'mallory,=HYPERLINK("http://127.0.0.1:9/?"&A1;"clic"),-2+3,@SUM(1+1)*2\n')
    roster = _write(tmp_path / "roster.csv", hostile)
    _write(tmp_path / "source" / "mallory" / RELEASED, SOLUTION)
    _collect(course, tmp_path / "source", roster=roster)
    cells = [cell for row in csv.reader(export(course_dir=course).path.open()) for cell in row]
    assert [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
    assert "'=HYPERLINK(\"http://127.0.0.1:9/?\"&A1;\"clic\")" in cells and "'-2+3" in cells


def test_another_practicals_notebook_is_rejected_at_collect(tmp_path, mnist_dir):
    course = copy_course(origin=PROJECT, folder=tmp_path / "both", assignments=["tp1_dense", "tp2_convol"],
                         mnist_dir=mnist_dir)
    source = tmp_path / "source"
    _write(source / "alice" / RELEASED, SOLUTION)
    _write(source / "bob" / RELEASED, (PROJECT / "release" / "tp2_convol" / "TP2_MNIST_convol.ipynb").read_bytes())
    _write(source / "carl" / RELEASED, json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                                   "cells": [{"cell_type": "markdown", "id": "a1", "metadata": {},
                                                              "source": "mon TP"}]}))
    entries = _collect(course, source)
    assert entries["alice"]["status"] == "collected"
    assert entries["bob"]["status"] == "rejected"
    assert entries["bob"]["message"] == f"{RELEASED} is tp2_convol's notebook, not tp1_dense's"
    assert entries["carl"]["message"].startswith(f"{RELEASED} was not made from tp1_dense's release: 0 of its "
                                                 "0 graded cells are tp1_dense's, of ")
    assert (course / "rejected" / "bob" / "tp1_dense").is_dir() and not _submitted(course, "bob").exists()


# --- Every file accounted for -------------------------------------------------------------


def test_flat_files_beside_student_folders_are_collected_too(course, tmp_path, capsys):
    from course_lib.cli import main

    source = tmp_path / "source"
    _write(source / "alice" / RELEASED, SOLUTION)
    _write(source / f"karim_{RELEASED}", UNDERTRAINED)
    _write(source / "alice_rapport.pdf", b"%PDF")  # alice's, beside her folder
    _write(source / ".DS_Store", b"\0")
    entries = _collect(course, source)
    assert {s: e["status"] for s, e in entries.items()} == {"alice": "collected", "karim": "collected", "": "ignored"}
    assert entries["alice"]["message"] == "ignored alice_rapport.pdf"
    assert (_submitted(course, "karim") / RELEASED).read_bytes() == UNDERTRAINED
    assert main(["--course-dir", str(course), "collect", "tp1_dense", str(source)]) == 0
    out = capsys.readouterr().out
    for path in (source / "alice" / RELEASED, source / "alice_rapport.pdf", source / f"karim_{RELEASED}",
                 source / ".DS_Store"):
        assert str(path) in out or path.name in out  # every file of the source has its line
    assert f"ignored   {source / 'alice_rapport.pdf'} (not a notebook: only the notebook is collected)" in out


def test_the_newest_copy_of_one_notebook_is_taken_and_two_different_ones_rejected(course, tmp_path):
    later = datetime(2026, 11, 20, 11, 30, tzinfo=timezone.utc)
    _write(tmp_path / "a" / "alice" / RELEASED, SOLUTION)
    _write(tmp_path / "a" / "alice" / "TP1_MNIST_dense (1).ipynb", UNDERTRAINED, later)  # a browser's
    entry = _collect(course, tmp_path / "a")["alice"]
    assert entry["status"] == "collected" and entry["source"].endswith("TP1_MNIST_dense (1).ipynb")
    assert entry["message"].startswith("took TP1_MNIST_dense (1).ipynb, the newest of 2 copies of one file "
                                       "(2026-11-20 11:30 UTC); renamed")
    assert {f["action"] for f in entry["files"]} == {"collected", "ignored"}
    assert (_submitted(course, "alice") / RELEASED).read_bytes() == UNDERTRAINED

    _write(tmp_path / "b" / "bob" / RELEASED, SOLUTION)
    _write(tmp_path / "b" / "bob" / "brouillon.ipynb", UNDERTRAINED, later)
    _write(tmp_path / "b" / "carol" / RELEASED, SOLUTION)
    _write(tmp_path / "b" / "carol" / "TP1_MNIST_dense - Copie.ipynb", UNDERTRAINED)  # same time: which?
    entries = _collect(course, tmp_path / "b")
    for student in ("bob", "carol"):
        assert entries[student]["status"] == "rejected"
        assert "which one to grade is not clear" in entries[student]["message"]
        assert not _submitted(course, student).exists()


def _zip_without_utf8_flag(path: Path, entries: dict[str, bytes]) -> Path:
    """A zip as Info-ZIP or Windows' compressed folders write it: names in UTF-8 bytes (or the
    OEM code page) without the UTF-8 flag. Python always sets the flag for a non-ASCII name,
    so the zip is written with ASCII names of the same length, then their bytes replaced."""
    placeholders = {name: f"{n:0{len(name.encode())}d}" for n, name in enumerate(entries)}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(zipfile.ZipInfo(placeholders[name], date_time=(2026, 11, 20, 10, 2, 0)), data)
    raw = path.read_bytes()
    for name, placeholder in placeholders.items():
        raw = raw.replace(placeholder.encode(), name.encode())
    path.write_bytes(raw)
    with zipfile.ZipFile(path) as archive:
        assert not any(info.flag_bits & 0x800 for info in archive.infolist())
    return path


def test_a_zip_without_the_utf8_flag_keeps_its_accents(course, tmp_path):
    roster = _write(tmp_path / "roster.csv", "id,first_name,last_name,email\nblefevre,Bruno,Lefèvre,b@example.org\n")
    source = _zip_without_utf8_flag(tmp_path / "moodle.zip", {
        f"Bruno Lefèvre_2001_assignsubmission_file/{RELEASED}": SOLUTION,
    })
    entries = _collect(course, source, roster=roster)
    assert {s: e["status"] for s, e in entries.items()} == {"blefevre": "collected"}
    assert entries["blefevre"]["source"] == f"{source}:Bruno Lefèvre_2001_assignsubmission_file/{RELEASED}"


def test_a_name_that_is_no_identifier_is_rejected_not_invented(course, tmp_path):
    source = tmp_path / "flat"
    _write(source / "lea dupont - TP1.ipynb", SOLUTION)
    _write(source / "marc dupont_TP1.ipynb", SOLUTION)
    _write(source / "alice_TP1.ipynb", SOLUTION)
    entries = collect(assignment="tp1_dense", source=source, course_dir=course)
    assert [(e["student"], e["status"]) for e in entries] == [
        ("_unidentified", "rejected"), ("_unidentified", "rejected"), ("alice", "collected")]
    assert sorted(e["message"] for e in entries[:2]) == [
        '"marc dupont" is not a student id (letters, digits and . - _ @ + only, no space), from the '
        f"file name marc dupont_TP1.ipynb: expected <student>_{RELEASED}",
        f"no student in the file name lea dupont - TP1.ipynb: expected <student>_{RELEASED}",
    ]
    _write(tmp_path / "folders" / "Lea Dupont" / RELEASED, SOLUTION)
    [entry] = _collect(course, tmp_path / "folders").values()
    assert entry["status"] == "rejected" and entry["message"].startswith('"Lea Dupont" is not a student id')
    assert not (course / "submitted" / "Lea Dupont").exists()
    assert (course / "rejected" / "_unidentified" / "tp1_dense").is_dir()


def test_a_stray_folder_is_no_student_in_the_gradebook(course, tmp_path):
    source = tmp_path / "source"
    _write(source / "alice" / RELEASED, SOLUTION)
    _write(source / "images" / "schema.png", b"\x89PNG")
    _write(source / "Nouveau dossier" / RELEASED, UNDERTRAINED)
    _write(source / "Thumbs.db", b"\0")
    entries = collect(assignment="tp1_dense", source=source, course_dir=course)
    assert [(e["student"], e["status"]) for e in entries] == [
        ("", "ignored"), ("_unidentified", "rejected"), ("alice", "collected"), ("images", "rejected")]
    assert not (course / "rejected" / "Nouveau dossier").exists()
    assert set(_students(course)) == {"alice"}
