"""The whole notebook suite under the test command: what ``make test`` spends on notebooks.

Runs ``python -m pytest notebooks`` (the project's pytest options: nbval executes every
cell) in a subprocess, times it, and reads pytest's JUnit XML report for the time of
each notebook's cells. ``--quick`` runs only the first notebook, to keep the smoke run
short while still exercising every step.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from .table import Table

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def per_notebook(junit_xml: Path) -> dict:
    """Cells, seconds and outcomes per notebook, from a JUnit XML report of nbval."""
    stats: dict = defaultdict(lambda: {"cells": 0, "seconds": 0.0, "failed": 0, "skipped": 0})
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        # nbval's test ids look like notebooks/01_x.ipynb::Cell 3; JUnit keeps the file.
        name = Path(case.get("file") or case.get("classname", "?").replace(".", "/")).name
        row = stats[name]
        row["cells"] += 1
        row["seconds"] += float(case.get("time") or 0.0)
        if case.find("failure") is not None or case.find("error") is not None:
            row["failed"] += 1
        elif case.find("skipped") is not None:
            row["skipped"] += 1
    return dict(sorted(stats.items()))


def run(options) -> list[Table]:
    """Time the notebook suite (or its first notebook with ``--quick``)."""
    books = sorted(NOTEBOOKS.glob("*.ipynb"))
    if not books:
        table = Table("Notebooks: the suite under the test command", ["section", "status"])
        table.add("notebooks", "no notebooks yet")
        return [table]
    targets = [str(books[0].relative_to(ROOT))] if options.quick else ["notebooks"]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "notebooks.xml"
        cmd = [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider",
               f"--junitxml={report}", "-o", "junit_family=xunit1"]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if not report.exists():
            raise RuntimeError(f"pytest wrote no report (exit {done.returncode}):\n{done.stdout[-2000:]}"
                               f"{done.stderr[-2000:]}")
        stats = per_notebook(report)
    scope = ("the first notebook only (--quick)" if options.quick
             else f"all {len(books)} notebook{'s' if len(books) != 1 else ''}")
    table = Table(f"Notebooks: {scope} under `pytest` (nbval), one run",
                  ["notebook", "cells", "cells' seconds", "failed cells"])
    for name, row in stats.items():
        table.add(name, row["cells"], row["seconds"], row["failed"])
    table.add("**whole run, wall clock** (with kernel starts and collection)",
              sum(r["cells"] for r in stats.values()), wall,
              sum(r["failed"] for r in stats.values()))
    if done.returncode != 0:
        table.notes.append(f"pytest exited with {done.returncode}: "
                           f"{(done.stdout.strip().splitlines() or ['?'])[-1]}")
    return [table]
