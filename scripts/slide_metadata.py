"""Write RISE slide metadata into the instructor notebooks (idempotent: re-run after any edit).

``make slides NB=...`` shows a chapter as reveal.js slides with RISE (``jupyterlab-rise``).
Which cell starts a slide is a rule of the chapter's structure, not a hand-made choice,
so it is re-applied whenever the notebooks change:

- the title (``# ``) and each section (``## ``) start a **slide**;
- each exercise (``### Exercise``) and each paragraph that follows a code cell (the text
  that interprets a result) start a **subslide** (down, in reveal.js), so a slide holds one
  paragraph, its code and its output;
- the chapter's setup cell (the code cell right after the title: its imports) is a
  **subslide** of its own under the title, so the title slide shows the questions and goals
  alone and the imports can still be run live from their slide;
- other code cells and other paragraphs continue the slide they are on (``-``);
- the ``instructor`` cell (instructor mode) and the navigation line at the end are
  **skipped**.

The notebook's ``rise`` metadata turns scrolling on (a figure taller than the screen can be
scrolled), picks reveal.js's white theme (its fonts ship with ``jupyterlab-rise``, so it
works offline; the "simple" theme fetches Google fonts) and starts each slide at the top
(``center: False``; centred, a short slide left an empty band above its heading).
``solutions/rise.css``, which RISE loads beside the notebook, keeps the headings' case (the
white theme writes them in capitals). Run ``python scripts/slide_metadata.py`` (``--check``
exits 1 when a notebook is out of date), then ``scripts/student_versions.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

try:
    from scripts.chapters import annotate_chapters
except ImportError:  # run as a file: scripts/ is on the path, not the repository
    from chapters import annotate_chapters

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
#: RISE's settings for every chapter.
RISE = {"scroll": True, "theme": "white", "center": False, "transition": "none",
        "enable_chalkboard": False, "autolaunch": False}


def slide_type(cell, previous) -> str:
    """RISE's ``slide_type`` of ``cell``, given the cell before it (None for the first)."""
    text = cell.source.lstrip()
    if "instructor" in cell.metadata.get("tags", []):
        return "skip"
    if cell.cell_type != "markdown":
        is_setup = previous is not None and previous.cell_type == "markdown" and previous.source.lstrip().startswith("# ")
        return "subslide" if is_setup else "-"
    if text.startswith("---") and ("Previous:" in text or "Next:" in text):
        return "skip"
    if text.startswith(("# ", "## ")) or previous is None:
        return "slide"
    if text.startswith("### ") or (previous is not None and previous.cell_type == "code"):
        return "subslide"
    return "-"


def annotate(nb) -> bool:
    """Set every cell's slide type and the notebook's RISE settings; True when something changed."""
    before = nbformat.writes(nb)
    previous = None
    for cell in nb.cells:
        cell.metadata["slideshow"] = {"slide_type": slide_type(cell, previous)}
        if cell.metadata["slideshow"]["slide_type"] != "skip":
            previous = cell
    nb.metadata["rise"] = dict(RISE)
    return nbformat.writes(nb) != before


def main(argv=None) -> int:
    """Annotate every chapter in ``solutions/`` (``--check``: only say which are out of date)."""
    return annotate_chapters(annotate, script="scripts/slide_metadata.py", description=__doc__.split("\n\n")[0],
                             done="slides", current="slide metadata up to date", argv=argv, solutions=SOLUTIONS)


if __name__ == "__main__":
    sys.exit(main())
