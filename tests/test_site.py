"""The static course site (tools/build_site.py): built from the course plus a demo lab,
checked as files, then opened in headless Chromium with the network off."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import browser
from tools.build_site import (LIVE_NOTE, MARKER, STATIC_ENV, SiteBuildError, build_site, find_notebooks, main,
                              make_static)
from tools.demo import DEMO_TITLE, write_demo_notebook

REPO = Path(__file__).resolve().parent.parent
COURSE = sorted((REPO / "notebooks").glob("*.ipynb"))
SHOTS = browser.SCREENSHOTS / "site"
PLOTLY_JS = 'src="assets/plotly.min.js"'


def _notebook(*sources, markdown: str = "# A probe") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(markdown)]
                                  + [nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The course's notebooks, the demo lab (with an Output widget) and a static-mode probe."""
    folder = tmp_path_factory.mktemp("notebooks")
    for nb in COURSE:
        shutil.copy(nb, folder)
    write_demo_notebook(folder / "demo_lab.ipynb", output_widget=True)
    nbformat.write(_notebook(
        "import os, plotly.io as pio\n"
        f"print(f\"static={{os.environ.get('{STATIC_ENV}')}} renderer={{pio.renderers.default}}\")",
        markdown="# Static mode probe\n\nWhat a kernel of the site build sees; `${workflow.input.x}` is code, not math."),
        folder / "zz_probe.ipynb")
    return folder


@pytest.fixture(scope="module")
def site(source, tmp_path_factory):
    """The site built from ``source``: (folder, pages)."""
    out = tmp_path_factory.mktemp("site") / "site"
    pages = build_site(source, out, timeout=120)
    return out, pages


def _page(site, stem):
    out, pages = site
    page = next(p for p in pages if p.notebook.stem == stem)
    return page, (out / page.file).read_text()


# --------------------------------------------------------------------------- files

def test_every_notebook_becomes_a_page_on_the_course_map(site):
    out, pages = site
    assert [p.notebook.name for p in pages] == [nb.name for nb in COURSE] + ["demo_lab.ipynb", "zz_probe.ipynb"]
    index = (out / "index.html").read_text()
    for p in pages:
        assert (out / p.file).is_file()
        assert f'<a href="{p.file}">{p.title}</a>' in index
        assert f"<title>{p.title}</title>" in (out / p.file).read_text()
    assert _page(site, "demo_lab")[0].title == DEMO_TITLE
    assert "A lab with a figure that answers its widgets." in index, "the first paragraph is the summary"
    assert (out / MARKER).is_file()


def test_pages_link_to_the_map_and_their_neighbours(site):
    out, pages = site
    for i, p in enumerate(pages):
        text = (out / p.file).read_text()
        assert text.count('<a href="index.html">Course map</a>') == 2, "top and bottom"
        if i + 1 < len(pages):
            assert f'<a href="{pages[i + 1].file}">' in text
        for target in re.findall(r'<a href="([^"#:]+\.html)"', text):
            assert (out / target).is_file(), f"{p.file} links to missing {target}"


def test_plotly_js_comes_once_per_page_with_figures_and_never_from_a_cdn(site):
    out, pages = site
    assert (out / "assets" / "plotly.min.js").read_bytes().startswith(b"/**\n* plotly.js v")
    for p in pages:
        text = (out / p.file).read_text()
        assert text.count(PLOTLY_JS) == (1 if p.figures else 0), p.file
        assert text.count('class="plotly-graph-div"') == p.figures, p.file
        for remote in ("cdn.plot.ly", "require.min.js", "html-manager", "application/vnd.jupyter.widget-view+json"):
            assert remote not in text, f"{p.file} refers to {remote}"


def test_a_lab_becomes_a_note_and_its_default_figures(site):
    page, text = _page(site, "demo_lab")
    assert page.labs == 1, "the Output widget alone is not a lab"
    assert page.figures == 3, "static bar chart, the lab's FigureWidget, the figure inside the Output"
    assert text.count('class="microlab-live-note"') == 1
    assert LIVE_NOTE.format(notebook="demo_lab.ipynb") in text
    for title in ("hops per order", "n = 3", "inside an Output"):
        assert f'"text":"{title}"' in text


def test_kernels_of_the_build_run_in_static_mode(site):
    page, text = _page(site, "zz_probe")
    assert "static=1 renderer=plotly_mimetype" in text
    assert page.figures == 0 and PLOTLY_JS not in text
    assert "mathjax" not in text.lower(), "no math on the page, so no MathJax to fetch"


def test_make_static_turns_figures_and_widgets_into_html():
    nb = _notebook("fig", "lab", "other", "own")
    figure = {"data": [{"type": "bar", "y": [1, 2]}], "layout": {"title": {"text": "hops"}}}
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={
        "application/vnd.plotly.v1+json": figure, "text/plain": "Figure(...)"}, execution_count=1)]
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "box"}, "text/plain": "VBox(...)"}
    nb.cells[2].outputs = [nbformat.v4.new_output("display_data", data=view)]
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", name="stdout", text="kept\n")]
    # A lab that honours MICROLAB_STATIC: its own note, then its figure as plain plotly.
    nb.cells[4].outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<p><i>Load: this lab runs live in JupyterLab</i></p>"}),
        nbformat.v4.new_output("display_data", data={"application/vnd.plotly.v1+json": figure})]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    live = {"figures": {"fig": {"data": [], "layout": {"title": {"text": "live"}}}},
            "children": {"box": ["slider", "fig"]}, "outputs": []}
    assert make_static(nb, live, "x.ipynb") == (3, 2)
    assert [list(o.data) for o in nb.cells[4].outputs] == [["text/html"], ["text/html"]]
    assert "microlab-live-note" not in str(nb.cells[4].outputs), "the lab's own note is enough"
    assert list(nb.cells[1].outputs[0].data) == ["text/html"]
    assert 'id="figure-1-1"' in nb.cells[1].outputs[0].data["text/html"]
    lab = [o.data["text/html"] for o in nb.cells[2].outputs]
    assert "microlab-live-note" in lab[0] and "make present NB=x.ipynb" in lab[0]
    assert '"text":"live"' in lab[1] and len(lab) == 2
    assert nb.cells[3].outputs[0].text == "kept\n"
    assert "widgets" not in nb.metadata


def test_a_failing_cell_stops_the_build_naming_notebook_cell_and_error(tmp_path):
    nbformat.write(_notebook("x = 1", "1 / 0", "y = 2"), tmp_path / "broken.ipynb")
    with pytest.raises(SiteBuildError, match=r"broken.ipynb: cell 3 raised ZeroDivisionError: division by zero"
                                             r"(.|\n)*raises-exception"):
        build_site(tmp_path, tmp_path / "out")


def test_a_cell_past_its_timeout_is_named(tmp_path):
    nbformat.write(_notebook("import time\ntime.sleep(30)"), tmp_path / "slow.ipynb")
    with pytest.raises(SiteBuildError, match=r"slow.ipynb: cell 2 did not finish within 1 s"):
        build_site(tmp_path, tmp_path / "out", timeout=1)


def test_the_output_folder_is_new_empty_or_an_earlier_site(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(_notebook("1 + 1", markdown="# One\n\nLittle's law: $L = \\lambda W$."), src / "one.ipynb")
    with pytest.raises(SiteBuildError, match="is a file"):
        (tmp_path / "file").write_text("x")
        build_site(src, tmp_path / "file")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    with pytest.raises(SiteBuildError, match="not empty and holds no site built by this tool"):
        build_site(src, mine)
    assert (mine / "notes.txt").read_text() == "precious"
    out = tmp_path / "site"
    build_site(src, out)
    (out / "stale.html").write_text("old")
    build_site(src, out)
    assert not (out / "stale.html").exists() and (out / "one.html").is_file()
    assert "mathjax" in (out / "one.html").read_text().lower(), "a page with math loads MathJax (online only)"


def test_bad_sources_say_what_is_wrong(tmp_path, capsys):
    with pytest.raises(SiteBuildError, match="does not exist"):
        find_notebooks(tmp_path / "nosuch")
    with pytest.raises(SiteBuildError, match="no notebooks found"):
        find_notebooks(tmp_path)
    with pytest.raises(SiteBuildError, match="is not a notebook file"):
        find_notebooks([tmp_path / "a.txt"])
    assert main([str(tmp_path / "out"), "--notebooks", str(tmp_path)]) == 1
    assert "site build failed: no notebooks found" in capsys.readouterr().err


# --------------------------------------------------------------------------- in a browser, offline

@pytest.fixture(scope="module")
def offline(request):
    """A Chromium context that cannot reach any network, only files."""
    path = browser.require_chromium(request.config)
    with browser.chromium(path) as b:
        ctx = b.new_context(viewport={"width": 1200, "height": 900}, offline=True)
        ctx.blocked = browser.block_network(ctx, allow_hosts=())
        yield ctx
        ctx.close()


#: JS: each plotly figure's size, and whether it is interactive (a mode bar, a hover label).
_FIGURES = """() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => {
  const r = gd.getBoundingClientRect();
  return {width: r.width, height: r.height, traces: gd.data.length,
          modebar: !!gd.querySelector('.modebar-container')};
})"""

_HOVER = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  Plotly.Fx.hover(gd, [{curveNumber: 0, pointNumber: 0}]);
  return gd.querySelectorAll('.hoverlayer .hovertext').length;
}"""


def _open(context, path: Path):
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load", timeout=60_000)
    return page, errors


def test_each_page_shows_its_figures_offline(site, offline):
    out, pages = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    for p in pages:
        page, errors = _open(offline, out / p.file)
        figures = browser.wait_for(
            page, "(n) => { const g = [...document.querySelectorAll('.js-plotly-plot')]; return g.length === n"
                  " && g.every(x => x.getBoundingClientRect().height > 0) && g.length + 1; }",
            arg=p.figures, timeout=30, what=f"{p.file} to draw its {p.figures} figure(s)") - 1
        assert figures == p.figures
        drawn = page.evaluate(_FIGURES)
        assert all(f["width"] > 0 and f["height"] > 0 and f["traces"] >= 1 and f["modebar"] for f in drawn), drawn
        if p.notebook.name == "demo_lab.ipynb":  # a figure known to have hover labels
            assert page.evaluate(_HOVER) >= 1, f"{p.file}: hovering a bar shows its label"
        assert errors == [], f"{p.file}: {errors}"
        page.screenshot(path=str(SHOTS / f"{Path(p.file).stem}.png"), full_page=True)
        page.close()
    index, errors = _open(offline, out / "index.html")
    assert index.locator("ul.course-map > li").count() == len(pages)
    assert errors == []
    index.close()
    assert offline.blocked == [], "an offline page tried to fetch something"


def test_inline_plotlyjs_makes_a_page_that_stands_alone(tmp_path, offline):
    src = tmp_path / "src"
    write_demo_notebook(src / "demo_lab.ipynb")
    out = tmp_path / "site"
    build_site(src, out, inline_plotlyjs=True)
    text = (out / "demo_lab.html").read_text()
    assert not (out / "assets").exists() and PLOTLY_JS not in text
    assert text.count("* plotly.js v") == 1
    alone = tmp_path / "mailed" / "demo_lab.html"
    alone.parent.mkdir()
    shutil.copy(out / "demo_lab.html", alone)
    page, errors = _open(offline, alone)
    assert browser.wait_for(page, "() => document.querySelectorAll('.js-plotly-plot').length === 2",
                            timeout=30, what="both figures of the mailed page")
    assert errors == []
    page.close()
