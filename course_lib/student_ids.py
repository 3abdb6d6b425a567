"""Student ids as the instructor reads them: printable, and never two that look alike.

An id comes from a folder or file name of the collection source (or Moodle's full name), that
is, from students. One with a control character (a terminal escape that erases a line or
writes the clipboard) or an invisible one is refused at collection. One that looks like
another (a Cyrillic "а" for a Latin "a", "1" for "l") is collected, and reported: two ids
with the same skeleton are two students to tell apart by hand. The skeleton follows Unicode's
UTS #39: each character decomposed, mapped to the prototype of its confusables (the Unicode
confusables data as confusable_homoglyphs ships it), case folded.
"""

from __future__ import annotations

import functools
import json
import unicodedata
from collections import defaultdict
from importlib import resources

from course_lib.safe_text import printable

INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def id_problem(student: str) -> str:
    """Why `student` cannot be an id ('' when it can)."""
    if not student.strip() or student != student.strip():
        return f'the student id "{printable(student)}" is empty or starts or ends with a space'
    if any(unicodedata.category(char) in INVISIBLE for char in student):
        return f'the student id "{printable(student)}" holds control or invisible characters'
    return ""


def skeleton(text: str) -> str:
    """What `text` looks like: equal skeletons, confusable strings."""
    prototypes = _prototypes()
    mapped = "".join(prototypes.get(char, char) for char in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped).casefold()


def look_alikes(students: list[str]) -> dict[str, list[str]]:
    """Each id that looks like other ids of `students` → those ids, sorted."""
    groups: dict[str, list[str]] = defaultdict(list)
    for student in students:
        groups[skeleton(student)].append(student)
    return {student: sorted(set(group) - {student}) for group in groups.values() if len(set(group)) > 1
            for student in group}


@functools.cache
def _prototypes() -> dict[str, str]:
    """character → the one character its confusables map to: an ASCII letter or digit when
    one of them is, else the smallest."""
    table = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    prototypes = {}
    for char, entries in table.items():
        candidates = [char] + [entry["c"] for entry in entries if len(entry["c"]) == 1]
        plain = [c for c in candidates if c.isascii() and c.isalnum()]
        prototypes[char] = min(plain or candidates)
    return prototypes
