"""What students call a cell: its title, read from the notebook, never its grade id.

A test cell opens with `# ✅ Vérification : <what it checks>`; a written answer follows the
markdown cell that asks it (`**Question 2.** …`); any other cell is known by the section it
sits in (the nearest markdown heading above it). Feedback pages, the self-check and the
instructor's one-line explanations all name cells this way.
"""

from __future__ import annotations

import re
from typing import Any

from course_lib.cells import grade_id as cell_grade_id, is_answer

CHECK_LINE = re.compile(r"^#\s*✅?\s*Vérification\s*:\s*(?P<title>.+?)\.?\s*$")
QUESTION = re.compile(r"^\s*\*\*(?P<title>Question\s+\d+)\.?\*\*")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$", flags=re.M)


def cell_phrase(title: str, grade_id: str, article: str = "la") -> str:
    """How a French sentence names a cell: « la cellule « 3. Les données MNIST » (load) »; a
    cell the student added has no grade id, and is named by the cell it follows."""
    if not grade_id:
        return f"{article} cellule ajoutée après « {title} »"
    return f"{article} cellule « {title} » ({grade_id})"


def practical_title(notebook: Any, default: str) -> str:
    """The practical's title: its notebook's first level-1 heading ("TP1 — Reconnaissance …")."""
    for cell in notebook.cells:
        if cell.get("cell_type") == "markdown":
            found = re.search(r"^#\s+(?P<title>.+?)\s*$", cell.get("source", ""), flags=re.M)
            if found:
                return _plain(found.group("title"))
    return default


def cell_titles(notebook: Any) -> dict[str, str]:
    """grade_id → title, for every cell of `notebook` that has a grade_id."""
    titles: dict[str, str] = {}
    section, previous_markdown = "", ""
    for cell in notebook.cells:
        source = cell.get("source", "")
        grade_id = cell_grade_id(cell)
        headings = HEADING.findall(source) if cell.get("cell_type") == "markdown" else []
        if headings:
            section = _plain(headings[-1])
        if grade_id:
            titles[grade_id] = _title(cell, source, previous_markdown, section) or grade_id
        if cell.get("cell_type") == "markdown":
            previous_markdown = source
    return titles


def _title(cell: Any, source: str, previous_markdown: str, section: str) -> str:
    first_line = source.strip().splitlines()[0] if source.strip() else ""
    check = CHECK_LINE.match(first_line)
    if cell.get("cell_type") == "code" and check:
        text = check.group("title")
        return text[0].upper() + text[1:] if "_" not in text.split()[0] else text
    question = QUESTION.match(previous_markdown)
    if is_answer(cell) and cell.get("cell_type") == "markdown" and question:
        return question.group("title")
    return section


def _plain(heading: str) -> str:
    """A markdown heading without its emphasis and code marks."""
    return re.sub(r"[*_`]", "", heading).strip()
