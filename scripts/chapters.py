"""The command shared by the scripts that annotate every chapter in ``solutions/``.

``grading_metadata.py`` (nbgrader) and ``slide_metadata.py`` (RISE) differ only in what
they write into a notebook; walking the chapters, ``--check`` and the report are this.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def annotate_chapters(annotate, *, script: str, description: str, done: str, current: str,
                      argv=None, solutions: Path = SOLUTIONS) -> int:
    """Run ``annotate(nb) -> changed`` on every chapter; write the changed ones, or with
    ``--check`` write nothing and exit 1 naming them (``script`` is the fix to run)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook needs annotating")
    args = parser.parse_args(argv)
    stale = []
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, 4)
        if annotate(nb):
            stale.append(path.name)
            if not args.check:
                nbformat.write(nb, path)
    if args.check and stale:
        print(f"needs {script}:", ", ".join(stale))
        return 1
    print((f"{done}: " + ", ".join(stale)) if stale else current)
    return 0
