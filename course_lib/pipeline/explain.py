"""Why tests failed, said in the result's cells: the diagnosis of the executed notebook
(course_lib.pipeline.diagnosis) applied to the verifier's verdicts, on the coordinator."""

from __future__ import annotations

from course_lib.pipeline.diagnosis import CauseKind, Diagnosis
from course_lib.results import CellKind, CellRef, CellStatus, SubmissionResult
from course_lib.titles import cell_phrase
from course_lib.verdicts import Verdict


def explain(result: SubmissionResult, diagnosis: Diagnosis, verdicts: dict[str, Verdict],
            reads: dict[str, set[str]]) -> None:
    """Say in `result` why tests failed, only for those whose exported data is missing,
    through the variables of the export they lacked (`reads`: test → names). The nearest cell
    above that defined one of them and failed is either the test's own answer (below the test
    above it), left unfilled ("not answered"), or a cause further up: a cell that raised or an
    answer left unfilled (a knock-on of that cause). When no cell above defined them, the
    nearest cause above is named; when the cells that did ran well, the verifier's message
    stays. A test whose data was exported keeps the verifier's own message. The first cell
    that raised and the stubs left are kept for every report."""
    first = diagnosis.first_error
    result.first_error = None if first is None else CellRef(first.grade_id, first.title, first.error)
    result.unanswered = [CellRef(c.grade_id, c.title) for c in diagnosis.unanswered]
    for cell in result.cells:
        verdict, grade_id = verdicts.get(cell.grade_id), cell.grade_id
        if cell.kind != CellKind.AUTO or verdict is None or cell.points or not verdict.missing:
            continue
        providers = diagnosis.providers.get(grade_id, {})
        found = [providers[name] for name in reads.get(grade_id, set()) if name in providers]
        failed = sorted((p for p in found if p.cause is not None), key=lambda provider: -provider.position)
        nearest = failed[0] if failed else None
        if nearest and nearest.direct and nearest.cause.kind == CauseKind.NOT_ANSWERED \
                and nearest.position > diagnosis.since.get(grade_id, -1):
            own = nearest.cause
            cell.status, cell.message = CellStatus.NOT_ANSWERED, f"{cell_phrase(own.title, own.grade_id)} n'est pas remplie"
            continue
        cause = nearest.cause if nearest else None if found else diagnosis.upstream.get(grade_id)
        if cause is not None:
            done = "n'est pas remplie" if cause.kind == CauseKind.NOT_ANSWERED else "a échoué"
            cell.knock_on = True
            cell.message = (f"non vérifié : {cell_phrase(cause.title, cause.grade_id)} "
                            f"plus haut {done}, et cette vérification en dépend")
