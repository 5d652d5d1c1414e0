"""Every link in a notebook to another notebook or to a local file resolves.

Markdown links ``[text](target)``, images ``![alt](target)`` and HTML ``href``/``src``
attributes are read from every markdown cell of ``solutions/`` and ``notebooks/``.
Web addresses are not fetched (the tests never leave the machine); everything else is a
path relative to the notebook, and must name a file or folder that exists in the
repository. A link to a notebook with a ``#heading`` anchor must name a heading of it.
"""

import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted((ROOT / "notebooks").glob("*.ipynb"))

#: ``[text](target "title")``: the target ends at whitespace or the closing parenthesis.
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.I)
#: A scheme (http:, https:, mailto:, data:, ...): not a local file.
REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def links(source: str) -> list[str]:
    """The link targets of one markdown cell, code blocks and inline code left out."""
    text = FENCE.sub("", source)
    text = re.sub(r"`[^`\n]*`", "", text)
    return MARKDOWN_LINK.findall(text) + HTML_LINK.findall(text)


def local(target: str) -> bool:
    """Whether ``target`` names something on this machine (not a web address, not a bare anchor)."""
    return not REMOTE.match(target) and not target.startswith(("#", "//"))


def anchor_of(heading: str) -> str:
    """The anchor JupyterLab gives a markdown heading: its text, spaces as hyphens."""
    return heading.strip().replace(" ", "-")


def headings(path: Path) -> set[str]:
    nb = nbformat.read(path, as_version=4)
    found = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in FENCE.sub("", cell.source).splitlines():
                m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
                if m:
                    found.add(anchor_of(m.group(1)))
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Each local link of notebook ``path`` that resolves to nothing (or outside ``root``), with its cell and why."""
    nb = nbformat.read(path, as_version=4)
    broken = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for target in links(cell.source):
            if not local(target):
                continue
            file_part, _, anchor = unquote(target).partition("#")
            where = (path.parent / file_part).resolve()
            if not where.exists():
                shown = where.relative_to(root) if where.is_relative_to(root) else where
                broken.append(f"cell {index}: {target!r} names {shown}, which does not exist")
            elif not where.is_relative_to(root):
                broken.append(f"cell {index}: {target!r} leaves the repository")
            elif anchor and where.suffix == ".ipynb" and anchor not in headings(where):
                broken.append(f"cell {index}: {target!r}: {where.name} has no heading #{anchor}")
    return broken


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_local_link_of_a_notebook_resolves(path):
    assert broken_links(path) == []


def test_the_notebooks_do_link_to_each_other():
    # The navigation cells alone give every chapter two links; a parser that found none
    # would make the test above pass vacuously.
    found = [t for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells
             if c.cell_type == "markdown" for t in links(c.source) if local(t)]
    assert len(found) >= 2 * len(NOTEBOOKS)


def test_a_broken_link_is_found_and_named(tmp_path):
    (tmp_path / "data.csv").write_text("x\n")
    (tmp_path / "01_b.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("## The part")])))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "[ok](01_b.ipynb) [ok too](01_b.ipynb#The-part) ![img](data.csv) [web](https://example.org/x) "
        "[gone](02_missing.ipynb) [bad anchor](01_b.ipynb#Nowhere) <a href='nofile.txt'>x</a> `[code](nope.md)`")])
    path = tmp_path / "00_a.ipynb"
    path.write_text(nbformat.writes(nb))
    broken = broken_links(path, root=tmp_path)
    assert len(broken) == 3, broken
    text = "\n".join(broken)
    assert "'02_missing.ipynb' names 02_missing.ipynb, which does not exist" in text
    assert "'nofile.txt' names nofile.txt, which does not exist" in text
    assert "01_b.ipynb has no heading #Nowhere" in text
