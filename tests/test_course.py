"""The course's notebooks: structure, short cells, exercises, student versions in sync.

Executing the notebooks is nbval's job (``notebooks/`` and ``solutions/`` are in
pytest's testpaths); this module checks what a reviewer would check by reading them.
"""

import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
STUDENTS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CODE_LINES = 15


def _read(path):
    return nbformat.read(path, as_version=4)


def _chapter(path) -> int:
    return int(path.name[:2])


def test_every_instructor_notebook_has_a_student_version_and_back():
    assert [p.name for p in SOLUTIONS] == [p.name for p in STUDENTS]
    assert len(SOLUTIONS) >= 1


def test_student_versions_are_generated_from_the_instructor_versions():
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "student_versions.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_notebook_opens_with_title_questions_goals_and_time(path):
    first = _read(path).cells[0]
    assert first.cell_type == "markdown"
    assert re.match(rf"# {_chapter(path):02d}\. \S", first.source), "title must be '# NN. Title'"
    for needed in ("**Questions**", "**Learning goals**", "**Time:**"):
        assert needed in first.source, f"{path.name}: first cell lacks {needed}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_notebook_ends_with_key_points_and_exercises(path):
    text = "\n".join(c.source for c in _read(path).cells if c.cell_type == "markdown")
    assert "## Key points" in text
    if _chapter(path) >= 1:
        assert "## Exercises" in text
        exercises = re.findall(rf"^### Exercise {_chapter(path)}\.\d+", text, re.M)
        assert len(exercises) >= 3, f"{path.name} has {len(exercises)} exercises"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_instructor_notebooks_switch_on_instructor_mode_and_check_code(path):
    nb = _read(path)
    tagged = [c for c in nb.cells if "instructor" in c.get("metadata", {}).get("tags", [])]
    assert any("instructor_mode()" in c.source for c in tagged)
    if _chapter(path) >= 1:
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert re.search(rf"exercises\.ch{_chapter(path):02d}|from microlab\.exercises import ch{_chapter(path):02d}",
                         code), f"{path.name} has no exercise checked by microlab.exercises.ch{_chapter(path):02d}"
        assert "### BEGIN SOLUTION" in code


@pytest.mark.parametrize("path", SOLUTIONS + STUDENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_cells_are_short_and_committed_without_outputs(path):
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code":
            continue
        lines = [l for l in cell.source.splitlines() if l.strip() and not l.strip().startswith("#")]
        assert len(lines) <= MAX_CODE_LINES, f"{path.name} cell {i} has {len(lines)} lines of code"
        assert not cell.outputs and cell.execution_count is None, f"{path.name} cell {i} has outputs"


def test_student_versions_hold_no_solutions():
    for path in STUDENTS:
        for cell in _read(path).cells:
            assert "BEGIN SOLUTION" not in cell.source and "instructor_mode()" not in cell.source


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_each_exercise_is_graded_by_one_cell(path):
    # A second graded("N.M") cell (one written by hand beside the one grading_metadata.py
    # inserts) shows the learner the same verdict twice and has no grade id of its own.
    calls = [m for c in _read(path).cells if c.cell_type == "code"
             for m in re.findall(r'graded\("([0-9.]+)"\)', c.source)]
    assert len(calls) == len(set(calls)), f"{path.name} grades {sorted(calls)}"
