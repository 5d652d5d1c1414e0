"""scripts/gallery.py: every figure of the course, drawn from the scenarios the notebooks run.

The gallery holds one figure of every family, so the shared rules are checked here on
all of them: a title, titled axes (with units on numeric axes), a legend that explains
the colours, hover text, and the same figure JSON from the same seed. It draws what the
notebooks run (RunResults of microlab.scenarios), not sagas or numbers of its own.
"""

import importlib.util
import os
import struct
from pathlib import Path

import pytest

from microlab import Service, System, scenarios
from microlab.scenarios import RunResult

ROOT = Path(__file__).resolve().parents[1]


def load_gallery():
    spec = importlib.util.spec_from_file_location("gallery", ROOT / "scripts" / "gallery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gallery():
    return load_gallery()


@pytest.fixture(scope="module")
def figures(gallery):
    return gallery.figures()


def axes(fig):
    """(name, axis) of every visible axis of the figure's layout."""
    layout = fig.layout.to_plotly_json()
    for name in sorted(layout):
        if (name.startswith("xaxis") or name.startswith("yaxis")) and layout[name].get("visible", True):
            yield name, layout[name]


def is_category(fig, name, axis):
    if axis.get("type") == "category" or axis.get("tickmode") == "array":
        return True
    ref = name[0] + name[5:]                 # "xaxis2" -> "x2"
    letter = name[0]
    for t in fig.data:
        if (getattr(t, letter + "axis", None) or letter) == ref:
            values = getattr(t, letter, None)
            if values is not None and len(values) and isinstance(values[0], str):
                return True
    return False


@pytest.fixture(scope="module")
def runs(gallery):
    return gallery.runs()


def test_the_gallery_has_no_services_or_systems_of_its_own(gallery):
    own = [name for name, value in vars(gallery).items()
           if isinstance(value, type) and issubclass(value, (Service, System))]
    assert own == [], f"the gallery defines its own {own}: draw a scenario instead"
    assert "percentile" not in (ROOT / "scripts" / "gallery.py").read_text()


def test_every_run_is_a_scenario_with_the_settings_of_a_notebook(gallery, runs):
    assert set(runs) == set(gallery.RUNS)
    for name, run in runs.items():
        assert isinstance(run, RunResult), name
        function, knobs, cell = gallery.RUNS[name]
        notebook = cell.split(":")[0].split(" / ")[0]
        assert (ROOT / "solutions" / f"{notebook}.ipynb").exists(), (name, cell)
    # A run is the scenario itself: called directly with those knobs, the same trace.
    function, knobs, _ = gallery.RUNS["choreography"]
    knobs = dict(knobs)
    direct = getattr(scenarios, function)(knobs.pop("pattern"), **knobs)
    assert direct.trace.digest() == runs["choreography"].trace.digest()


def test_the_figures_show_the_runs_own_numbers(figures, runs):
    latency = {t.name.split(" (")[0]: t.name for t in figures["latency"].data if t.type == "bar"}
    for pattern in ("orchestration", "choreography"):
        assert latency[pattern].startswith(f"{pattern} ({len(runs['light_' + pattern].latencies)};")
    bars = {t.name: dict(zip(t.x, t.y)) for t in figures["outcomes"].data}
    assert bars["orchestration"] == runs["orchestration"].checks.counts()
    assert bars["choreography"] == runs["choreography"].checks.counts()
    assert runs["orchestration"].checks.counts()["compensated"] > 0   # the figures of one order show an undo


def test_the_gallery_has_every_family(figures):
    names = set(figures)
    for family in ("sequence", "topology", "timeline", "latency", "saturation", "queues",
                   "outcomes", "change_impact", "orchestrator_growth", "retry_backoff", "animation",
                   "workflow", "causation"):
        assert any(n.startswith(family) for n in names), family


def test_every_figure_is_titled_labelled_explained_and_hoverable(figures):
    for name, fig in figures.items():
        assert fig.layout.title.text, name
        assert fig.layout.template.layout.font.size >= 12, name
        for axis_name, axis in axes(fig):
            title = (axis.get("title") or {}).get("text")
            if axis_name == "xaxis" and axis.get("matches"):
                continue     # a shared time axis: its twin below carries the title
            assert title, f"{name}: {axis_name} has no title"
            if not is_category(fig, axis_name, axis):
                assert "(" in title and ")" in title, f"{name}: {axis_name} title {title!r} has no unit"
        assert fig.layout.legend.title.text, name
        shown = [t for t in fig.data if t.showlegend is not False]
        assert all(t.name for t in shown), name
        for t in fig.data:
            assert t.hovertemplate or t.hovertext is not None or t.hoverinfo in ("skip", "none"), \
                f"{name}: trace {t.name!r} has no hover text"


def test_fonts_are_readable_everywhere(figures):
    for name, fig in figures.items():
        for a in fig.layout.annotations:
            assert a.font.size is None or a.font.size >= 12, (name, a.text)
        for t in fig.data:
            font = getattr(t, "textfont", None)
            assert font is None or font.size is None or font.size >= 12, name


def test_same_seed_same_figures(gallery, figures):
    again = gallery.figures()
    assert list(again) == list(figures)
    for name in figures:
        assert again[name].to_json() == figures[name].to_json(), name


def test_write_html_shares_one_copy_of_plotly(gallery, figures, tmp_path):
    pages = gallery.write({k: figures[k] for k in ("outcomes", "retry_backoff")}, tmp_path, png=False)
    assert [p.name for p in pages] == ["outcomes.html", "retry_backoff.html"]
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000
    assert all(p.stat().st_size < 100_000 for p in pages)


def png_size(path):
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_pngs_in_headless_chromium(gallery, figures, tmp_path):
    if not os.path.exists(gallery.CHROMIUM):
        pytest.skip(f"Chromium is not installed at {gallery.CHROMIUM}")
    gallery.write({k: figures[k] for k in ("sequence_one_order", "animation")}, tmp_path, png=True)
    for name in ("sequence_one_order", "animation"):
        width, height = png_size(tmp_path / f"{name}.png")
        assert width >= 1000 and height == figures[name].layout.height
