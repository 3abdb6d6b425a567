"""The autograded notebook, made inert: what formgrader renders in the instructor's browser.

Formgrader shows the executed notebook as HTML, on the instructor's Jupyter server, where a
script could use the instructor's session (the contents API, terminals). So the notebook is
rebuilt by the grader: every cell is the prepared one (the release's cells, the student's
answers and added cells as submitted, course_lib.pipeline.prepare), and only outputs and
execution counts are taken from the run, cell by cell, then cleaned:

- the student's markdown (answers, added cells, `text/markdown` outputs) and `text/html` outputs go through bleach, as
  nbconvert's SanitizeHTML preprocessor does (unsafe markup is escaped, shown as text); a
  markdown cell whose links or images point anywhere but http(s), mailto or the page itself is
  shown as plain text; TeX link commands (`\\href`, `\\url`) are defused;
- `image/svg+xml` keeps only drawing elements and attributes (no script, handler, link or
  foreign object), CSS through bleach's sanitizer;
- `text/plain`, `image/png`, `image/jpeg` (valid base64 only), streams and errors (strings
  only) are kept; every other type (JavaScript, widgets, LaTeX, PDF, ...) is dropped;
- output metadata keeps image widths and heights that are numbers, nothing else;
- outputs beyond the runner's bound in all are dropped (the report is the run's word on size).
"""

from __future__ import annotations

import base64
import binascii
import html.parser
import json
import re
from typing import Any
from urllib.parse import urlsplit

import bleach
import nbformat
from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, ALLOWED_SVG_PROPERTIES, CSSSanitizer

from course_lib.cells import is_answer

SAFE_SCHEMES = {"", "http", "https", "mailto"}
TEX_LINKS = re.compile(r"\\(href|url)\b")
SVG_TAGS = [
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text", "tspan",
    "defs", "clipPath", "title", "desc", "linearGradient", "radialGradient", "stop",
]
SVG_ATTRIBUTES = [
    "width", "height", "viewBox", "xmlns", "version", "d", "x", "y", "x1", "x2", "y1", "y2", "cx",
    "cy", "r", "rx", "ry", "points", "transform", "fill", "stroke", "stroke-width", "clip-path", "id",
    "style", "opacity", "font-size", "font-family", "text-anchor", "offset", "stop-color",
    "preserveAspectRatio", "fill-opacity", "stroke-opacity", "stroke-linecap", "stroke-linejoin",
    "dominant-baseline", "gradientUnits",
]
_CSS = CSSSanitizer(allowed_css_properties=ALLOWED_CSS_PROPERTIES,
                    allowed_svg_properties=ALLOWED_SVG_PROPERTIES)


def rebuilt_notebook(prepared: Any, ran: dict[str, Any] | None, release: Any, max_output_bytes: int) -> Any:
    """`prepared`'s cells with the cleaned outputs of the run (`ran`: the runner's notebook,
    None when it gave none): what the grader reads of the run, and, without its export cells
    (prepare.without_exports), what formgrader shows. The markdown of `release`, the
    instructor's, is kept as it is; any other is cleaned."""
    notebook = nbformat.from_dict(json.loads(json.dumps(prepared)))
    instructors = {cell.source for cell in release.cells if cell.cell_type == "markdown"
                   and not is_answer(cell)}
    executed = ran.get("cells") if isinstance(ran, dict) else None
    if not isinstance(executed, list) or len(executed) != len(notebook.cells):
        executed = [{}] * len(notebook.cells)  # not the cells that were sent: no output is used
    left = max_output_bytes
    for cell, run in zip(notebook.cells, executed):
        if cell.cell_type == "markdown":
            cell.source = cell.source if cell.source in instructors else markdown(cell.source)
        elif cell.cell_type == "code":
            count = run.get("execution_count") if isinstance(run, dict) else None
            cell.execution_count = count if isinstance(count, int) and not isinstance(count, bool) else None
            cell.outputs = []
            for output in (run.get("outputs") if isinstance(run, dict) else None) or []:
                clean = _output(output)
                size = len(json.dumps(clean)) if clean else 0
                if clean and size <= left:
                    left -= size
                    cell.outputs.append(nbformat.from_dict(clean))
        else:  # a raw cell: HTML in one would be written out as it stands
            cell.source = bleach.clean(cell.source)
    return notebook


def markdown(text: str) -> str:
    """A student's markdown, inert when rendered: escaped markup, no active link."""
    text = TEX_LINKS.sub(r"\\text", bleach.clean(text))
    if _links_are_safe(text):
        return text
    return "\n".join("    " + line for line in text.splitlines())  # shown as text, as it stands


def _links_are_safe(text: str) -> bool:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    finder = _Links()
    finder.feed(markdown2html_mistune(text))
    return all(_safe_url(url) for url in finder.urls)


class _Links(html.parser.HTMLParser):
    """Every URL an element of a rendered page would load or follow."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "xlink:href", "action", "formaction", "srcset", "poster", "data"):
                self.urls.append(value or "")


def _safe_url(url: str) -> bool:
    compact = re.sub(r"[\x00-\x20\x7f]+", "", url)  # what browsers ignore in a scheme
    try:
        scheme = urlsplit(compact).scheme.lower()
    except ValueError:
        return False
    return scheme in SAFE_SCHEMES


def _output(output: Any) -> dict[str, Any] | None:
    """One output of the run, rebuilt from plain values; None when nothing of it is safe."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": _text(output.get("text"))}
    if kind == "error":
        traceback = output.get("traceback") if isinstance(output.get("traceback"), list) else []
        return {"output_type": "error", "ename": _text(output.get("ename")), "evalue": _text(output.get("evalue")),
                "traceback": [_text(line) for line in traceback]}
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    clean = {mime: value for mime, value in ((m, _data(m, v)) for m, v in data.items()) if value is not None}
    if not clean:
        return None
    result = {"output_type": kind, "data": clean, "metadata": _metadata(output.get("metadata"), clean)}
    if kind == "execute_result":
        count = output.get("execution_count")
        result["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
    return result


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(item for item in value if isinstance(item, str))
    return value if isinstance(value, str) else ""


def _data(mime: str, value: Any) -> str | None:
    text = _text(value)
    if mime == "text/plain":
        return text
    if mime in ("image/png", "image/jpeg"):
        try:
            base64.b64decode(text.replace("\n", ""), validate=True)
        except (binascii.Error, ValueError):
            return None
        return text
    if mime == "text/html":
        return bleach.clean(text)
    if mime == "text/markdown":
        return markdown(text)
    if mime == "image/svg+xml":
        return bleach.clean(text, tags=SVG_TAGS, attributes={"*": SVG_ATTRIBUTES}, strip=True,
                            strip_comments=True, css_sanitizer=_CSS)
    return None


def _metadata(metadata: Any, data: dict[str, str]) -> dict[str, Any]:
    """Image sizes that are numbers: the only metadata an HTML template writes into a tag."""
    kept: dict[str, Any] = {}
    for mime in data:
        sizes = metadata.get(mime) if isinstance(metadata, dict) else None
        if isinstance(sizes, dict):
            numbers = {k: v for k, v in sizes.items() if k in ("width", "height")
                       and isinstance(v, (int, float)) and not isinstance(v, bool)}
            if numbers:
                kept[mime] = numbers
    return kept
