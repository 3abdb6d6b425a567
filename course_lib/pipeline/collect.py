"""`course collect`: students' notebooks into nbgrader's submitted/<student>/<assignment>/.

SOURCE is recognised by its shape:
- a zip file: Moodle's "download all submissions", entries under
  `<Full Name>_<participant id>_assignsubmission_file/` (Moodle >= 4.1; `…_file_/` before), or
  prefixed `<Full Name>_<participant id>_assignsubmission_file_` without the folder.
  The student id is the ASCII slug of the full name ("Élodie Lefèvre" → "elodie_lefevre");
  homonyms get `_<moodle id>` appended. The first word of the full name is the first name, the
  rest the last name; they only fill gradebook students that have no name yet (a roster wins);
  the zip entry's date (local time of this machine) is the submission time;
- a folder with sub-folders holding notebooks: one sub-folder per student, named by its id;
- a folder of files `<student>_<anything>.ipynb`: the id is the text before the first "_"; a
  file named like the released notebook (`TP1_MNIST_dense.ipynb`, `TP1_MNIST_dense (2).ipynb`)
  names no student and is rejected (kept under the student `_unidentified`);
- the word `exchange`: nbgrader's own collect from its exchange (write ./exchange for a folder
  of that name). nbgrader applies its own rules: replace=True updates to the newest
  submission (the exchange keeps every submission, so nothing is lost).
Hidden files and folders (.ipynb_checkpoints, __MACOSX) are skipped. In a folder, a file's
modification time is the submission time (copy with `cp -p` to keep it).

Each student's notebook is the one with the released name, or their single notebook whatever
its name (saved under the released name). Other files are ignored and said so. Only the
notebook is collected; nbgrader's timestamp.txt beside it carries the submission time, for
nbgrader's late penalty.

A student gets one entry (plain JSON-ready dict): {"student", "status", "message", "source",
"notebook", "timestamp"}, status one of:
- collected: first submission, saved;
- unchanged: the same notebook is already collected (nothing written);
- kept:      a different notebook is already collected and stays (replace=False);
- replaced:  replace=True, the new one is saved and the old folder moved, whole, to
             submitted/<student>/<assignment>.previous-<UTC time of the move>/ (nbgrader only
             reads submitted/<student>/<assignment>/, so nothing is lost or graded twice);
- rejected:  no usable notebook (not a notebook, empty, invalid JSON or nbformat 4, several
             notebooks none with the released name), no student in the file name, or a
             student not in the roster: the message says why. The files are kept in
             rejected/<student>/<assignment>/<UTC time>/ with rejection.json (course_lib.submissions);
- not-submitted: a student of the roster with no file in SOURCE and nothing collected before.
A collected submission after the assignment's due date (course.toml) says so ("late: …").

The roster is a UTF-8 CSV (comma- or semicolon-separated) whose header holds
id,first_name,last_name,email, optionally
idnumber (Moodle's "ID number" profile field, kept as the gradebook's lms_user_id for the
Moodle export); other columns are ignored. It is imported into the gradebook before
collecting, and enforced: a student found in SOURCE who is not in it is rejected ("not in the
roster") unless allow_unknown. A Moodle zip's full names are matched to the roster's
"first_name last_name" (case, accents and punctuation aside), so that its students take their
roster ids; Moodle's participant id and full name are kept beside the notebook (moodle.json),
for `course feedback --moodle-zip`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import unicodedata
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat

from course_lib.cells import grade_id
from course_lib.course import check_assignments, course_root, due_date, last_line, nbgrader_api, released_notebook
from course_lib.errors import CourseError
from course_lib.gradebook import open_gradebook
from course_lib.late import late_rule, late_words
from course_lib.safe_text import printable, spreadsheet_delimiter
from course_lib.student_ids import id_problem, look_alikes
from course_lib.submissions import (
    UNIDENTIFIED, MoodleIdentity, Rejection, keep_rejected, submission_time, submitted_dir,
    submitted_students, write_moodle_identity,
)

COLLECTED, UNCHANGED, KEPT, REPLACED, REJECTED, NOT_SUBMITTED = (
    "collected", "unchanged", "kept", "replaced", "rejected", "not-submitted",
)
# Statuses that leave a usable submission in submitted/.
USABLE = (COLLECTED, UNCHANGED, KEPT, REPLACED)
EXCHANGE = "exchange"
# What operating systems and editors leave beside files: macOS's zips, Windows' thumbnails.
SYSTEM_FILES = {"__MACOSX", "Thumbs.db", "desktop.ini", "Desktop.ini", "__pycache__"}
IGNORED = "ignored"  # a file that is nobody's submission (the system's hidden files)
NO_STUDENT = ""  # the "student" of such files
# What browsers and file managers append to a copy's name.
COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|\s*-?\s*(copie|copy)(\s*\(?\d+\)?)?)+$")
# An id read from a folder or file name: a letter or digit first, then no space.
PLAUSIBLE_ID = re.compile(r"[^\W_][\w.@+-]*")
ROSTER_COLUMNS = ("id", "first_name", "last_name", "email")
ROSTER_OPTIONAL = ("idnumber",)
# nbgrader's exchange writes timestamp.txt so; nbgrader.utils.parse_utc reads it back.
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
# Moodle's "download all submissions": `<Full Name>_<participant id>_assignsubmission_<plugin>`
# then "/" (Moodle >= 4.1, in folders), "_/" (before 4.1, in folders) or "_" (not in folders);
# blind marking writes "Participant" for the name. (mod/assign/classes/downloader.php)
MOODLE_ENTRY = re.compile(
    r"(?P<name>[^/]+?)_(?P<moodle_id>\d+)_assignsubmission_[a-z]+(?:_/|/|_)(?P<path>.+)"
)
# Errors of reading one file: a folder's file, or a damaged entry of a readable zip.
READ_ERRORS = (OSError, zipfile.BadZipFile, zlib.error, EOFError)
# What nbgrader's exchange collect logs for each student, and the status it means.
EXCHANGE_LOG = {
    "Collecting submission": COLLECTED,
    "Updating submission": REPLACED,
    "No newer submission to collect": UNCHANGED,
    "Submission already exists, use --update to update": KEPT,
}


@dataclass(frozen=True)
class _File:
    name: str  # the file's own name, without folders
    source: str  # where it was found, for the report
    modified: datetime  # UTC
    read: Callable[[], bytes]  # lazy: a student's other files are never read
    hidden: bool = False  # an editor's or the system's (.ipynb_checkpoints, .DS_Store, __MACOSX)


@dataclass
class _Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    files: list[_File] = field(default_factory=list)
    moodle: MoodleIdentity | None = None
    refused: str = ""  # why this student's files are rejected before any is read


class _Rejected(Exception):
    """A student's files hold no usable notebook; the message says why."""

    def __init__(self, message: str, file: _File | None = None):
        super().__init__(message)
        self.file = file


def collect(
    *,
    assignment: str,
    source: str | Path,
    course_dir: str | Path = ".",
    roster: str | Path | None = None,
    replace: bool = False,
    allow_unknown: bool = False,
) -> list[dict[str, Any]]:
    """Bring the submissions of `source` into submitted/ and say, per student, what was done.

    Bad input (unknown assignment, missing or unreadable source, no submission, malformed
    roster) is a CourseError before anything is written; a bad student file is only that
    student's "rejected" entry, its files kept in rejected/.
    """
    root = course_root(course_dir)
    check_assignments(root, [assignment])
    released = _released_notebook(root, assignment)
    practicals = _practicals_cells(root)
    people = _read_roster(Path(roster)) if roster is not None else None
    due = due_date(root, assignment)
    late_rule(root)  # a bad [late] is said before anything is written
    if str(source) == EXCHANGE:
        entries = _collect_exchange(root, assignment, replace, practicals)
        _register(root, people or [], [_Student(entry["student"]) for entry in entries])
        return _with_missing(root, assignment, people, entries)
    with ExitStack() as open_files:
        students = _find_submissions(Path(source), released, open_files)
        if people is not None:
            students = _enforce_roster(students, people, allow_unknown)
        entries = [_collect_one(root, assignment, released, student, replace, due, practicals)
                   for student in students]
        # The gradebook learns the roster, Moodle's participants and the students whose work
        # was taken, never a stray folder's name.
        usable = {entry["student"] for entry in entries if entry["status"] in USABLE}
        _register(root, people or [], [s for s in students if s.id in usable or (s.moodle and not s.refused)])
    _say_look_alikes(root, assignment, entries)
    return _with_missing(root, assignment, people, entries)


def _say_look_alikes(root: Path, assignment: str, entries: list[dict[str, Any]]) -> None:
    """A note on each student just collected whose id looks like another's (course_lib.student_ids)."""
    alike = look_alikes(submitted_students(root, assignment))
    for entry in entries:
        if entry["status"] in (COLLECTED, REPLACED) and entry["student"] in alike:
            note = f"warning: this id looks like {', '.join(alike[entry['student']])}: check they are different students"
            entry["message"] = "; ".join(filter(None, [entry["message"], printable(note)]))


def nothing_collected(entries: list[dict[str, Any]]) -> bool:
    """No file of the source gave a usable submission (every one was rejected)."""
    return not any(entry["status"] in USABLE for entry in entries)


def format_report(entries: list[dict[str, Any]]) -> str:
    """One line per student, as `course collect` prints them; under a student with several
    files, one line per file: every file of the source is accounted for."""
    width = max([10, *(len(entry["student"]) for entry in entries)])
    lines = []
    for entry in entries:
        line = f"{entry['student']:<{width}} {entry['status']:<11} {entry['message'] or entry['notebook'] or ''}"
        files = entry.get("files", [])
        if len(files) == 1 and Path(files[0]["file"]).name not in line:
            line += f"  ({files[0]['file']})"
        lines.append(line)
        if len(files) > 1:
            lines += [f"{'':<{width}}   {file['action']:<9} {file['file']}" + (f" ({file['why']})" if file["why"] else "")
                      for file in files]
    return "\n".join(lines)


def _released_notebook(root: Path, assignment: str) -> str:
    """The name every submission is saved under: the practical's one released notebook."""
    names = sorted(p.name for p in (root / "release" / assignment).glob("*.ipynb"))
    if not names:
        raise CourseError(f"{assignment} is not released: run `course release {assignment}` first")
    if len(names) > 1:
        raise CourseError(
            f"collect takes practicals of one notebook; {assignment} has {len(names)}"
        )
    return names[0]


def _read_roster(path: Path) -> list[dict[str, str]]:
    """The roster's rows, checked whole before the gradebook is touched."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often write a BOM
    except (OSError, UnicodeError) as error:
        raise CourseError(f"cannot read the roster {path}: {error}") from None
    reader = csv.DictReader(io.StringIO(text), delimiter=spreadsheet_delimiter(text.partition("\n")[0]))
    missing = [column for column in ROSTER_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise CourseError(
            f"roster {path}: the first line must be the header {','.join(ROSTER_COLUMNS)} "
            f"(missing {', '.join(missing)})"
        )
    present = [c for c in ROSTER_COLUMNS + ROSTER_OPTIONAL if c in (reader.fieldnames or [])]
    rows: list[dict[str, str]] = []
    for row in reader:
        where = f"roster {path} line {reader.line_num}"
        if None in row or None in row.values():
            raise CourseError(f"{where}: expected {len(reader.fieldnames)} fields")
        if not row["id"].strip():
            raise CourseError(f"{where}: empty id")
        if any(row["id"].strip() == seen["id"] for seen in rows):
            raise CourseError(f"{where}: id {row['id'].strip()} appears twice")
        rows.append({column: row[column].strip() for column in present})
    return rows


def _enforce_roster(
    students: list[_Student], roster: list[dict[str, str]], allow_unknown: bool
) -> list[_Student]:
    """Students take their roster id (a Moodle full name is matched to the roster's names);
    a student the roster does not know is refused, unless `allow_unknown`."""
    ids = {row["id"] for row in roster}
    by_name: dict[str, list[str]] = {}
    for row in roster:
        by_name.setdefault(_slug(f"{row['first_name']} {row['last_name']}"), []).append(row["id"])
    for student in students:
        if student.refused or student.id in ids or student.id == NO_STUDENT:
            continue
        named = by_name.get(_slug(student.moodle.full_name), []) if student.moodle else []
        if len(named) == 1:
            student.id = named[0]
        elif allow_unknown:
            continue
        elif named:
            student.refused = (f"the name {student.moodle.full_name} matches several students "
                               f"of the roster ({', '.join(named)})")
        else:
            student.refused = "not in the roster (--allow-unknown collects it)"
    # Two Moodle participants of one name would become one student: neither is taken.
    taken = Counter(student.id for student in students if not student.refused)
    for student in students:
        if taken[student.id] > 1 and student.moodle:
            student.refused = (f"{taken[student.id]} Moodle participants have the name "
                               f"{student.moodle.full_name}, which the roster cannot tell apart: "
                               "collect them from folders named by their roster ids")
            student.id = _slug(student.moodle.full_name) + f"_{student.moodle.participant_id}"
    return sorted(students, key=lambda student: student.id)


def _with_missing(
    root: Path, assignment: str, roster: list[dict[str, str]] | None, entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`entries`, then a not-submitted entry for each roster student without any submission."""
    if roster is None:
        return entries
    seen = {entry["student"] for entry in entries} | set(submitted_students(root, assignment))
    missing = [_entry(row["id"], NOT_SUBMITTED, "no file in the source and nothing collected before",
                      "", None, None)
               for row in roster if row["id"] not in seen]
    return entries + missing


def _register(root: Path, roster: list[dict[str, str]], students: list[_Student]) -> None:
    """Roster rows, then every student found, into the gradebook; names found in SOURCE
    only fill students who have none (the roster is the better source)."""
    with open_gradebook(root) as gradebook:
        for row in roster:
            gradebook.update_or_create_student(
                row["id"], first_name=row["first_name"], last_name=row["last_name"],
                email=row["email"], **({"lms_user_id": row["idnumber"]} if row.get("idnumber") else {}),
            )
        for student in students:
            known = gradebook.update_or_create_student(student.id)
            if student.first_name and not (known.first_name or known.last_name):
                gradebook.update_or_create_student(
                    student.id, first_name=student.first_name, last_name=student.last_name
                )


# --- Reading SOURCE -------------------------------------------------------------------------


def _find_submissions(source: Path, released: str, open_files: ExitStack) -> list[_Student]:
    """The students of `source`, sorted by id, whatever its format: a zip, or a folder whose
    sub-folders and files (`<student>_<name>`) may sit side by side (one student's files
    in both places are that student's)."""
    if not source.exists():
        raise CourseError(f"{source} does not exist")
    if source.is_file():
        students = _from_moodle_zip(source, open_files)
    else:
        students = _merged([*_from_student_folders(source), *_from_flat_files(source, released)])
    if not any(_is_notebook(file.name) and not file.hidden for student in students for file in student.files):
        raise CourseError(
            f"no submission in {source}: expected <student>/<notebook>.ipynb, "
            "<student>_<name>.ipynb or a Moodle zip"
        )
    return sorted(students, key=lambda student: student.id)


def _merged(students: list[_Student]) -> list[_Student]:
    """One student per id (the files of `alice/` and of `alice_TP1.ipynb` together); the
    files that named no student and the source's own hidden files stay apart."""
    merged: dict[str, _Student] = {}
    apart = []
    for student in students:
        if student.id in (UNIDENTIFIED, NO_STUDENT) or student.refused:
            apart.append(student)
        elif student.id in merged:
            merged[student.id].files.extend(student.files)
        else:
            merged[student.id] = student
    return [*merged.values(), *apart]


def _skipped(parts: tuple[str, ...]) -> bool:
    """A hidden file or folder, the system's: nobody's submission."""
    return any(part.startswith(".") or part in SYSTEM_FILES for part in parts)


def _is_notebook(name: str) -> bool:
    return name.lower().endswith(".ipynb")


def _folder_files(folder: Path, paths: list[Path]) -> list[_File]:
    """The regular files among `paths`, hidden ones marked; a symbolic link is listed but
    never followed (reading it is an error, so a linked notebook is rejected and nothing it
    points to is copied)."""
    files = []
    for path in sorted(paths):
        inside = path.relative_to(folder)
        hidden = _skipped(inside.parts)
        shown = str(inside) if hidden else path.name
        if any((folder / Path(*inside.parts[:n])).is_symlink() for n in range(1, len(inside.parts) + 1)):
            when = datetime.fromtimestamp(path.lstat().st_mtime, timezone.utc)
            files.append(_File(shown, str(path), when, partial(_refuse_link, path.name), hidden))
        elif path.is_file():
            when = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            files.append(_File(shown, str(path), when, path.read_bytes, hidden))
    return files


def _refuse_link(name: str) -> bytes:
    raise OSError(f"{name} is a symbolic link (not followed)")


def _from_student_folders(source: Path) -> list[_Student]:
    """One student per sub-folder, named by it (refused when the name is no identifier)."""
    return [
        _Student(folder.name, files=_folder_files(folder, list(folder.rglob("*"))),
                 refused=_implausible(folder.name))
        for folder in sorted(source.iterdir())
        if folder.is_dir() and not _skipped((folder.name,))
    ]


def _from_flat_files(source: Path, released: str) -> list[_Student]:
    """The files at the top of `source`, grouped by student (`<student>_<anything>`); a file
    without a plausible student part is a refused student of its own, a hidden file (the
    system's) a line of its own."""
    students: dict[str, _Student] = {}
    apart = []
    released_stem = Path(released).stem.lower()
    for file in _folder_files(source, [path for path in source.iterdir() if not path.is_dir()]):
        student, underscore, _ = Path(file.name).stem.partition("_")
        if file.hidden:
            apart.append(_Student(NO_STUDENT, files=[file]))
        elif not underscore or not student or file.name.lower().startswith(released_stem):
            apart.append(_Student(
                UNIDENTIFIED, files=[file],
                refused=f"no student in the file name {file.name}: expected <student>_{released}",
            ))
        elif _implausible(student):
            apart.append(_Student(UNIDENTIFIED, files=[file], refused=(
                f"{_implausible(student)}, from the file name {file.name}: expected <student>_{released}")))
        else:
            students.setdefault(student, _Student(student)).files.append(file)
    return [*students.values(), *apart]


def _implausible(student: str) -> str:
    """Why a name found in the source is not a student id ('' when it is one)."""
    if id_problem(student) or PLAUSIBLE_ID.fullmatch(student):
        return id_problem(student)
    return (f'"{printable(student)}" is not a student id (letters, digits and . - _ @ + only, '
            "no space)")


def _from_moodle_zip(path: Path, open_files: ExitStack) -> list[_Student]:
    """One student per Moodle submission folder; the zip stays open while files are read."""
    try:
        archive = open_files.enter_context(zipfile.ZipFile(path))
    except (zipfile.BadZipFile, OSError) as error:
        raise CourseError(f"cannot read the zip {path}: {error}") from None
    found: dict[str, tuple[str, list[_File]]] = {}  # moodle id -> (full name, files)
    apart = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = _entry_name(info)
        modified = datetime(*info.date_time).astimezone(timezone.utc)  # naive = local time
        if _skipped((name.split("/")[0],)):  # __MACOSX/, .DS_Store: the zipping system's
            apart.append(_Student(NO_STUDENT, files=[_File(name, f"{path}:{name}", modified, bytes, True)]))
            continue
        match = MOODLE_ENTRY.fullmatch(name)
        if not match:
            raise CourseError(
                f"{path} is not a Moodle submissions zip: {name} is not in a "
                "<Full Name>_<id>_assignsubmission_file_ folder"
            )
        inside = PurePosixPath(match["path"])
        hidden = _skipped(inside.parts)
        file = _File(str(inside) if hidden else inside.name, f"{path}:{name}", modified,
                     partial(archive.read, info), hidden)
        found.setdefault(match["moodle_id"], (match["name"], []))[1].append(file)
    slugs = Counter(_slug(full_name) for full_name, _ in found.values())
    students = []
    for moodle_id, (full_name, files) in found.items():
        slug = _slug(full_name)
        student = slug if slug and slugs[slug] == 1 else f"{slug or 'moodle'}_{moodle_id}"
        first_name, _, last_name = full_name.strip().partition(" ")
        identity = MoodleIdentity(participant_id=moodle_id, full_name=full_name.strip())
        students.append(_Student(student, first_name, last_name, files, identity))
    return students + apart


def _entry_name(info: zipfile.ZipInfo) -> str:
    """A zip entry's name as its author wrote it: without the UTF-8 flag (Info-ZIP, Windows'
    compressed folders) Python reads the bytes as cp437, which turns "Lefèvre" into
    "LefÞvre"; bytes that are valid UTF-8 are UTF-8."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except UnicodeError:
        return info.filename


def _slug(full_name: str) -> str:
    """An ASCII student id from a full name: "Jeanne Dupont-Sémard" → "jeanne_dupont_semard"."""
    ascii_name = unicodedata.normalize("NFKD", full_name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")


# --- One student ----------------------------------------------------------------------------


def _collect_one(
    root: Path, assignment: str, released: str, student: _Student, replace: bool,
    due: datetime | None, practicals: dict[str, set[str]],
) -> dict[str, Any]:
    if student.id == NO_STUDENT:  # the system's files, nobody's submission
        [file] = student.files
        return _entry("", IGNORED, f"{file.name}: hidden file (the system's or an editor's)", file.source,
                      None, None, [_line(file, IGNORED, "hidden file")])
    try:
        if student.refused:
            raise _Rejected(student.refused)
        if id_problem(student.id):
            raise _Rejected(id_problem(student.id))
        file, notes, ignored = _pick_notebook(student.files, released)
        data = _notebook_bytes(file)
        _check_practical(file, data, assignment, practicals)
    except _Rejected as rejected:
        files = [rejected.file] if rejected.file else student.files
        return _reject(root, assignment, student, str(rejected), files)
    folder = submitted_dir(root, student.id, assignment)
    status, message = _place(folder, released, file, data, replace)
    if status in (COLLECTED, REPLACED):
        if student.moodle:
            write_moodle_identity(folder, student.moodle)
        late = _late(root, file.modified, due)
        message = "; ".join(filter(None, [late, message, notes]))
    lines = [_line(file, status, ""), *(_line(other, IGNORED, why) for other, why in ignored)]
    return _entry(student.id, status, message, file.source, released, file.modified, lines)


def _line(file: _File, action: str, why: str) -> dict[str, str]:
    """What became of one file of the source."""
    return {"file": printable(file.source), "action": action, "why": printable(why)}


def _reject(root: Path, assignment: str, student: _Student, reason: str, files: list[_File]) -> dict[str, Any]:
    """The entry of a refused upload, whose files are kept in rejected/ with the reason (under
    no student when the id itself was refused). Names and reasons quote file names: they are
    stored with their control characters escaped."""
    reason, sources = printable(reason), printable(", ".join(f.source for f in files))
    kept_as = UNIDENTIFIED if _implausible(student.id) else student.id
    modified = max((f.modified for f in files), default=None)
    contents: dict[str, bytes] = {}
    for number, file in enumerate(student.files):
        try:
            data = file.read()
        except READ_ERRORS:
            continue  # unreadable: nothing to keep but its name, in the reason's sources
        contents[file.name if file.name not in contents else f"{number}-{file.name}"] = data
    keep_rejected(root, Rejection(
        student=kept_as, assignment=assignment, reason=reason, source=sources,
        timestamp=modified.isoformat() if modified else None, files=sorted(contents),
    ), contents)
    lines = [_line(file, REJECTED, "kept in rejected/") for file in student.files]
    return _entry(kept_as, REJECTED, reason, sources, None, modified, lines)


def _late(root: Path, submitted: datetime, due: datetime | None) -> str:
    """A note when the submission came after the due date, with the course's rule."""
    if due is None or submitted.replace(tzinfo=None) <= due:
        return ""
    return f"{late_words(due, submitted.replace(tzinfo=None))}: {late_rule(root).english()}"


def _entry(
    student: str, status: str, message: str, source: str, notebook: str | None,
    timestamp: datetime | None, files: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "student": student, "status": status, "message": printable(message), "source": printable(source),
        "notebook": notebook, "timestamp": timestamp.isoformat() if timestamp else None,
        "files": files or [],
    }


def _practicals_cells(root: Path) -> dict[str, set[str]]:
    """The grade ids of each practical of the course (its master, else its release)."""
    cells = {}
    for folder in ("release", "source"):  # the source, when there is one, has the last word
        for path in sorted((root / folder).glob("*/*.ipynb")):
            try:
                cells[path.parent.name] = _grade_ids(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
    return cells


def _grade_ids(notebook: Any) -> set[str]:
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    return {grade_id(cell) for cell in cells if grade_id(cell)} if isinstance(cells, list) else set()


def _check_practical(file: _File, data: bytes, assignment: str, practicals: dict[str, set[str]]) -> None:
    """Refuse the notebook of another practical, or one made from no release of this one: a
    practical's notebook holds most of that practical's cells, and most of its cells are that
    practical's (a student's own cells carry no grade id)."""
    found = _grade_ids(json.loads(data))

    def fit(cells: set[str]) -> float:
        return min(len(found & cells) / len(cells), len(found & cells) / max(len(found), 1))

    fits = {name: fit(cells) for name, cells in practicals.items() if cells}
    best = max(fits, key=fits.get, default=assignment)
    if best != assignment and fits[best] > fits.get(assignment, 0.0):
        raise _Rejected(f"{file.name} is {best}'s notebook, not {assignment}'s", file)
    if fits.get(assignment, 1.0) < 0.5:
        shared = len(found & practicals[assignment])
        raise _Rejected(f"{file.name} was not made from {assignment}'s release: {shared} of its "
                        f"{len(found)} graded cells are {assignment}'s, of {len(practicals[assignment])}", file)


def _pick_notebook(files: list[_File], released: str) -> tuple[_File, str, list[tuple[_File, str]]]:
    """The student's notebook, a note of what was renamed or chosen, and each other file with
    why it was left. Several notebooks are refused, unless all are copies of one file (a
    browser's `TP1 (1).ipynb`, `TP1 - Copie.ipynb`) and one is the newest: then it is taken."""
    shown = [file for file in files if not file.hidden]
    notebooks = [file for file in shown if _is_notebook(file.name)]
    if not notebooks:
        others = ", ".join(file.name for file in shown)
        raise _Rejected(f"not a notebook: {others}" if others else "no file")
    ignored = [(file, "hidden file") for file in files if file.hidden]
    ignored += [(file, "not a notebook: only the notebook is collected") for file in shown
                if not _is_notebook(file.name)]
    notes = []
    file = max(notebooks, key=lambda notebook: notebook.modified)
    if len(notebooks) > 1:
        names = ", ".join(notebook.name for notebook in notebooks)
        same_file = len({_copied_from(notebook.name) for notebook in notebooks}) == 1
        newest = sum(notebook.modified == file.modified for notebook in notebooks) == 1
        if not (same_file and newest):
            raise _Rejected(f"{len(notebooks)} notebooks ({names}): which one to grade is not clear; "
                            f"the student hands in one (named {released})")
        notes.append(f"took {file.name}, the newest of {len(notebooks)} copies of one file "
                     f"({_when(file.modified)})")
        ignored += [(other, f"an older copy of {file.name}") for other in notebooks if other is not file]
    if not _is_released(file.name, released):
        notes.append(f"renamed {file.name} to {released}")
    left = [other.name for other, _ in ignored if not other.hidden]
    if left:
        notes.append(f"ignored {', '.join(left)}")
    return file, "; ".join(notes), ignored


def _copied_from(name: str) -> str:
    """The name a copy was made from: `TP1 (2).ipynb`, `TP1 - Copie.ipynb`, `TP1 copy 2.ipynb` → `tp1`."""
    stem = Path(name).stem.lower()
    return COPY_SUFFIX.sub("", stem).strip()


def _is_released(name: str, released: str) -> bool:
    """The released notebook, named as released or `<student>_<released name>` (flat files)."""
    return name == released or name.partition("_")[2] == released


def _notebook_bytes(file: _File) -> bytes:
    """The file's bytes, once they are known to be a valid nbformat 4 notebook."""
    try:
        data = file.read()
    except READ_ERRORS as error:
        raise _Rejected(f"cannot read {file.name}: {error}", file) from None
    if not data.strip():
        raise _Rejected("not a notebook: empty file", file)
    try:
        content = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Rejected("not a notebook: not UTF-8 text", file) from None
    except json.JSONDecodeError as error:
        raise _Rejected(f"not a notebook: invalid JSON (line {error.lineno})", file) from None
    if not isinstance(content, dict) or content.get("nbformat") != 4:
        raise _Rejected('not a notebook: JSON without "nbformat": 4', file)
    try:
        with warnings.catch_warnings():  # old notebooks without cell ids are fine for nbgrader
            warnings.simplefilter("ignore")
            nbformat.validate(content, version=4)
    except nbformat.ValidationError as error:
        raise _Rejected(f"not a valid notebook: {error.message}", file) from None
    return data


def _place(folder: Path, released: str, file: _File, data: bytes, replace: bool) -> tuple[str, str]:
    """Write the notebook and its timestamp.txt into `folder` unless a different submission
    is there and `replace` is off; a replaced submission is moved aside, never deleted."""
    status, message = COLLECTED, ""
    if folder.is_dir() and any(folder.iterdir()):
        old = folder / released
        if old.is_file() and old.read_bytes() == data:
            return UNCHANGED, "same notebook as the one already collected"
        when = _when(_submitted_at(folder))
        if not replace:
            return KEPT, (
                f"a different submission is already collected ({when}); --replace takes the new one"
            )
        previous = folder.with_name(
            f"{folder.name}.previous-{datetime.now(timezone.utc):%Y%m%d-%H%M%S-%f}"
        )
        folder.rename(previous)
        status, message = REPLACED, f"the submission of {when} is moved to {previous.name}/"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / released).write_bytes(data)
    (folder / "timestamp.txt").write_text(f"{file.modified:{TIMESTAMP_FORMAT}}\n")
    return status, message


def _submitted_at(folder: Path) -> datetime | None:
    """The submission time nbgrader will read from the folder's timestamp.txt (UTC)."""
    try:
        stamp = submission_time(folder)
    except ValueError:
        return None
    return stamp.replace(tzinfo=timezone.utc) if stamp else None


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "time unknown"


# --- nbgrader's exchange --------------------------------------------------------------------


def _collect_exchange(root: Path, assignment: str, replace: bool,
                      practicals: dict[str, set[str]]) -> list[dict[str, Any]]:
    """nbgrader's own collect; its log says what it did for each student. A notebook it
    collected that is another practical's, or made from none, is moved to rejected/."""
    result = nbgrader_api(root).collect(assignment, update=replace)
    if not result["success"]:
        reason = last_line(result["error"])
        raise CourseError(
            f"nbgrader could not collect {assignment} from the exchange: "
            + re.sub(r"^[\w.]+: ", "", reason)  # without the exception's class name
            + " (see c.Exchange.root in nbgrader_config.py; `course release "
            + f"{assignment} --exchange` publishes there first)"
        )
    actions = "|".join(map(re.escape, EXCHANGE_LOG))
    done = re.findall(rf"({actions}): (\S+) {re.escape(assignment)}$", result.get("log", ""), re.M)
    entries = []
    for action, student in sorted(done, key=lambda pair: pair[1]):
        folder = submitted_dir(root, student, assignment)
        submitted_at = _submitted_at(folder)
        status = EXCHANGE_LOG[action]
        message = (
            f"a submission is already collected ({_when(submitted_at)}); "
            "--replace takes the newest of the exchange"
            if status == KEPT else ""
        )
        notebooks = ", ".join(sorted(p.name for p in folder.glob("*.ipynb")))
        if status in (COLLECTED, REPLACED):
            reason = _wrong_practical(folder, assignment, practicals)
            if reason:
                entries.append(_reject_collected(root, assignment, student, folder, reason, submitted_at))
                continue
        entries.append(_entry(student, status, message, EXCHANGE, notebooks or None, submitted_at))
    return entries


def _wrong_practical(folder: Path, assignment: str, practicals: dict[str, set[str]]) -> str:
    """Why the notebook nbgrader collected in `folder` is not this practical's ('' if it is)."""
    for path in sorted(folder.glob("*.ipynb")):
        file = _File(path.name, str(path), datetime.now(timezone.utc), path.read_bytes)
        try:
            _check_practical(file, _notebook_bytes(file), assignment, practicals)
        except _Rejected as rejected:
            return str(rejected)
    return ""


def _reject_collected(root: Path, assignment: str, student: str, folder: Path, reason: str,
                      submitted_at: datetime | None) -> dict[str, Any]:
    """Move what nbgrader collected into rejected/, with the reason (nbgrader's exchange
    keeps the submission: nothing is lost)."""
    files = [p for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()]
    keep_rejected(root, Rejection(
        student=student, assignment=assignment, reason=printable(reason), source=EXCHANGE,
        timestamp=submitted_at.isoformat() if submitted_at else None, files=[p.name for p in files],
    ), {p.name: p.read_bytes() for p in files})
    shutil.rmtree(folder)
    return _entry(student, REJECTED, reason, EXCHANGE, None, submitted_at)


def place_submission(*, course_dir: str | Path, assignment: str, student: str, notebook: str | Path) -> Path:
    """Put `notebook` where nbgrader expects the student's submission, under the released name."""
    root = course_root(course_dir)
    target = submitted_dir(root, student, assignment)
    target.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(notebook, target / released_notebook(root, assignment).name))
