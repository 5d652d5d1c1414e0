"""Browser tests: the course in JupyterLab and in Voila, in headless Chromium.

Covers tools/browser.py (Chromium, servers), tools/notebook_run.py (running notebooks),
tools/lab_checks.py (acting on labs) and tools/present.py (Voila).

One JupyterLab serves a temporary copy of ``notebooks/`` plus a demo lab
(:mod:`tools.demo`); headless Debian Chromium opens each notebook, runs all its cells and
checks that nothing failed and every figure and widget rendered; then each row of the
lab-interaction table acts on a lab and expects its figure to change. Screenshots land in
``artifacts/screenshots/browser/`` (and ``voila/``). Without Chromium these tests are
skipped and the run's report ends with one line saying so (under ``CI`` they fail).

Adding a lab to the course? Give its root widget the class ``microlab-lab-<name>``
(``lab.add_class("microlab-lab-<name>")``) and add at least one row to
:data:`LAB_CHECKS`; ``test_every_lab_in_the_course_has_an_interaction_check`` fails
until you do.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tools import browser, lab_checks, notebook_run, present
from tools.lab_checks import LabCheck, arrow_count, figure_signature, figure_title, point_count, trace_count
from tools.demo import DEMO_LAB, write_demo_notebook

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
COURSE = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
SHOTS = browser.SCREENSHOTS / "browser"

#: The demo lab exists only in the test's temporary copy of the course.
DEMO = "demo_lab.ipynb"

#: The lab-interaction table for the course's own labs: one row per interaction.
#: ``LabCheck(notebook, lab, action, probe)``: the lab is found by its root widget's class
#: ``microlab-lab-<lab>``; the action is "slider" | "button" | "toggle" | "select" (with
#: ``target=`` a CSS selector inside the lab when the first such control is not the one);
#: the probe reads the lab's plotly figures and must change: figure_title(),
#: trace_count(), point_count(), arrow_count(), or figure_signature() (everything drawn).
#: Every lab that renders in a notebook needs at least one row here.
LAB_CHECKS = [
    LabCheck("00_start_here.ipynb", "first", "slider", figure_signature()),          # latency one step right
    LabCheck("01_two_ways.ipynb", "compare", "slider", figure_signature()),          # orders 10 -> 11
    LabCheck("02_orchestration.ipynb", "explorer", "select", figure_signature()),    # the next example workflow
    LabCheck("03_choreography.ipynb", "scrubber", "slider", figure_signature()),     # orders 8 -> 9
    LabCheck("04_failures_and_sagas.ipynb", "failure", "button", figure_signature(),
             target="button.widget-button:has-text('Crash it')"),
    LabCheck("05_performance.ipynb", "load", "slider", figure_signature()),          # 20 -> 21 orders/s
    LabCheck("06_single_point_of_failure.ipynb", "spof", "slider", figure_signature()),  # crash later
    LabCheck("07_change_and_growth.ipynb", "change", "slider", figure_signature()),  # steps per sub-workflow
    LabCheck("08_netflix_conductor.ipynb", "explorer", "select", figure_signature()),
    LabCheck("09_choosing_a_pattern.ipynb", "compare", "slider", figure_signature()),
]

#: The same mechanism proved on the demo lab: one row per kind of action, plus a lab
#: found by a marker in its cell's source rather than by its class.
DEMO_CHECKS = [
    LabCheck(DEMO, DEMO_LAB, "slider", figure_title(), expect="n = 4"),
    LabCheck(DEMO, DEMO_LAB, "button", trace_count(), expect=2),
    LabCheck(DEMO, DEMO_LAB, "toggle", arrow_count(), expect=1),
    LabCheck(DEMO, DEMO_LAB, "select", figure_signature()),
    LabCheck(DEMO, "cell:fig = LabFigure(", "slider", point_count(), times=2),
]


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def chromium_path(request):
    """Debian's Chromium, or a skip (a failure under CI) with one clear line."""
    return browser.require_chromium(request.config)


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """A throwaway copy of notebooks/ plus the demo lab: a run never writes into the course."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(NOTEBOOKS, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    write_demo_notebook(root / DEMO)
    return root


@pytest.fixture(scope="module")
def lab(chromium_path, course_dir):
    """JupyterLab on a free port of 127.0.0.1, stopped by its PID after the module."""
    server = browser.JupyterLab(course_dir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium(chromium_path):
    """One headless Chromium for the module (playwright allows one per thread)."""
    with browser.chromium(chromium_path) as b:
        yield b


@pytest.fixture(scope="module")
def context(chromium):
    """A browser context with every request off this machine blocked (and recorded)."""
    ctx = chromium.new_context(viewport=browser.VIEWPORT)
    ctx.blocked = browser.block_network(ctx)
    yield ctx
    ctx.close()


class Course:
    """Runs each notebook once in its own page and remembers the outcome for later tests.

    While one notebook runs, the next one in course order is opened and started, so its
    kernel start and page load overlap the current run (two cores, two notebooks). A
    notebook that some lab check needs keeps its page (and kernel) open; the others are
    closed as soon as they have been judged.
    """

    def __init__(self, lab, context, order):
        self.lab, self.context, self.order = lab, context, list(order)
        self.outcomes: dict[str, object] = {}
        self.started: dict[str, tuple] = {}
        self.pages = {}
        #: ``{notebook: {lab class: layout report}}`` of each lab right after its first
        #: render (once its figures held still), before any test acted on it.
        self.first_layouts: dict[str, dict] = {}

    def _start(self, name: str) -> None:
        page = self.context.new_page()
        try:
            notebook_run.open_notebook(page, self.lab, name)
            self.started[name] = (page, notebook_run.start_run(page, name))
        except Exception as e:  # remember it: every test on this notebook fails the same way
            self.outcomes[name] = e
            page.close()

    def run(self, name: str) -> notebook_run.NotebookRun:
        """Run notebook ``name`` (once) and return its NotebookRun; re-raise a failed run."""
        if name not in self.outcomes:
            if name not in self.started:
                self._start(name)
            upcoming = [n for n in self.order if n != name and n not in self.outcomes and n not in self.started]
            if name in self.started and upcoming:
                self._start(upcoming[0])
            if name in self.started:
                page, start = self.started.pop(name)
                try:
                    run = notebook_run.finish_run(page, name, start, timeout=300)
                    if any(c.notebook == name for c in LAB_CHECKS):
                        self.first_layouts[name] = {cls: lab_checks.settled_layout(page, "." + cls)
                                                    for cls in dict.fromkeys(run.labs)}
                    notebook_run.screenshot_cells(page, SHOTS, Path(name).stem, only_rich=True)
                    self.outcomes[name] = run
                except Exception as e:
                    self.outcomes[name] = e
                if any(c.notebook == name for c in LAB_CHECKS + DEMO_CHECKS):
                    self.pages[name] = page
                else:
                    page.close()
                    self.lab.close_notebook(name)
        outcome = self.outcomes[name]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def page(self, name: str):
        """The open page of notebook ``name``, after a clean run of all its cells."""
        run = self.run(name)
        assert not run.problems, f"{name} did not run clean, so its labs cannot be checked:\n" + "\n".join(run.problems)
        return self.pages[name]


@pytest.fixture(scope="module")
def course(lab, context):
    """The notebooks of the temporary course, each run at most once per test module."""
    return Course(lab, context, order=COURSE + [DEMO])


# --------------------------------------------------------------------------- notebooks

@pytest.mark.parametrize("name", COURSE + [DEMO])
def test_notebook_runs_clean_in_jupyterlab(course, name):
    run = course.run(name)
    assert run.cells, f"{name} has no code cells that JupyterLab ran"
    assert not run.problems, f"{name} in JupyterLab:\n" + "\n".join(run.problems)
    ran = [c for c in run.cells if c.source.strip()]
    assert all(c.count is not None for c in ran)


def test_demo_lab_renders_its_figure_its_widgets_and_its_class(course):
    run = course.run(DEMO)
    assert [c.plotly for c in run.cells] == [0, 1, 0], "the static go.Figure is the second code cell"
    assert [c.widgets for c in run.cells] == [0, 0, 1], "the lab is the third code cell"
    assert run.labs == [notebook_run.LAB_CLASS_PREFIX + DEMO_LAB]
    assert list(SHOTS.glob(f"{Path(DEMO).stem}-cell*.png")), "screenshots of the figure cells were saved"


def test_a_failing_cell_is_reported_by_number_with_its_error(course, course_dir):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('boom: wrong step name')"),
        nbformat.v4.new_code_cell("y = 2"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, course_dir / "failing.ipynb")
    run = course.run("failing.ipynb")
    assert run.problems == ["cell 2 raised ValueError: boom: wrong step name"]
    assert [c.count is not None for c in run.cells] == [True, True, False]


def test_a_cell_taller_than_the_window_is_photographed_whole(lab, context, course_dir, tmp_path):
    # 3000 px of output, its last 100 px red: taller than the 2200 px window, so JupyterLab's
    # notebook panel clips it; the picture must still hold the red foot and the cell's height.
    tall = ("from IPython.display import HTML\n"
            "HTML('<div style=\"height:2900px;background:#eee\"></div>'\n"
            "     '<div id=\"foot\" style=\"height:100px;background:#ff0000\"></div>')")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(tall)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, course_dir / "tall.ipynb")
    page = context.new_page()
    try:
        notebook_run.open_notebook(page, lab, "tall.ipynb")
        assert not notebook_run.run_all_cells(page, "tall.ipynb").problems
        [shot] = notebook_run.screenshot_cells(page, tmp_path, "tall")
        box = page.locator(".jp-Notebook .jp-Cell").first.bounding_box()
        assert page.viewport_size == browser.VIEWPORT, "the window is put back after a tall cell"
    finally:
        page.close()
        lab.close_notebook("tall.ipynb")
    from PIL import Image
    image = Image.open(shot).convert("RGB")
    assert box["height"] > browser.VIEWPORT["height"]
    assert abs(image.height - box["height"]) <= 1, (image.size, box)
    foot = image.crop((0, image.height - 120, image.width, image.height - 30))
    reds = sum(1 for r, g, b in foot.get_flattened_data() if r > 200 and g < 60 and b < 60)
    assert reds > foot.width * 20, "the red foot of the output is in the picture, not the panel's grey"


# --------------------------------------------------------------------------- labs

@pytest.mark.parametrize("check", DEMO_CHECKS + LAB_CHECKS, ids=lambda c: c.id)
def test_lab_figure_answers_its_widget(course, course_dir, check):
    assert (course_dir / check.notebook).is_file(), f"LAB_CHECKS names {check.notebook}, which is not in notebooks/"
    page = course.page(check.notebook)
    outcome = lab_checks.run_lab_check(page, check, timeout=60, screenshots=SHOTS)
    assert outcome.after != outcome.before
    if check.expect is not None:
        assert outcome.after == check.expect
    assert all(p.stat().st_size > 0 for p in outcome.screenshots)


def test_a_lab_whose_figure_does_not_change_fails_the_check(course):
    page = course.page(DEMO)
    still = LabCheck(DEMO, DEMO_LAB, "button", figure_title(), expect="a title the button never sets")
    with pytest.raises(browser.BrowserError, match=r"demo_lab-demo-button: the probe to read 'a title"):
        lab_checks.run_lab_check(page, still, timeout=3)


def test_a_lab_that_is_not_there_is_named_with_the_convention(course):
    page = course.page(DEMO)
    with pytest.raises(browser.BrowserError, match=r"microlab-lab-nosuch.*add_class"):
        lab_checks.run_lab_check(page, LabCheck(DEMO, "nosuch", "slider", figure_title()), timeout=3)


def uncovered_labs(runs: dict[str, notebook_run.NotebookRun], checks: list[LabCheck]) -> list[str]:
    """``notebook: class`` for every rendered lab that no row of ``checks`` acts on."""
    covered = {(c.notebook, c.selector()) for c in checks}
    return [f"{name}: {cls}" for name, run in runs.items() for cls in dict.fromkeys(run.labs)
            if (name, "." + cls) not in covered]


def test_every_lab_in_the_course_has_an_interaction_check(course):
    runs = {name: course.run(name) for name in COURSE}
    missing = uncovered_labs(runs, LAB_CHECKS)
    assert not missing, ("labs without a row in LAB_CHECKS (tests/test_browser.py):\n" + "\n".join(missing))
    # The rule itself works: the demo lab, without its rows, would be reported.
    demo = {DEMO: course.run(DEMO)}
    assert uncovered_labs(demo, []) == [f"{DEMO}: microlab-lab-{DEMO_LAB}"]
    assert uncovered_labs(demo, DEMO_CHECKS) == []


def test_lab_check_rejects_a_bad_row_naming_the_notebook():
    with pytest.raises(ValueError, match=r"'x.ipynb'.*'drag' is not one of"):
        LabCheck("x.ipynb", "saga", "drag", figure_title())
    with pytest.raises(ValueError, match=r"'x.ipynb'.*probe must be a JavaScript function"):
        LabCheck("x.ipynb", "saga", "slider", "title")
    assert LabCheck("x.ipynb", "saga", "slider", figure_title()).selector() == ".microlab-lab-saga"


def test_no_request_left_the_machine(course, context):
    course.run(DEMO)
    assert context.blocked == []


# --------------------------------------------------------------------------- lab layout and access

#: Each course lab once: (notebook, lab name).
COURSE_LABS = list(dict.fromkeys((c.notebook, c.lab) for c in LAB_CHECKS))


def _lab_id(item) -> str:
    return f"{Path(item[0]).stem}-{item[1]}"


@pytest.mark.parametrize("where", COURSE_LABS, ids=_lab_id)
def test_lab_figures_fill_the_cell_with_every_label_inside_on_first_render(course, where):
    notebook, name = where
    course.page(notebook)
    report = course.first_layouts[notebook][notebook_run.LAB_CLASS_PREFIX + name]
    assert report and report["figures"], f"{name} in {notebook} drew no figure"
    for i, f in enumerate(report["figures"]):
        what = f"{notebook} {name} figure {i + 1} ({(f['title'] or {}).get('text')!r})"
        assert f["width"] >= 0.97 * f["areaWidth"], f"{what}: {f['width']:.0f} px of a {f['areaWidth']:.0f} px cell"
        assert f["outside"] == [], f"{what}: labels reach outside the figure: {f['outside']}"
        assert f["cut"] == [], f"{what}: labels cut short: {f['cut']}"
        # Every figure has a title that says what it shows (a few words, not a bare "t = 0").
        assert f["title"] and len(f["title"]["text"].split()) >= 3, f"{what}: no title saying what it shows"
        if f["subtitle"]:
            assert f["title"]["bottom"] <= f["subtitle"]["top"] + 1, f"{what}: the subtitle sits above its title"
        if name == "load":   # its legend wrapped onto two rows and squeezed the saturation curve
            assert f["legendRows"] == 1, f"{what}: the legend takes {f['legendRows']} rows"
    assert report["clippedLabels"] == [], f"{name}: control labels cut off: {report['clippedLabels']}"
    assert report["narrowSliders"] == [], f"{name}: slider tracks too short to drag: {report['narrowSliders']}"


@pytest.mark.parametrize("where", COURSE_LABS, ids=_lab_id)
def test_every_lab_control_has_a_name_a_screen_reader_announces(course, where):
    notebook, name = where
    page = course.page(notebook)
    selector = "." + notebook_run.LAB_CLASS_PREFIX + name
    # The names are tied once the lab is on the page (microlab.labs.a11y): give it a moment.
    unnamed = []
    for _ in range(20):
        unnamed = lab_checks.unnamed_controls(page, selector)
        if not unnamed:
            break
        page.wait_for_timeout(250)
    assert unnamed == [], f"{name} in {notebook}: controls without an accessible name: {unnamed}"
    controls = lab_checks.CONTROL_ROLES
    tree = page.locator(selector).first.aria_snapshot()
    assert sum(line.strip().startswith(f"- {r}") for line in tree.splitlines() for r in controls) >= 1


_TEXTS = """(sel) => { const r = document.querySelector(sel);
  return [...r.querySelectorAll('.js-plotly-plot')].filter(gd => gd._fullLayout).map(gd => ({
    title: gd._fullLayout.title ? gd._fullLayout.title.text : '',
    annotations: (gd._fullLayout.annotations || []).map(a => a.text),
    xrange: gd._fullLayout.xaxis ? gd._fullLayout.xaxis.range : null,
    // The messages' own x values (a crash star marks the crash, wherever it is).
    xs: gd.data.filter(t => t.visible !== false && t.legendgroup !== 'crash')
               .flatMap(t => [...(t.x || [])].filter(v => v !== null && !Number.isNaN(v)))}));
}"""

_MESSAGE = """(sel) => { const m = document.querySelector(sel + ' [data-tone]');
  return m && {tone: m.dataset.tone, colour: getComputedStyle(m).color, text: m.textContent}; }"""


def _click(page, selector: str, label: str) -> None:
    page.locator(selector).first.locator(f"button.widget-button:has-text('{label}')").first.click(timeout=10_000)


def _wait_texts(page, selector, test, what: str, timeout: float = 60):
    js = f"(sel) => {{ const v = ({_TEXTS})(sel); return ({test})(v) ? v : false; }}"
    return browser.wait_for(page, js, arg=selector, timeout=timeout, what=what,
                            seen=f"(sel) => JSON.stringify(({_TEXTS})(sel)).slice(0, 400)")


def test_failure_lab_crash_replaces_the_nothing_to_single_out_note(course):
    page = course.page("04_failures_and_sagas.ipynb")
    sel = ".microlab-lab-failure"
    page.bring_to_front()
    _click(page, sel, "Clear faults")
    note = "no rule broken"
    _wait_texts(page, sel, f"v => v[0].annotations.some(a => a.includes('{note}'))",
                "the note figure after Clear faults")
    _click(page, sel, "Crash it")
    after = _wait_texts(page, sel, "v => v[0].title.startsWith('Transaction')",
                        "a transaction drawn on its own after Crash it")
    assert not any(note in a for a in after[0]["annotations"]), after[0]["annotations"]
    assert after[0]["annotations"], "the single transaction's arrows are labelled"


def test_spof_lab_zooms_one_order_and_colours_the_verdict_by_it(course):
    page = course.page("06_single_point_of_failure.ipynb")
    sel = ".microlab-lab-spof"
    page.bring_to_front()
    lab = page.locator(sel).first
    message = page.evaluate(_MESSAGE, sel)
    # The default: the orchestrator and the broker never come back; orders are stuck.
    assert message["tone"] == "bad" and message["text"].startswith("✘"), message
    assert message["colour"] == "rgb(178, 24, 43)", message
    assert "recovery never" in message["text"] and "recovery 0." not in message["text"]
    rows = page.evaluate("(sel) => [...document.querySelector(sel).querySelectorAll('table tr')]"
                         ".map(tr => [...tr.cells].map(c => c.textContent.trim()))", sel)
    recovery = next(row for row in rows if row[0].startswith("recovery time"))
    assert recovery[1:] == ["never", "never"], recovery   # no recovery time for what never comes back
    # Standby on, both restart: every order concludes, the verdict turns good and green.
    before = page.evaluate(_TEXTS, sel)[1]["title"]
    lab.locator(".widget-checkbox:has-text('standby') input").first.check(timeout=10_000)
    _wait_texts(page, sel, f"v => v[1].title !== {before!r}", "the single order redrawn after standby")
    lab.locator(".widget-checkbox:has-text('never restarts') input").first.uncheck(timeout=10_000)
    good = browser.wait_for(page, f"(sel) => {{ const m = ({_MESSAGE})(sel); return m && m.tone === 'good' && m; }}",
                            arg=sel, timeout=60, what="a good verdict with standby and restarts",
                            seen=f"(sel) => ({_MESSAGE})(sel)")
    assert good["colour"] == "rgb(27, 120, 55)" and good["text"].startswith("✔"), good
    assert "never" not in good["text"]
    order = page.evaluate(_TEXTS, sel)[1]
    lo, hi = order["xrange"]
    xs = order["xs"]
    assert lo <= min(xs) and max(xs) <= hi, "the axis shows every message of the order"
    assert hi - lo <= 1.2 * (max(xs) - min(xs)), f"axis {lo:.2f}-{hi:.2f} is wider than the order's messages"


# --------------------------------------------------------------------------- servers

def _kernel_processes(runtime_dir: Path) -> list[int]:
    """PIDs of processes whose command line names a connection file in ``runtime_dir``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(runtime_dir) in cmdline:
                pids.append(int(proc.name))
    return pids


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_kernel(server: browser.JupyterLab) -> None:
    req = urllib.request.Request(server.url("api/kernels"), data=b"{}", method="POST")
    urllib.request.urlopen(req, timeout=60).close()


def test_jupyterlab_stops_by_pid_with_its_kernels(tmp_path):
    server = browser.JupyterLab(tmp_path, workdir=tmp_path / "work").start()
    pid, port = server.pid, server.port
    _start_kernel(server)
    assert len(server.kernels()) == 1
    assert _kernel_processes(tmp_path / "work" / "runtime"), "the kernel runs with a private runtime dir"
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _kernel_processes(tmp_path / "work" / "runtime") == []
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the port is free again"
    server.stop()  # a second stop is harmless


def test_a_hung_jupyterlab_is_killed_with_its_kernels(tmp_path):
    server = browser.JupyterLab(tmp_path, workdir=tmp_path / "work").start()
    _start_kernel(server)
    kernels = _kernel_processes(tmp_path / "work" / "runtime")
    assert kernels
    # A frozen server can neither end its kernels politely nor obey SIGTERM.
    server.before_stop = lambda: None
    os.kill(server.pid, signal.SIGSTOP)
    server.stop(grace=1)
    assert [pid for pid in kernels if _alive(pid)] == []


def test_a_server_that_cannot_start_says_why(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = browser.JupyterLab(tmp_path, port=taken.getsockname()[1], workdir=tmp_path / "work")
        with pytest.raises(browser.BrowserError, match=r"jupyterlab exited with code \d+ before answering"):
            server.start(timeout=60)
    assert server.pid is None
    with pytest.raises(browser.BrowserError, match="is not a directory"):
        browser.JupyterLab(tmp_path / "nosuch")


def test_missing_chromium_skips_with_one_line_and_fails_under_ci(tmp_path):
    test = tmp_path / "test_needs_chromium.py"
    test.write_text(textwrap.dedent("""
        from tools import browser

        def test_it(request, monkeypatch):
            monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
            monkeypatch.setattr(browser.shutil, "which", lambda name: None)
            monkeypatch.delenv("MICROLAB_CHROMIUM", raising=False)
            browser.require_chromium(request.config)
    """))

    def pytest_run(ci):
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        env["PYTHONPATH"] = str(REPO)
        if ci:
            env["CI"] = "true"
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    line = browser.missing_chromium_message()
    assert line.startswith("Chromium not found at /usr/bin/chromium: browser tests NOT run")
    local = pytest_run(ci=False)
    assert local.returncode == 0, local.stdout
    assert "1 skipped" in local.stdout and "passed" not in local.stdout
    assert local.stdout.count(line) == 1, local.stdout
    ci = pytest_run(ci=True)
    assert ci.returncode == 1 and "1 failed" in ci.stdout, ci.stdout
    assert ".ci/run should have installed it" in ci.stdout


# --------------------------------------------------------------------------- Voila

def test_voila_presents_a_lab_with_live_widgets(chromium, tmp_path):
    notebook = write_demo_notebook(tmp_path / "demo_lab.ipynb")
    shots = browser.SCREENSHOTS / "voila"
    with browser.Voila(notebook, workdir=tmp_path / "work") as server:
        assert server.command() == present.voila_command(notebook.resolve(), server.port)
        ctx = chromium.new_context(viewport=browser.VIEWPORT)
        blocked = browser.block_network(ctx)
        page = ctx.new_page()
        page.goto(server.url(), timeout=120_000)
        page.wait_for_selector(".widget-slider", timeout=120_000)
        plots = browser.wait_for(
            page, "() => { const p = [...document.querySelectorAll('.js-plotly-plot')].filter(g =>"
                  " g.getBoundingClientRect().height > 0); return p.length >= 2 && p.length; }",
            timeout=60, what="the static figure and the lab's figure to draw in Voila")
        assert plots == 2
        outcome = lab_checks.run_lab_check(page, LabCheck(DEMO, DEMO_LAB, "slider", figure_title()), screenshots=shots)
        assert (outcome.before, outcome.after) == ("n = 3", "n = 4")
        assert "Traceback" not in page.inner_text("body")
        page.screenshot(path=str(shots / "demo_lab.png"), full_page=True)
        ctx.close()
    # Offline, Voila misses only its icon fonts (Font Awesome from a CDN).
    assert all("fontawesome" in url for url in blocked), blocked


def test_present_chooses_the_named_notebook_else_the_labs(tmp_path):
    assert present.choose_notebook() == (present.DEFAULT_LABS if present.DEFAULT_LABS.exists() else present.FALLBACK)
    assert present.choose_notebook("00_start_here") == NOTEBOOKS / "00_start_here.ipynb"
    mine = write_demo_notebook(tmp_path / "mine.ipynb")
    assert present.choose_notebook(str(mine)) == mine.resolve()
    with pytest.raises(FileNotFoundError, match=r"NB=nosuch: no such notebook; give a path or one of: .*00_start_here"):
        present.choose_notebook("nosuch")
    cmd = present.voila_command(mine, 9999)
    assert cmd[1:4] == ["-m", "voila", str(mine)] and "--port=9999" in cmd and "--Voila.ip=127.0.0.1" in cmd
