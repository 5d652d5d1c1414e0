"""Grade a class with nbgrader: ``make grade DIR=submissions/`` writes a CSV of scores.

The instructor notebooks carry nbgrader's cell metadata (``scripts/grading_metadata.py``):
each checked exercise has an autograder test, ``graded("N.M")``, worth 2 points, that
passes when the exercise's own check passed; each free-text exercise is a manually graded
answer worth 3 points (rubrics in ``docs/instructor-guide.md``).

This module builds an nbgrader course directory from ``solutions/`` (default
``build/nbgrader``; the ``instructor``-tagged cell is left out, as in the student
versions), runs ``nbgrader generate_assignment`` for each chapter (its release, in
``release/``, is what to hand out), copies the submissions in, runs ``nbgrader autograde``
and reads the gradebook into a CSV: one row per student and graded cell, with ``score``,
``max_score`` and ``status`` (``auto``; ``manual`` for free text, to grade by hand in
nbgrader's formgrader; ``not graded`` when nbgrader could not grade the notebook).

Submissions: ``DIR/<student>/<notebook>.ipynb`` (the student's copy of a chapter, from
``notebooks/`` or from nbgrader's release), or nbgrader's own
``DIR/<student>/<chapter>/<notebook>.ipynb``.

``python -m tools.grade DIR [--out FILE.csv] [--course DIR]``
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
COURSE = REPO / "build" / "nbgrader"
#: The CSV's columns.
COLUMNS = ("student", "chapter", "exercise", "grade_id", "score", "max_score", "status")
#: Seconds one notebook may run while being graded (a chapter runs in well under a minute).
NOTEBOOK_TIMEOUT = 600
CONFIG = '''"""nbgrader's configuration for microlab (written by tools/grade.py)."""
import os

# microlab.exercises.graded() fails an exercise whose check did not pass only while grading.
os.environ["MICROLAB_GRADING"] = "1"

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "microlab"
# The student versions say "...  # your code here" where a solution was: the release says the same.
c.ClearSolutions.code_stub = {{"python": "...  # your code here"}}
c.ClearSolutions.text_stub = "*Write your answer here.*"
c.Execute.timeout = {timeout}
c.Execute.allow_errors = True
'''


class GradingError(RuntimeError):
    """nbgrader failed in a way that grading cannot work around (its output is in the message)."""


def chapters(solutions: Path = SOLUTIONS) -> dict[str, Path]:
    """``{chapter: instructor notebook}`` for every chapter with graded cells (chapter = notebook stem)."""
    found = {}
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, 4)
        if any(c.metadata.get("nbgrader", {}).get("grade") for c in nb.cells):
            found[path.stem] = path
    return found


def source_notebook(path: Path):
    """The instructor notebook as nbgrader's source: without the instructor-mode cell and outputs."""
    nb = nbformat.read(path, 4)
    nb.cells = [c for c in nb.cells if "instructor" not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def prepare(course: Path = COURSE, only: list[str] | None = None) -> dict[str, Path]:
    """Write the course directory (config and ``source/``) and generate the releases; returns the chapters."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course), timeout=NOTEBOOK_TIMEOUT))
    found = {k: v for k, v in chapters().items() if only is None or k in only}
    for chapter, path in found.items():
        target = course / "source" / chapter / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(path), target)
        nbgrader(course, "generate_assignment", chapter, "--force")
    return found


def _path_with_venv() -> str:
    # nbgrader runs ``alembic`` (its gradebook migrations) from PATH: the venv's bin must be on it.
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def nbgrader(course: Path, *args: str) -> str:
    """Run one nbgrader command in ``course``; raise :class:`GradingError` with its log if it fails."""
    env = dict(os.environ, MICROLAB_GRADING="1", PATH=_path_with_venv(),
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT * 4)
    if proc.returncode != 0:
        raise GradingError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stderr


def collect(submissions: Path, course: Path, known: dict[str, Path]) -> dict[str, set[str]]:
    """Copy ``submissions`` into ``course/submitted/<student>/<chapter>/``; ``{student: chapters}``."""
    names = {path.name: chapter for chapter, path in known.items()}
    if not submissions.is_dir():
        raise FileNotFoundError(f"DIR={submissions}: no such directory of submissions "
                                "(expected DIR/<student>/<notebook>.ipynb)")
    shutil.rmtree(course / "submitted", ignore_errors=True)
    found: dict[str, set[str]] = {}
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for nb in sorted(student_dir.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in nb.parts:
                continue
            chapter = names.get(nb.name)
            if chapter is None:
                print(f"grade: {nb} is not a chapter notebook ({', '.join(sorted(names))}); skipped",
                      file=sys.stderr)
                continue
            found.setdefault(student_dir.name, set()).add(chapter)
            try:
                nbformat.read(nb, 4)
            except Exception as exc:   # not a notebook any more: it scores 0, the others still run
                print(f"grade: {nb} cannot be read as a notebook ({type(exc).__name__}); "
                      "it scores 0 (status 'not graded')", file=sys.stderr)
                continue
            target = course / "submitted" / student_dir.name / chapter / nb.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(nb, target)
    return found


def exercise_of(grade_id: str) -> str:
    """``"ex4_1_check"`` -> ``"4.1"``."""
    parts = grade_id.split("_")
    return f"{parts[0][2:]}.{parts[1]}"


def scores(course: Path, submitted: dict[str, set[str]], known: dict[str, Path]) -> list[dict]:
    """Rows of the CSV, read from nbgrader's gradebook (a chapter nbgrader could not grade scores 0)."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    os.environ["PATH"] = _path_with_venv()   # opening the gradebook runs alembic too
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in sorted(submitted):
            for chapter in sorted(submitted[student]):
                notebook = known[chapter].stem
                try:
                    nb = gb.find_submission_notebook(notebook, chapter, student)
                    grades = {g.name: g for g in nb.grades}
                except MissingEntry:
                    grades = {}
                for cell in gb.find_notebook(notebook, chapter).grade_cells:
                    grade = grades.get(cell.name)
                    if grade is None:
                        score, status = 0, "not graded"
                    elif grade.needs_manual_grade:
                        score, status = "", "manual"
                    else:
                        score, status = grade.score, "auto"
                    rows.append({"student": student, "chapter": chapter, "exercise": exercise_of(cell.name),
                                 "grade_id": cell.name, "score": score, "max_score": cell.max_score,
                                 "status": status})
    return rows


def grade(submissions: Path, out: Path, course: Path = COURSE) -> list[dict]:
    """Autograde every submission in ``submissions`` and write the CSV ``out``; return its rows."""
    known = chapters()
    submitted = collect(Path(submissions), course, known)
    if not submitted:
        raise FileNotFoundError(f"no chapter notebooks under {submissions} "
                                "(expected DIR/<student>/<notebook>.ipynb)")
    wanted = sorted({c for chs in submitted.values() for c in chs})
    prepare(course, only=wanted)
    for chapter in wanted:
        try:
            nbgrader(course, "autograde", chapter, "--force")
        except GradingError:
            # One submission nbgrader cannot take must not cost the class its grades: one by one,
            # and a student whose notebook still fails scores 0 for it ("not graded").
            for student in sorted(s for s, chs in submitted.items() if chapter in chs):
                try:
                    nbgrader(course, "autograde", chapter, "--student", student, "--force")
                except GradingError as exc:
                    print(f"grade: {student}'s {chapter} could not be graded: {str(exc)[-300:]}", file=sys.stderr)
    rows = scores(course, submitted, known)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tools.grade DIR [--out FILE] [--course DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m tools.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="DIR/<student>/<notebook>.ipynb")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "grades.csv")
    parser.add_argument("--course", type=Path, default=COURSE, help="nbgrader course directory to use")
    args = parser.parse_args(argv)
    try:
        rows = grade(args.submissions, args.out, args.course.resolve())
    except (FileNotFoundError, GradingError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 1
    students = sorted({r["student"] for r in rows})
    for student in students:
        mine = [r for r in rows if r["student"] == student and not r["grade_id"].endswith("_text")]
        total = sum(float(r["score"]) for r in mine)
        print(f"{student:20} {total:g} / {sum(float(r['max_score']) for r in mine):g} points checked automatically")
    print(f"wrote {args.out} ({len(rows)} rows; free-text answers: status 'manual', "
          f"grade them in nbgrader's formgrader in {args.course})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
