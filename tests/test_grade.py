"""Grading a class with nbgrader: the metadata, generate_assignment, autograde, and the CSV.

One chapter (07, the quickest to run) is graded for four generated submissions: one right,
one wrong on two exercises, one whose answer raises, one that is not a notebook. About 30 s.
"""

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from microlab.exercises import Hint, checker, graded
from scripts import grading_metadata
from tools import grade

REPO = Path(__file__).resolve().parent.parent
CHAPTER = "07_change_and_growth"


def _submission(replacements: dict[str, str]):
    nb = grade.source_notebook(REPO / "solutions" / f"{CHAPTER}.ipynb")
    for old, new in replacements.items():
        hits = [c for c in nb.cells if old in c.source]
        assert hits, old
        for c in hits:
            c.source = c.source.replace(old, new)
    return nb


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("grading")
    submissions = {
        "ada": _submission({}),                                        # the model answers
        "bob": _submission({"predicted = 4": "predicted = 1",          # 7.2 and 7.3 wrong
                            "split_every = 3\n": "split_every = 4\n"}),
        "cy": _submission({'ORDER.with_listener("loyalty")': 'ORDER.with_listenr("loyalty")'}),  # raises
    }
    for student, nb in submissions.items():
        (root / "in" / student).mkdir(parents=True)
        nbformat.write(nb, root / "in" / student / f"{CHAPTER}.ipynb")
    (root / "in" / "dee").mkdir()
    (root / "in" / "dee" / f"{CHAPTER}.ipynb").write_text('{"cells": [')   # not a notebook
    out = root / "grades.csv"
    rows = grade.grade(root / "in", out, course=root / "course")
    return root, rows, out


def _scores(out: Path) -> dict:
    with out.open() as f:
        return {(r["student"], r["exercise"]): (r["score"], r["max_score"], r["status"]) for r in csv.DictReader(f)}


def test_the_csv_scores_each_student_and_exercise(graded_class):
    root, rows, out = graded_class
    s = _scores(out)
    assert {k: v[0] for k, v in s.items() if k[0] == "ada"} == {
        ("ada", "7.1"): "2.0", ("ada", "7.2"): "2.0", ("ada", "7.3"): "2.0", ("ada", "7.4"): ""}
    assert [s["bob", e][0] for e in ("7.1", "7.2", "7.3")] == ["2.0", "0.0", "0.0"]
    assert [s["cy", e][0] for e in ("7.1", "7.2", "7.3")] == ["0.0", "2.0", "2.0"]   # only the raising one
    assert {s["dee", e] for e in ("7.1", "7.2", "7.3")} == {("0", "2.0", "not graded")}
    assert s["ada", "7.4"] == ("", "3.0", "manual")          # free text: graded by hand with the rubric
    assert len(rows) == 16


def test_nbgrader_generated_a_release_without_solutions(graded_class):
    root, _, _ = graded_class
    release = nbformat.read(root / "course" / "release" / CHAPTER / f"{CHAPTER}.ipynb", 4)
    text = "\n".join(c.source for c in release.cells)
    assert "BEGIN SOLUTION" not in text and 'with_listener("loyalty")' not in text
    assert "instructor_mode()" not in text
    assert text.count("...  # your code here") >= 3 and 'graded("7.3")' in text


def test_the_solution_notebooks_carry_up_to_date_nbgrader_metadata():
    assert grading_metadata.main(["--check"]) == 0
    nb = nbformat.read(REPO / "solutions" / "04_failures_and_sagas.ipynb", 4)
    meta = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata}
    assert meta["ex4_1"]["solution"] and not meta["ex4_1"]["grade"]
    assert meta["ex4_1_check"]["points"] == 2 and meta["ex4_1_check"]["locked"]
    assert meta["ex4_4_text"]["points"] == 3 and meta["ex4_4_text"]["solution"] and meta["ex4_4_text"]["grade"]


def test_graded_fails_only_while_grading(monkeypatch):
    @checker("Exercise 9.7: graded")
    def check(answer):
        if answer != 1:
            raise Hint("not that.")
        return "yes."

    check(2)
    graded("9.7")                                  # a learner's session: silent
    monkeypatch.setenv("MICROLAB_GRADING", "1")
    with pytest.raises(AssertionError, match="not that"):
        graded("9.7")
    check(1)
    graded("9.7")
    with pytest.raises(AssertionError, match="never ran"):
        graded("9.6")


def test_make_grade_names_a_missing_directory(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tools.grade", str(tmp_path / "nope")], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "no such directory" in proc.stderr


def test_a_learners_jupyterlab_shows_no_grading_menus_unless_the_instructor_opts_in():
    # nbgrader enables its lab extension and server extensions for everyone when installed;
    # the course's JupyterLab (make course, make slides) turns them off, GRADING=1 keeps them.
    import json
    import re
    import urllib.error
    import urllib.request

    from tools import course
    from tools.browser import JupyterLab

    learner = course.course_environment(env={})
    assert learner["JUPYTER_CONFIG_PATH"] == str(course.LEARNER_CONFIG)
    assert "JUPYTER_CONFIG_PATH" not in course.course_environment(grading=True, env={})
    with JupyterLab(REPO, env={"JUPYTER_CONFIG_PATH": learner["JUPYTER_CONFIG_PATH"]}) as lab:
        with urllib.request.urlopen(lab.url("lab"), timeout=60) as r:
            page = r.read().decode()
        config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
        assert "@jupyter/nbgrader" in config["disabledExtensions"]
        assert any(e["name"] == "jupyterlab-rise" for e in config["federated_extensions"])
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(lab.url("formgrader"), timeout=60)
        assert missing.value.code == 404
    listed = subprocess.run([sys.executable, "-m", "jupyterlab.labextensions", "list"], capture_output=True,
                            text=True, timeout=120, env=course.course_environment(grading=True))
    line = next(l for l in (listed.stdout + listed.stderr).splitlines() if "@jupyter/nbgrader" in l)
    assert "enabled" in line and "disabled" not in line
