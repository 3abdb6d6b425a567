"""Where a student's work for an assignment stands on disk, and what came with it.

- `submitted/<student>/<assignment>/`: nbgrader's place for a collected submission (the
  notebook, nbgrader's timestamp.txt and, from a Moodle zip, `moodle.json`: the participant
  id and full name Moodle gave the submission, which its feedback upload matches);
- `rejected/<student>/<assignment>/<UTC time>/`: what `collect` refused, kept whole with
  `rejection.json` saying why, so that no file and no student is lost; files that named no
  student are under the student `_unidentified`.

`collect` writes both; grading, status, export, report and feedback read them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

TIMESTAMP_FILE = "timestamp.txt"
REJECTION_FILE = "rejection.json"
MOODLE_FILE = "moodle.json"
UNIDENTIFIED = "_unidentified"


def submitted_dir(root: Path, student: str, assignment: str) -> Path:
    return root / "submitted" / student / assignment


def submitted_students(root: Path, assignment: str) -> list[str]:
    """The students with a collected submission of `assignment`, sorted."""
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())


def submission_digest(folder: Path) -> str:
    """SHA-256 of a submission folder's files (names and contents): unchanged work is skipped.
    The tree is walked without recursion and links are not followed (nbgrader's exchange
    copies a student's whole folder, whatever it holds)."""
    files, folders = [], [folder]
    while folders:
        for entry in os.scandir(folders.pop()):
            if entry.is_dir(follow_symlinks=False):
                folders.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                files.append(Path(entry.path))
    digest = hashlib.sha256()
    for path in sorted(files):
        name = str(path.relative_to(folder)).encode(errors="surrogateescape")
        digest.update(name + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def submission_time(folder: Path) -> datetime | None:
    """When the submission in `folder` was made (UTC, naive, as nbgrader keeps it), from its
    timestamp.txt; None when there is none; ValueError, one line, when it is not a time
    (nbgrader's exchange copies the student's own file)."""
    from nbgrader.utils import parse_utc

    path = folder / TIMESTAMP_FILE
    if not os.path.lexists(path):
        return None
    try:
        if path.is_symlink() or not path.is_file():
            raise OSError("not a regular file")
        with path.open("rb") as stream:
            text = stream.read(200).decode("utf-8").strip()
        return parse_utc(text)
    except (OSError, ValueError, OverflowError) as error:
        raise ValueError(f"{TIMESTAMP_FILE} is not a submission time ({type(error).__name__})") from None


@dataclass(frozen=True)
class MoodleIdentity:
    """What Moodle's "download all submissions" zip says of a submission's author."""

    participant_id: str
    full_name: str


def write_moodle_identity(folder: Path, identity: MoodleIdentity) -> None:
    _write_json(folder / MOODLE_FILE, asdict(identity))


def read_moodle_identity(root: Path, student: str, assignment: str) -> MoodleIdentity | None:
    path = submitted_dir(root, student, assignment) / MOODLE_FILE
    try:
        data = json.loads(path.read_text())
        return MoodleIdentity(str(data["participant_id"]), str(data["full_name"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class Rejection:
    """One refused upload: why, where it came from, when it was submitted, what was kept."""

    student: str
    assignment: str
    reason: str
    source: str
    timestamp: str | None  # ISO 8601, UTC
    files: list[str]  # names kept beside rejection.json


def keep_rejected(root: Path, rejection: Rejection, contents: dict[str, bytes]) -> Path:
    """Store the refused files and the reason in a folder of their own (never overwritten)."""
    moment = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S-%f}"
    folder = root / "rejected" / rejection.student / rejection.assignment / moment
    folder.mkdir(parents=True)
    for name, data in contents.items():
        (folder / Path(name).name).write_bytes(data)
    _write_json(folder / REJECTION_FILE, asdict(rejection))
    return folder


def latest_rejections(root: Path, assignment: str) -> dict[str, Rejection]:
    """Student → the most recent rejection of their uploads of `assignment`."""
    latest: dict[str, Rejection] = {}
    for path in sorted((root / "rejected").glob(f"*/{assignment}/*/{REJECTION_FILE}")):
        try:
            rejection = Rejection(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        latest[path.parents[2].name] = rejection  # sorted by time: the last one wins
    return latest


def _write_json(path: Path, data: object) -> None:
    """Atomically: a reader never sees half a file."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(temporary, path)
