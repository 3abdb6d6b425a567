"""Moodle's offline grading worksheet, filled: for an assignment whose students have no ID
number nor e-mail in the roster.

A Moodle assignment with "Offline grading worksheet" feedback lets the teacher download a CSV
(View all submissions → Download grading worksheet) and upload it back. Its rows are matched
by the column "Identifier" (French « Identifiant »), `Participant 1234567`: the participant id
that also names the submission folders of "Download all submissions", which `course collect`
keeps in moodle.json. Moodle finds its columns by their header text in the language of the
download (mod/assign/feedback/offline/importgradeslib.php), so the file is written back with
its headers, its delimiter, its other cells and its byte-order mark untouched; only the
"Grade" cells (and "Feedback comments", when the column is there) of the students with a final
grade are filled, with the file's decimal mark. A cell that a spreadsheet would read as a
formula (a full name is the student's own) is made text, as in every export. Grades are scaled to the worksheet's
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
from course_lib.instructor.roll import GRADED, NOT_SUBMITTED, Standing
from course_lib.instructor.views import Exported
from course_lib.safe_text import spreadsheet_cell
from course_lib.submissions import read_moodle_identity

# Moodle's language strings of the columns read or filled (English, French).
IDENTIFIER = ("Identifier", "Identifiant")  # assign: recordid
GRADE = ("Grade", "Note")  # moodle: grade / gradenoun
MAXIMUM = ("Maximum Grade", "Maximum grade", "Note maximale")  # assign: maxgrade
COMMENTS = ("Feedback comments", "Feedback par commentaires")  # assignfeedback_comments: pluginname
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
    first = text.partition("\n")[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
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
    include_provisional: bool, provisional: tuple[str, ...],
) -> Exported:
    """Write `worksheet` filled with the final grades of `assignment` into `output`."""
    sheet = read_worksheet(worksheet)
    identifier, grade, maximum, comments = (sheet.column(names) for names in (IDENTIFIER, GRADE, MAXIMUM, COMMENTS))
    by_participant: dict[str, Standing] = {}
    left_out: list[str] = []
    for standing in standings:
        identity = read_moodle_identity(root, standing.student, assignment)
        if identity is not None:
            by_participant[identity.participant_id] = standing
        elif standing.state != NOT_SUBMITTED:
            left_out.append(f"{standing.student} (not collected from a Moodle zip: no participant id)")
    filled, seen = 0, set()
    for row in sheet.rows:
        found = PARTICIPANT.match(row[identifier]) if row else None
        standing = by_participant.get(found["id"]) if found else None
        if standing is None:
            continue
        seen.add(standing.student)
        writable = standing.state == GRADED or (include_provisional and standing.state in provisional)
        if not writable:
            left_out.append(f"{standing.student} ({standing.not_final})")
            continue
        result = standing.result
        top = _number(row[maximum]) if maximum is not None else None
        score = result["score"] * top / result["max_score"] if top and result["max_score"] and top != result["max_score"] else result["score"]
        row[grade] = _written(score, sheet.french)
        if comments is not None:
            row[comments] = (f"Note du correcteur automatique : {french.score(result['score'])} / "
                             f"{french.score(result['max_score'])} ; le détail est dans ta page de retour.")
        filled += 1
    left_out += [f"{s.student} (participant not in the worksheet)" for s in by_participant.values()
                 if s.student not in seen and s.result is not None]
    if not filled:
        raise CourseError(f"no grade of {assignment} went into {worksheet.name}: " + ("; ".join(left_out[:3]) or
                          "none of its participants was collected from this assignment's Moodle zip"))
    buffer = io.StringIO()
    inert = [[cell if cell.strip() in ("", "-") else spreadsheet_cell(cell) for cell in row] for row in sheet.rows]
    csv.writer(buffer, delimiter=sheet.delimiter, lineterminator="\n").writerows([sheet.header, *inert])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(("\ufeff" if sheet.bom else "") + buffer.getvalue(), encoding="utf-8")
    return Exported(output, left_out)


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
