"""Text from a submission made inert where the instructor reads it: a terminal, a spreadsheet.

Error messages, file names, student ids and the values checks quote come from student code.
Printed raw, a control character acts on the instructor's terminal (ESC sequences erase a
line, rewrite what was printed, set the clipboard with OSC 52; bidirectional overrides reorder
what is shown); stored, it reaches every later report. `printable` writes each such character
as a visible escape (`\\x1b`, `\\u202e`). In a spreadsheet, a cell that starts with `=`, `+`,
`-`, `@`, a tab or a carriage return is a formula: `spreadsheet_cell` makes it text by a
leading apostrophe (OWASP's rule for CSV injection).
"""

from __future__ import annotations

import re
import sys

# C0 (but tab and newline, kept where asked), DEL and C1, the line and paragraph separators,
# and the bidirectional controls (Trojan Source).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str, *, newlines: bool = False) -> str:
    """`text` with every control character written as an escape; tabs and newlines kept only
    when `newlines` (otherwise escaped: a one-line message stays one line)."""
    pattern = CONTROL if newlines else _ONE_LINE
    return pattern.sub(_escape, text)


_ONE_LINE = re.compile(CONTROL.pattern[:-1] + "\t\n]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def spreadsheet_delimiter(header: str) -> str:
    """The delimiter of a CSV from a spreadsheet: ";" when its header line has more of them
    than commas (a spreadsheet set to French writes ";"), else ","."""
    return ";" if header.count(";") > header.count(",") else ","


def spreadsheet_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never evaluates."""
    text = printable(str(value), newlines=True)
    return "'" + text if text.startswith(FORMULA_START) else text


def say(*parts: object, file=None, flush: bool = False) -> None:
    """print, with the control characters of student text (ids, file names, error messages)
    written as escapes: nothing printed acts on the instructor's terminal."""
    print(printable(" ".join(map(str, parts)), newlines=True), file=file or sys.stdout, flush=flush)
