"""Generate the student notebooks from the instructor notebooks (one source of truth).

The instructor versions live in ``solutions/``; the student versions in ``notebooks/``
are generated, never edited by hand. In an instructor notebook:

- code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines becomes
  ``...  # your code here`` at the indentation of the BEGIN line (as nbgrader does);
- in a markdown cell, text between ``<!-- BEGIN SOLUTION -->`` and
  ``<!-- END SOLUTION -->`` becomes "*Write your answer here.*";
- a cell tagged ``instructor`` (for example the one that switches on instructor mode)
  is left out.

Usage::

    python scripts/student_versions.py          # write notebooks/ from solutions/
    python scripts/student_versions.py --check  # exit 1 if notebooks/ is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions"
TARGET = ROOT / "notebooks"

CODE_BLOCK = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S)
TEXT_BLOCK = re.compile(r"<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->", re.S)
#: A marker left over after blanking means a BEGIN without its END (or an END alone).
LEFT_OVER = {"code": re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION", re.M),
             "markdown": re.compile(r"<!-- (BEGIN|END) SOLUTION -->")}


class SolutionMarkerError(ValueError):
    """A solution marker without its partner: the solution would reach the student notebook."""


def student_source(cell, where: str = "cell") -> str:
    """The student's version of one cell's source; raises on an unmatched solution marker."""
    if cell.cell_type == "code":
        text = CODE_BLOCK.sub(lambda m: f"{m.group(1)}...  # your code here{m.group(2)}", cell.source)
    else:
        text = TEXT_BLOCK.sub("*Write your answer here.*", cell.source)
    stray = LEFT_OVER.get(cell.cell_type, LEFT_OVER["markdown"]).search(text)
    if stray:
        line = text[:stray.start()].count("\n") + 1
        other = "END" if stray.group(1) == "BEGIN" else "BEGIN"
        raise SolutionMarkerError(
            f"{where}: {stray.group(0).strip()!r} at line {line} of the blanked cell has no matching "
            f"{other} SOLUTION marker, so the solution would be shown to students. Add the {other} line.")
    return text


def student_notebook(instructor: nbformat.NotebookNode, name: str = "notebook") -> nbformat.NotebookNode:
    """A copy of ``instructor`` with solutions blanked, instructor cells dropped, no outputs."""
    nb = nbformat.v4.new_notebook(metadata=instructor.metadata)
    for index, cell in enumerate(instructor.cells):
        if "instructor" in cell.get("metadata", {}).get("tags", []):
            continue
        new = nbformat.from_dict(dict(cell))
        new.source = student_source(cell, f"{name}, cell {index} ({cell.cell_type})")
        new.pop("id", None)
        if new.cell_type == "code":
            new.outputs = []
            new.execution_count = None
        nb.cells.append(new)
    return nb


def render(nb) -> str:
    """Serialise deterministically (cell ids normalised, so regeneration is byte-stable)."""
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nbformat.writes(nb) + "\n"


def generate(check: bool = False) -> list[str]:
    """Write (or, with ``check``, compare) every student notebook; return the stale ones."""
    stale = []
    for path in sorted(SOURCE.glob("*.ipynb")):
        text = render(student_notebook(nbformat.read(path, as_version=4), path.name))
        target = TARGET / path.name
        if check:
            if not target.exists() or target.read_text() != text:
                stale.append(target.name)
        else:
            target.write_text(text)
    return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date student notebooks")
    args = parser.parse_args(argv)
    stale = generate(check=args.check)
    if args.check and stale:
        print("student notebooks out of date (run `make students`): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
