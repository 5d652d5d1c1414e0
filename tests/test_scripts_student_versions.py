"""scripts/student_versions.py: solutions blanked, and an unmatched marker is an error where it happens."""

import importlib.util
from pathlib import Path

import nbformat
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "student_versions.py"
spec = importlib.util.spec_from_file_location("student_versions", SCRIPT)
sv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sv)


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def test_a_matched_block_is_blanked_at_its_indentation():
    cell = nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\n")
    assert sv.student_notebook(_nb(cell)).cells[0].source == "def f():\n    ...  # your code here\n"


def test_a_begin_without_end_names_the_notebook_cell_and_line():
    cell = nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\nanswer = 42\n")
    with pytest.raises(sv.SolutionMarkerError, match=r"03_x.ipynb, cell 1 \(code\).*line 2.*no matching END"):
        sv.student_notebook(_nb(nbformat.v4.new_markdown_cell("intro"), cell), "03_x.ipynb")


def test_an_end_without_begin_is_an_error_too():
    cell = nbformat.v4.new_code_cell("answer = 42\n### END SOLUTION\n")
    with pytest.raises(sv.SolutionMarkerError, match="no matching BEGIN"):
        sv.student_notebook(_nb(cell))


def test_an_unmatched_markdown_marker_is_an_error():
    cell = nbformat.v4.new_markdown_cell("Why?\n<!-- BEGIN SOLUTION -->\nBecause.\n")
    with pytest.raises(sv.SolutionMarkerError, match="markdown"):
        sv.student_notebook(_nb(cell))
    fine = nbformat.v4.new_markdown_cell("Why?\n<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->")
    assert sv.student_notebook(_nb(fine)).cells[0].source == "Why?\n*Write your answer here.*"
