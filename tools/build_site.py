"""The static course site: every notebook executed and turned into a page that works offline.

``make site`` runs ``python -m tools.build_site site``; open ``site/index.html`` or publish
the folder as it is (any static host). What the build does, notebook by notebook:

1. **Execute** it with nbclient (a per-cell timeout; the notebook's folder as working
   directory) in a kernel whose environment has ``MICROLAB_STATIC=1`` and
   ``PLOTLY_RENDERER=plotly_mimetype``, so every plotly figure arrives as its JSON.
2. **Make figures static**: each plotly output becomes a ``<div>`` drawn by plotly.js,
   which is included **once**: by default one shared ``assets/plotly.min.js`` for the
   whole site (4.8 MB once, not once per page); with ``--inline-plotlyjs`` once inside
   each page that has figures, so a page can be mailed on its own. Figures keep zoom
   and hover, offline.
3. **Labs**: widgets need a live kernel, which a static page has not. Each widget output
   becomes a note on how to run the lab live (:data:`LIVE_NOTE`) followed by the lab's
   figures as they stood when the notebook finished (its default figures): every
   plotly ``FigureWidget`` inside the widget, and what an ``ipywidgets.Output`` in it
   captured. A lab that prefers to show something else on a static page can test
   ``os.environ.get("MICROLAB_STATIC")`` (:data:`STATIC_ENV`) and display a plain
   ``go.Figure`` instead of its widgets; if its HTML note says "runs live in JupyterLab"
   (:data:`LAB_NOTE_PATTERN`), the course map counts it as a lab too.
4. **Convert** with nbconvert's ``lab`` template (no require.js, MathJax only on pages
   with math) and add navigation; ``index.html`` is the course map: each notebook's
   first heading and first paragraph, its figure count, and whether it holds a lab.

A cell that raises stops the build with an error naming the notebook, the cell and the
exception (a cell meant to raise needs the ``raises-exception`` tag).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent

#: Environment variable set to "1" in the kernels of a site build: labs may read it.
STATIC_ENV = "MICROLAB_STATIC"

#: What a lab's place on a static page says.
LIVE_NOTE = ("This lab runs live in JupyterLab: <code>make course</code> opens the course, "
             "or <code>make present NB={notebook}</code> shows this notebook as an app in class. "
             "Below: its figures as they first appear.")

#: An HTML output matching this is a lab's own static-mode note (counted as a lab).
LAB_NOTE_PATTERN = re.compile(r"runs live in JupyterLab", re.I)

#: The file in an output folder that marks it as a site this tool built (and may replace).
MARKER = ".microlab-site"

_PLOTLY = "application/vnd.plotly.v1+json"
_WIDGET = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_LIVE_FIGURES = "application/vnd.microlab.live-figures+json"

#: Run after a notebook's own cells, in its kernel: the current figure of every plotly
#: FigureWidget, the children of every container widget, and which widgets are Outputs,
#: so each widget output can be replaced by the figures it showed.
_COLLECT_LIVE_FIGURES = r'''
def _microlab_live_figures():
    import json, sys
    if "ipywidgets" not in sys.modules:
        return
    from IPython.display import display
    from ipywidgets import Output, Widget
    instances = getattr(sys.modules["ipywidgets.widgets.widget"], "_instances", None)
    if instances is None:
        instances = Widget.widgets
    figure_type = getattr(sys.modules.get("plotly.basewidget"), "BaseFigureWidget", ())
    found = {"figures": {}, "children": {}, "outputs": []}
    for model_id, widget in list(instances.items()):
        if figure_type and isinstance(widget, figure_type):
            import plotly.io
            found["figures"][model_id] = json.loads(plotly.io.to_json(widget, validate=False))
        elif isinstance(widget, Output):
            found["outputs"].append(model_id)
        children = getattr(widget, "children", None)
        if isinstance(children, (list, tuple)) and all(isinstance(c, Widget) for c in children):
            found["children"][model_id] = [c.model_id for c in children]
    display({"%s": found}, raw=True)
_microlab_live_figures()
del _microlab_live_figures
''' % _LIVE_FIGURES

#: The page template: nbconvert's lab template without require.js (plotly.js is a plain
#: global here), MathJax only where there is math, plotly.js once, and navigation.
_TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- if resources.microlab.math -%}{{ super() }}{%- endif -%}{%- endblock -%}
{%- block extra_css -%}
<style>
  .microlab-nav { display: flex; gap: 1.5em; padding: 0.6em 1em; margin: 0 0 1em 0;
                  font-family: var(--jp-ui-font-family); border-bottom: 1px solid #ddd; }
  .microlab-nav.bottom { border-top: 1px solid #ddd; border-bottom: none; margin: 2em 0 0 0; }
  .microlab-nav a { text-decoration: none; }
  .microlab-live-note { border-left: 4px solid #1976d2; background: #e3f2fd; padding: 0.5em 1em;
                        margin: 0.5em 0; font-family: var(--jp-ui-font-family); }
</style>
{{ resources.microlab.plotlyjs }}
{%- endblock extra_css -%}
{%- block body_header -%}
{{ super() }}
<nav class="microlab-nav top">{{ resources.microlab.nav }}</nav>
{%- endblock body_header -%}
{% block body_footer %}
<nav class="microlab-nav bottom">{{ resources.microlab.nav }}</nav>
{{ super() }}
{% endblock body_footer %}
"""


class SiteBuildError(RuntimeError):
    """The site could not be built; the message names the notebook and cell at fault."""


@dataclass
class Page:
    """One page of the site: which notebook it came from and what it shows."""

    notebook: Path
    file: str
    title: str
    summary: str
    figures: int
    labs: int
    seconds: float


# --------------------------------------------------------------------------- reading

def find_notebooks(source: str | Path | list) -> list[Path]:
    """The notebooks to publish: a folder's ``*.ipynb`` in name order, or a list of files."""
    if isinstance(source, (list, tuple)):
        paths = [Path(p) for p in source]
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise SiteBuildError(f"notebook folder {str(folder)!r} does not exist")
        paths = sorted(folder.glob("*.ipynb"))
    for p in paths:
        if not p.is_file() or p.suffix != ".ipynb":
            raise SiteBuildError(f"{str(p)!r} is not a notebook file (.ipynb)")
    if not paths:
        raise SiteBuildError(f"no notebooks found in {str(source)!r}: nothing to publish")
    stems = [p.stem for p in paths]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise SiteBuildError(f"two notebooks would both become {twice[0]}.html; rename one")
    return paths


def title_and_summary(nb) -> tuple[str, str]:
    """The notebook's first heading (plain text) and its first paragraph (as HTML)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    title = summary = ""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.split(r"\n\s*\n", cell.source.strip()):
            block = block.strip()
            heading = re.match(r"#{1,6}\s+(.*)", block)
            if heading and not title:
                title = re.sub(r"[*_`]", "", heading.group(1).splitlines()[0]).strip()
            elif block and not heading and not summary and title:
                summary = markdown2html_mistune(block)
        if title and summary:
            break
    return title, summary


# --------------------------------------------------------------------------- executing

def _poll_in_slices(channel, seconds: float = 0.5) -> None:
    """Make ``channel.get_msg`` wait in short slices, up to the same overall timeout.

    Why: when a notebook uses an ``ipywidgets.Output``, nbclient answers the kernel on the
    shell socket while it also waits for the execute reply on that socket; ZeroMQ's
    edge-triggered notification can then be lost and the wait lasts the whole cell
    timeout (seen about 1 run in 10: 120 s for a 5 ms cell) before the reply is noticed.
    A wait that ends checks the socket again, so short slices bound that stall.
    """
    from queue import Empty

    get_msg = channel.get_msg

    async def sliced(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = seconds if deadline is None else max(0.0, min(seconds, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    channel.get_msg = sliced


def _client_class():
    from nbclient import NotebookClient

    class Client(NotebookClient):
        """nbclient's NotebookClient, with waits that cannot miss a message (see _poll_in_slices)."""

        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            _poll_in_slices(kc.shell_channel)
            _poll_in_slices(kc.iopub_channel)
            return kc

    return Client


def execute(nb, path: Path, timeout: float):
    """Run ``nb`` (read from ``path``) top to bottom in a static-mode kernel; return it.

    Returns ``(nb, live)`` where ``live`` describes the widgets alive at the end (see
    ``_COLLECT_LIVE_FIGURES``). Raises :class:`SiteBuildError` naming the failing cell.
    """
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb.cells.append(nbformat.v4.new_code_cell(_COLLECT_LIVE_FIGURES))
    current = {"index": None}

    def on_cell_execute(cell, cell_index):
        current["index"] = cell_index

    env = dict(os.environ, **{STATIC_ENV: "1", "PLOTLY_RENDERER": "plotly_mimetype"})
    client = _client_class()(nb, timeout=timeout, kernel_name="python3", on_cell_execute=on_cell_execute,
                            resources={"metadata": {"path": str(path.parent)}})
    # Cells are numbered from 1, as JupyterLab's status bar counts them ("Cell 3/8").
    where = lambda: f"{path.name}: cell {current['index'] + 1}"  # noqa: E731
    # The kernel's own chatter (a warning about TCP on every start) goes to a log that
    # is quoted only if the kernel dies.
    kernel_log = tempfile.TemporaryFile()
    try:
        client.execute(env=env, cwd=str(path.parent), stderr=kernel_log)
    except CellTimeoutError:
        raise SiteBuildError(f"{where()} did not finish within {timeout:g} s (the per-cell timeout; "
                             "raise it with --timeout, or make the cell faster)") from None
    except CellExecutionError as e:
        raise SiteBuildError(f"{where()} raised {e.ename}: {e.evalue}\n(run the notebook in JupyterLab to see "
                             "the traceback; a cell meant to raise needs the tag raises-exception)") from None
    except DeadKernelError as e:
        kernel_log.seek(0)
        tail = "\n".join(kernel_log.read().decode(errors="replace").splitlines()[-20:])
        raise SiteBuildError(f"{where()}: the kernel died ({e}); its log ends with:\n{tail}") from None
    finally:
        kernel_log.close()
    collector = nb.cells.pop()
    live = {"figures": {}, "children": {}, "outputs": []}
    for out in collector.get("outputs", []):
        if out.get("output_type") == "error":
            raise SiteBuildError(f"{path.name}: collecting the labs' figures failed: {out.ename}: {out.evalue}")
        live = out.get("data", {}).get(_LIVE_FIGURES, live)
    return nb, live


# --------------------------------------------------------------------------- making static

def figure_html(figure: dict, div_id: str) -> str:
    """HTML (a ``div`` and a script) that draws plotly ``figure`` with the page's plotly.js."""
    import plotly.io

    return plotly.io.to_html(figure, include_plotlyjs=False, full_html=False, div_id=div_id,
                             validate=False, config={"responsive": True})


def _widget_outputs(nb) -> dict[str, list]:
    """Each Output widget's captured outputs, from the widget state nbclient saved."""
    state = nb.metadata.get("widgets", {}).get(_WIDGET_STATE, {}).get("state", {})
    return {mid: m.get("state", {}).get("outputs", []) for mid, m in state.items()
            if m.get("model_name") == "OutputModel"}


def make_static(nb, live: dict, notebook_name: str) -> tuple[int, int]:
    """Rewrite ``nb``'s outputs for a page without a kernel; return ``(figures, labs)``.

    Plotly outputs become HTML that draws them; each widget output becomes the
    :data:`LIVE_NOTE` and the figures that widget held. The saved widget state is
    dropped (a static page could only fetch widget renderers from a CDN, in vain).
    """
    captured = _widget_outputs(nb)
    counter = {"figures": 0, "labs": 0}

    def draw(figure, cell_index):
        counter["figures"] += 1
        return nbformat.v4.new_output("display_data", data={
            "text/html": figure_html(figure, f"figure-{cell_index}-{counter['figures']}")})

    def static(output, cell_index, seen) -> list:
        data = output.get("data", {})
        if _PLOTLY in data:
            return [draw(data[_PLOTLY], cell_index)]
        if _WIDGET in data:
            return from_widget(data[_WIDGET].get("model_id"), cell_index, seen)
        return [output]

    def from_widget(model_id, cell_index, seen) -> list:
        if model_id in seen:  # a widget shown twice in one cell draws once
            return []
        seen.add(model_id)
        if model_id in live["figures"]:
            return [draw(live["figures"][model_id], cell_index)]
        if model_id in captured or model_id in live["outputs"]:
            return [o for inner in captured.get(model_id, []) for o in static(nbformat.from_dict(inner), cell_index, seen)]
        return [o for child in live["children"].get(model_id, []) for o in from_widget(child, cell_index, seen)]

    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        new, seen, noted = [], set(), False
        for output in cell.get("outputs", []):
            model_id = output.get("data", {}).get(_WIDGET, {}).get("model_id")
            # A bare Output widget only captured outputs; anything else has controls: a lab.
            if model_id and model_id not in captured and model_id not in live["outputs"] and not noted:
                noted = True
                counter["labs"] += 1
                new.append(nbformat.v4.new_output("display_data", data={
                    "text/html": f'<div class="microlab-live-note">{LIVE_NOTE.format(notebook=html.escape(notebook_name))}</div>'}))
            elif not noted and LAB_NOTE_PATTERN.search(str(output.get("data", {}).get("text/html", ""))):
                noted = True  # a lab that drew its own static figures and said so
                counter["labs"] += 1
            new += static(output, index, seen)
        cell.outputs = new
    nb.metadata.pop("widgets", None)
    return counter["figures"], counter["labs"]


# --------------------------------------------------------------------------- writing

def _exporter():
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", extra_loaders=[DictLoader({"microlab_site.html.j2": _TEMPLATE})],
                        template_file="microlab_site.html.j2")


def _has_math(nb) -> bool:
    """Whether any markdown cell has TeX (``$x$``, ``\\(x\\)``), not counting code such as ``${workflow.input}``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            prose = re.sub(r"```.*?```|`[^`]*`", "", cell.source, flags=re.S)
            if re.search(r"\$[^$\n]+\$|\\\(|\\\[", prose):
                return True
    return False


def _nav(pages: list[Page], i: int) -> str:
    links = ['<a href="index.html">Course map</a>']
    if i > 0:
        links.append(f'<a href="{pages[i - 1].file}">&larr; {html.escape(pages[i - 1].title)}</a>')
    if i + 1 < len(pages):
        links.append(f'<a href="{pages[i + 1].file}">{html.escape(pages[i + 1].title)} &rarr;</a>')
    return " ".join(links)


def _prepare_outdir(outdir: Path) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise SiteBuildError(f"output {str(outdir)!r} is a file; give a folder for the site")
    if outdir.is_dir() and any(outdir.iterdir()):
        if not (outdir / MARKER).exists():
            raise SiteBuildError(f"output folder {str(outdir)!r} is not empty and holds no site built by this tool; "
                                 "give an empty or new folder (the build replaces the folder's contents)")
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / MARKER).write_text("built by tools/build_site.py; the next build replaces this folder\n")


def _index_html(pages: list[Page], title: str) -> str:
    items = []
    for p in pages:
        badges = []
        if p.figures:
            badges.append(f"{p.figures} figure{'s' * (p.figures != 1)}")
        if p.labs:
            badges.append(f"{p.labs} lab{'s' * (p.labs != 1)}: run live with <code>make course</code>")
        items.append(f'<li><a href="{p.file}">{html.escape(p.title)}</a>'
                     + (f' <span class="badges">({"; ".join(badges)})</span>' if badges else "")
                     + (f'<div class="summary">{p.summary}</div>' if p.summary else "") + "</li>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }}
ul.course-map li {{ margin: 0.8em 0; }} .badges {{ color: #555; font-size: 0.9em; }}
.summary p {{ margin: 0.2em 0; color: #333; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p>How microservices collaborate, by <b>orchestration</b> and by <b>choreography</b>: every notebook of the
course, executed, with its figures (zoom and hover work offline). Labs need a live kernel: clone the
repository and run <code>make course</code>.</p>
<h2>Course map</h2>
<ul class="course-map">
{chr(10).join(items)}
</ul>
</body></html>
"""


def build_site(source: str | Path | list = REPO / "notebooks", outdir: str | Path = REPO / "site",
               timeout: float = 120.0, inline_plotlyjs: bool = False, title: str = "microlab: the course",
               log=None) -> list[Page]:
    """Execute every notebook of ``source`` and write the static site to ``outdir``.

    ``source`` is a folder (its ``*.ipynb``, in name order) or a list of notebooks;
    ``timeout`` is per cell, in seconds. ``outdir`` must be new, empty, or an earlier
    site (which is replaced). ``log``, if given, is called with one line per notebook.
    Returns the pages, in course order, after writing ``index.html``.
    """
    notebooks = find_notebooks(source)
    outdir = Path(outdir)
    _prepare_outdir(outdir)
    import plotly

    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not inline_plotlyjs:
        (outdir / "assets").mkdir()
        shutil.copyfile(plotly_js, outdir / "assets" / "plotly.min.js")
    exporter = _exporter()
    pages, built = [], []
    for path in notebooks:
        start = time.monotonic()
        nb = nbformat.read(path, as_version=4)
        nb, live = execute(nb, path, timeout)
        figures, labs = make_static(nb, live, path.name)
        heading, summary = title_and_summary(nb)
        pages.append(Page(notebook=path, file=f"{path.stem}.html", title=heading or path.stem, summary=summary,
                          figures=figures, labs=labs, seconds=time.monotonic() - start))
        built.append(nb)
    for i, (page, nb) in enumerate(zip(pages, built)):
        if not page.figures:
            script = ""
        elif inline_plotlyjs:
            script = f'<script type="text/javascript">{plotly_js.read_text()}</script>'
        else:
            script = '<script type="text/javascript" src="assets/plotly.min.js"></script>'
        nb.metadata["title"] = page.title
        resources = {"metadata": {"name": page.title},
                     "microlab": {"nav": _nav(pages, i), "plotlyjs": script, "math": _has_math(nb)}}
        body, _ = exporter.from_notebook_node(nb, resources=resources)
        (outdir / page.file).write_text(body, encoding="utf-8")
        if log:
            log(f"{page.file:32} {page.figures:3} figures {page.labs:2} labs  {page.seconds:5.1f} s  {page.title}")
    (outdir / "index.html").write_text(_index_html(pages, title), encoding="utf-8")
    return pages


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tools.build_site OUTDIR [--notebooks DIR] [--timeout S] [--inline-plotlyjs]``."""
    parser = argparse.ArgumentParser(prog="python -m tools.build_site", description=__doc__.split("\n\n")[0])
    parser.add_argument("outdir", help="folder for the site (new, empty, or an earlier site: it is replaced)")
    parser.add_argument("--notebooks", default=str(REPO / "notebooks"), help="folder of notebooks (default notebooks/)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds each cell may run (default 120)")
    parser.add_argument("--inline-plotlyjs", action="store_true",
                        help="put plotly.js inside each page with figures instead of one shared assets/plotly.min.js")
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        pages = build_site(args.notebooks, args.outdir, timeout=args.timeout, inline_plotlyjs=args.inline_plotlyjs,
                           log=lambda line: print(line, flush=True))
    except SiteBuildError as e:
        print(f"site build failed: {e}", file=sys.stderr)
        return 1
    print(f"{len(pages)} pages in {time.monotonic() - start:.1f} s: open {Path(args.outdir) / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
