"""What a chapter tells the learner before its exercises: for tests that no text gives an answer away."""

from pathlib import Path

import nbformat

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def before_exercises(stem: str, kind: str | None = None) -> list[str]:
    """The sources of the cells of ``solutions/<stem>.ipynb`` above its "## Exercises" heading."""
    nb = nbformat.read(SOLUTIONS / f"{stem}.ipynb", 4)
    cells = []
    for cell in nb.cells:
        if cell.source.lstrip().startswith("## Exercises"):
            return cells
        if kind is None or cell.cell_type == kind:
            cells.append(cell.source)
    raise AssertionError(f"{stem} has no '## Exercises' heading")


def key_points(stem: str) -> str:
    """The chapter's "## Key points" cell."""
    return next(c for c in before_exercises(stem, "markdown") if c.lstrip().startswith("## Key points"))


def exercise_text(stem: str, number: str) -> str:
    """The markdown cell that states exercise ``number`` (e.g. "1.3") of ``solutions/<stem>.ipynb``."""
    nb = nbformat.read(SOLUTIONS / f"{stem}.ipynb", 4)
    return next(c.source for c in nb.cells if c.cell_type == "markdown" and f"### Exercise {number}" in c.source)
