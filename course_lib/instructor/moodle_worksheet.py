"""Moodle's offline grading worksheet, filled: for an assignment whose students have no ID
number nor e-mail in the roster.

A Moodle assignment with "Offline grading worksheet" feedback lets the teacher download a CSV
(View all submissions → Download grading worksheet) and upload it back. Its rows are matched
by the column "Identifier" (French « Identifiant »), `Participant 1234567`: the participant id
that also names the submission folders of "Download all submissions", which `course collect`
keeps in moodle.json. Moodle finds its columns by their header text in the language of the
download (mod/assign/feedback/offline/importgradeslib.php), so the file is written back with
its headers, its delimiter, its other cells and its byte-order mark untouched; only the
"Grade" cells (and an empty "Feedback comments", when the column is there) of the students
with a final grade are filled, with the file's decimal mark. A cell Moodle does not read back
(a full name, the student's own) that a spreadsheet would take for a formula is made text, as
in every export. A participant collected as two students (the same zip collected with and
without a roster) gets no grade: which is theirs is not clear. Grades are scaled to the worksheet's
"Maximum Grade" when it differs from the practical's points (Moodle refuses a grade above it).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from course_lib.errors import CourseError
from course_lib import french
from course_lib.instructor.roll import Standing
from course_lib.results import State
from course_lib.instructor.output import ExportedFile
from course_lib.safe_text import spreadsheet_cell, spreadsheet_delimiter
from course_lib.submissions import read_moodle_identity

# Moodle's language strings of the columns read or filled (English, French).
IDENTIFIER = ("Identifier", "Identifiant")  # assign: recordid
GRADE = ("Grade", "Note")  # moodle: grade / gradenoun
MAXIMUM = ("Maximum Grade", "Maximum grade", "Note maximale")  # assign: maxgrade
COMMENTS = ("Feedback comments", "Feedback par commentaires")  # assignfeedback_comments: pluginname
MODIFIED = ("Last modified (grade)", "Dernière modification (note)")  # assign: lastmodifiedgrade
PARTICIPANT = re.compile(r"^\s*\S.*?(?P<id>\d+)\s*$")  # "Participant 1234567", "Participant1234567"


@dataclass(frozen=True)
class Worksheet:
    bom: bool
    delimiter: str
    header: list[str]
    rows: list[list[str]]
    french: bool

    def column(self, names: tuple[str, ...]) -> int | None:
        found = [i for i, title in enumerate(self.header) if title.strip() in names]
        return found[0] if found else None


def read_worksheet(path: Path) -> Worksheet:
    """The worksheet as Moodle wrote it (or a spreadsheet saved it, with ';'), checked."""
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeError) as error:
        raise CourseError(f"cannot read the Moodle worksheet {path}: {error}") from None
    delimiter = spreadsheet_delimiter(text.partition("\n")[0])
    table = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not table:
        raise CourseError(f"{path} is empty: download the grading worksheet from the Moodle assignment")
    sheet = Worksheet(data.startswith(b"\xef\xbb\xbf"), delimiter, table[0], table[1:],
                      french=any(title.strip() == IDENTIFIER[1] for title in table[0]))
    missing = [names[0] for names in (IDENTIFIER, GRADE) if sheet.column(names) is None]
    if missing:
        raise CourseError(f"{path} is not a Moodle grading worksheet: no column {' nor '.join(missing)} "
                          "(download it from the assignment: View all submissions → Download grading worksheet)")
    if any(len(row) != len(sheet.header) for row in sheet.rows if row):
        raise CourseError(f"{path}: a row has not as many cells as the header (Moodle would refuse it)")
    return sheet


def fill_worksheet(
    *, root: Path, standings: list[Standing], assignment: str, worksheet: Path, output: Path,
    include_provisional: bool,
) -> ExportedFile:
    """Write `worksheet` filled with the final grades of `assignment` into `output`."""
    sheet = read_worksheet(worksheet)
    identifier, grade, maximum, comments = (sheet.column(names) for names in (IDENTIFIER, GRADE, MAXIMUM, COMMENTS))
    imported = {identifier, grade, comments, sheet.column(MODIFIED)}  # what Moodle reads back
    comma = _decimal_comma(sheet, maximum)
    by_participant: dict[str, list[Standing]] = {}
    left_out: list[str] = []
    for standing in standings:
        identity = read_moodle_identity(root, standing.student, assignment)
        if identity is not None:
            by_participant.setdefault(identity.participant_id, []).append(standing)
        elif standing.state != State.NOT_SUBMITTED and standing.result is not None:
            left_out.append(f"{standing.student} (not collected from a Moodle zip: no participant id)")
    filled, seen = 0, set()
    for row in sheet.rows:
        found = PARTICIPANT.match(row[identifier]) if row else None
        mine = by_participant.get(found["id"], []) if found else []
        seen.update(s.student for s in mine)
        if len(mine) > 1:
            left_out.append(f"{', '.join(s.student for s in mine)} (one Moodle participant, {found['id']}, "
                            "collected as several students: which grade is theirs is not clear)")
            continue
        if not mine:
            continue
        [standing] = mine
        if not standing.exportable(include_provisional):
            left_out.append(f"{standing.student} ({standing.not_final})")
            continue
        result = standing.result
        top = _number(row[maximum]) if maximum is not None else None
        scaled = top is not None and top > 0 and result.max_score > 0 and top != result.max_score
        row[grade] = _written(result.score * top / result.max_score if scaled else result.score, comma)
        if comments is not None and not row[comments].strip():  # the instructor's own comment stays
            row[comments] = (f"Note du correcteur automatique : {french.score(result.score)} / "
                             f"{french.score(result.max_score)} ; le détail est dans ta page de retour.")
        filled += 1
    left_out += [f"{s.student} (participant not in the worksheet)" for group in by_participant.values()
                 for s in group if s.student not in seen and s.result is not None]
    if not filled:
        raise CourseError(f"no grade of {assignment} went into {worksheet.name}: " + ("; ".join(left_out[:3]) or
                          "none of its participants was collected from this assignment's Moodle zip"))
    # Cells Moodle does not read back (names, e-mails, statuses) are made inert for a
    # spreadsheet; the ones it imports stay as they are.
    inert = [[cell if n in imported or cell.strip() in ("", "-") else spreadsheet_cell(cell)
              for n, cell in enumerate(row)] for row in sheet.rows]
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sheet.delimiter, lineterminator="\n").writerows([sheet.header, *inert])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(("\ufeff" if sheet.bom else "") + buffer.getvalue(), encoding="utf-8")
    return ExportedFile(output, left_out)


def _decimal_comma(sheet: Worksheet, maximum: int | None) -> bool:
    """The file's decimal mark: its "Maximum Grade" cells' ("20,00"), else its language's."""
    marks = {cell for row in sheet.rows if row and maximum is not None for cell in (row[maximum],) if _number(cell)}
    if marks:
        return any("," in cell for cell in marks)
    return sheet.french


def _number(text: str) -> float | None:
    """Moodle's 20.00 or 20,00; None for '-' or anything else."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return None


def _written(value: float, french: bool) -> str:
    """A grade with two decimals, as Moodle writes them, in the file's language."""
    text = f"{value:.2f}"
    return text.replace(".", ",") if french else text
