"""docs/instructor-guide.md: a section for every chapter, a rubric for every free-text exercise.

The free-text exercises are found in the instructor notebooks (``solutions/``), not listed
here: an exercise whose answer is prose (its model answer sits between ``<!-- BEGIN
SOLUTION -->`` markers in markdown, and it has no code answer). A new chapter or a new
free-text exercise without its entry in the guide fails this test.
"""

import re
from pathlib import Path

import nbformat

from scripts import grading_metadata

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "instructor-guide.md"
CHAPTER_HEADING = re.compile(r"^### (\d\d)\. (.+)$", re.M)
RUBRIC_HEADING = re.compile(r"^#### Rubric: exercise (\d+\.\d+)$", re.M)


def _chapters() -> dict[str, str]:
    """``{"04": "Failures and sagas"}``: each chapter's number and title, from its notebook's first heading."""
    found = {}
    for path in sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb")):
        title = nbformat.read(path, 4).cells[0].source.splitlines()[0]
        number, name = re.match(r"# (\d\d)\. (.+)", title).groups()
        found[number] = name.strip()
    return found


def _free_text_exercises() -> dict[str, int]:
    """``{"4.4": points}`` for every exercise whose answer is prose, with its nbgrader points."""
    found = {}
    for path in sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, 4)
        for number, indexes in grading_metadata.exercises(nb):
            cells = [nb.cells[i] for i in indexes]
            prose = any(c.cell_type == "markdown" and "<!-- BEGIN SOLUTION -->" in c.source for c in cells)
            code = any(c.cell_type == "code" and "### BEGIN SOLUTION" in c.source for c in cells)
            if prose or not code:
                found[number] = cells[0].metadata.get("nbgrader", {}).get("points")
    return found


def _sections(text: str) -> dict[str, str]:
    """The guide's chapter sections, ``{"04": its text}``."""
    heads = list(CHAPTER_HEADING.finditer(text))
    return {m.group(1): text[m.end(): heads[k + 1].start() if k + 1 < len(heads) else len(text)]
            for k, m in enumerate(heads)}


def _rubric_points(section: str, number: str) -> list[int]:
    """The points column of exercise ``number``'s rubric table."""
    start = re.search(rf"^#### Rubric: exercise {re.escape(number)}$", section, re.M).end()
    nxt = re.search(r"^#{1,4} ", section[start:], re.M)
    body = section[start: start + nxt.start() if nxt else len(section)]
    return [int(m) for m in re.findall(r"^\| (\d+) \|", body, re.M)]


def test_every_chapter_has_a_section_with_timing_misconceptions_and_questions():
    sections = _sections(GUIDE.read_text())
    chapters = _chapters()
    assert len(chapters) == len(list((REPO / "solutions").glob("[0-9][0-9]_*.ipynb"))) >= 11
    assert sorted(sections) == sorted(chapters)
    for number, title in chapters.items():
        section = sections[number]
        assert re.search(rf"^### {number}\. {re.escape(title)}$", GUIDE.read_text(), re.M), title
        assert re.search(r"\*\*Timing:\*\* self-paced \d+ min; in class \d+ min", section), number
        for part in ("**Misconceptions to expect**", "**Discussion questions**"):
            items = section.split(part, 1)[1].split("\n\n", 1)[0]   # the list right under the label
            assert sum(line.startswith("- ") for line in items.splitlines()) >= 2, (number, part)


def test_every_free_text_exercise_has_a_rubric_worth_its_points_in_its_chapter():
    text = GUIDE.read_text()
    sections = _sections(text)
    free = _free_text_exercises()
    assert len(free) == 9 and "4.4" in free and "1.1" not in free
    assert sorted(RUBRIC_HEADING.findall(text)) == sorted(free)   # one each, and none for another exercise
    for number, points in free.items():
        chapter = f"{int(number.split('.')[0]):02d}"
        assert f"#### Rubric: exercise {number}\n" in sections[chapter], number
        rows = _rubric_points(sections[chapter], number)
        assert len(rows) >= 2 and sum(rows) == points == grading_metadata.TEXT_POINTS, (number, rows)


def test_the_guide_states_the_course_total_that_the_notebooks_give():
    total = checked = 0
    for path in sorted((REPO / "solutions").glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, 4).cells:
            meta = cell.metadata.get("nbgrader", {})
            total += meta.get("points", 0) if meta.get("grade") else 0
            checked += bool(meta.get("grade") and not meta.get("solution"))
    assert f"The whole course is worth {total} points: {checked} checked exercises" in " ".join(GUIDE.read_text().split())
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "docs/instructor-guide.md" in readme and f"each of the {checked} checked exercises" in readme
