"""Write nbgrader's cell metadata into the instructor notebooks (idempotent: re-run after any edit).

For every exercise ``N.M`` of ``solutions/NN_*.ipynb`` (the markdown headings
``### Exercise N.M``):

- each code cell holding ``### BEGIN SOLUTION`` becomes an nbgrader *autograded answer*
  (``solution: true``, ``grade_id: exN_M``, ``exN_M_2``, ... when an exercise has several);
- a checked exercise (a code cell calling ``chNN.check_...``) gets, right after that cell,
  an nbgrader *autograder test* cell, ``graded("N.M")``, worth :data:`CHECK_POINTS` points
  (``grade_id: exN_M_check``, locked): it passes when the exercise's check passed;
- a free-text exercise (its markdown holds ``<!-- BEGIN SOLUTION -->``) becomes a
  *manually graded answer* worth :data:`TEXT_POINTS` points (``grade_id: exN_M_text``),
  graded with the rubric in ``docs/instructor-guide.md``.

The metadata follows nbgrader's schema version 3, so ``nbgrader generate_assignment``
and ``nbgrader autograde`` accept the notebooks (``tools/grade.py`` runs both).
Run ``python scripts/grading_metadata.py`` (``--check`` exits 1 when a notebook lacks
it), then ``scripts/student_versions.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

try:
    from scripts.chapters import annotate_chapters
except ImportError:  # run as a file: scripts/ is on the path, not the repository
    from chapters import annotate_chapters

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"

#: Points of an exercise a check judges, and of a free-text one (rubric in the instructor guide).
CHECK_POINTS = 2
TEXT_POINTS = 3
HEADING = re.compile(r"^### Exercise (\d+)\.(\d+)", re.M)
CHECK_CALL = re.compile(r"\bch\d\d\.check_\w+\(")
#: The source of a test cell (the exercise number filled in).
TEST_SOURCE = ('from microlab.exercises import graded\n'
               'graded("{number}")  # nbgrader\'s test: passes when exercise {number}\'s check above passed')


def _meta(**fields) -> dict:
    return {"schema_version": 3, "locked": False, "solution": False, "grade": False, **fields}


def exercises(nb) -> list[tuple[str, list[int]]]:
    """``[(number, [cell indexes])]``: the cells of each exercise, from its heading to the next."""
    spans: list[tuple[str, list[int]]] = []
    for i, cell in enumerate(nb.cells):
        numbers = HEADING.findall(cell.source) if cell.cell_type == "markdown" else []
        if numbers:
            spans.append((".".join(numbers[-1]), [i]))
        elif cell.source.lstrip().startswith(("---", "## ")) and spans:
            spans.append(("", [i]))   # navigation or a new section: no exercise
        elif spans:
            spans[-1][1].append(i)
    return [(n, idx) for n, idx in spans if n]


def annotate(nb) -> bool:
    """Add or refresh the nbgrader metadata of ``nb`` in place; True when something changed."""
    before = nbformat.writes(nb)
    # Test cells are ours: drop them and add them again where they belong (keeping what other
    # scripts wrote in their metadata, such as the slide type).
    old_tests = {c.metadata["nbgrader"].get("grade_id"): c for c in nb.cells if _is_test_cell(c)}
    nb.cells = [c for c in nb.cells if not _is_test_cell(c)]
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    for number, indexes in reversed(exercises(nb)):
        gid = "ex" + number.replace(".", "_")
        heading = nb.cells[indexes[0]]
        if "<!-- BEGIN SOLUTION -->" in heading.source:
            heading.metadata["nbgrader"] = _meta(grade_id=f"{gid}_text", solution=True, grade=True,
                                                 points=TEXT_POINTS)
        answers = [i for i in indexes if nb.cells[i].cell_type == "code"
                   and "### BEGIN SOLUTION" in nb.cells[i].source]
        for k, i in enumerate(answers):
            nb.cells[i].metadata["nbgrader"] = _meta(grade_id=gid if k == 0 else f"{gid}_{k + 1}", solution=True)
        checks = [i for i in indexes if nb.cells[i].cell_type == "code" and CHECK_CALL.search(nb.cells[i].source)]
        if checks:
            test = old_tests.get(f"{gid}_check") or nbformat.v4.new_code_cell()
            test.source = TEST_SOURCE.format(number=number)
            test.id = f"{gid}-check".replace("_", "-")   # stable, so a re-run changes nothing
            test.metadata["nbgrader"] = _meta(grade_id=f"{gid}_check", grade=True, locked=True,
                                              points=CHECK_POINTS)
            nb.cells.insert(checks[-1] + 1, test)
    for cell in nb.cells:
        if "BEGIN SOLUTION" in cell.source and "nbgrader" not in cell.metadata \
                and "instructor" not in cell.metadata.get("tags", []):
            raise SystemExit(f"a solution outside any exercise: {cell.source[:80]!r}")
    return nbformat.writes(nb) != before


def _is_test_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return meta.get("grade") and not meta.get("solution")


def main(argv=None) -> int:
    """Annotate every chapter notebook in ``solutions/`` (or only check, with ``--check``)."""
    return annotate_chapters(annotate, script="scripts/grading_metadata.py", description=__doc__.split("\n\n")[0],
                             done="annotated", current="nbgrader metadata up to date", argv=argv, solutions=SOLUTIONS)


if __name__ == "__main__":
    sys.exit(main())
