"""Tests of microlab/labs/base.py: figures replaced in place, sending only what changed."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from microlab.labs.base import layout_changes, replace_figure, same, trace_changes
from tests.conftest import Pinger, Ponger


def sent_messages(fw):
    """Record every message a FigureWidget would send to the browser: [(kind, payload)]."""
    sent = []
    for kind in ("update", "addTraces", "deleteTraces", "restyle", "relayout"):
        original = getattr(fw, f"_send_{kind}_msg")

        def record(*args, _kind=kind, _original=original, **kwargs):
            sent.append((_kind, args, kwargs))
            return _original(*args, **kwargs)

        setattr(fw, f"_send_{kind}_msg", record)
    return sent


def figure(xs, title="t", annotations=()):
    return go.Figure([go.Scatter(x=np.asarray(xs, dtype=float), y=np.asarray(xs, dtype=float) * 2, name="a"),
                      go.Bar(x=["p", "q"], y=[1, 2], name="b")],
                     layout=dict(title=dict(text=title), annotations=list(annotations)))


def test_only_the_changed_trace_property_and_layout_key_are_sent_in_one_message():
    fw = go.FigureWidget(figure([1, 2, 3], annotations=[dict(text="old note", x=0, y=0)]))
    sent = sent_messages(fw)
    replace_figure(fw, figure([1, 2, 3, 4], title="new"))
    assert [k for k, _, _ in sent] == ["update"], "one plotly_update, no delete/add of traces"
    _, _, kw = sent[0]
    restyle, relayout = kw["restyle_data"], kw["relayout_data"]
    assert set(restyle) == {"x", "y"}               # the bar and the names did not change
    assert set(relayout) == {"title", "annotations"}
    assert list(fw.data[0].x) == [1, 2, 3, 4] and list(fw.data[1].y) == [1, 2]
    assert fw.layout.title.text == "new"
    assert fw.layout.annotations == (), "a stale annotation is removed, on the Python side too"


def test_an_unchanged_figure_sends_nothing():
    fw = go.FigureWidget(figure([1, 2]))
    sent = sent_messages(fw)
    replace_figure(fw, figure([1, 2]))
    assert sent == []


def test_more_or_fewer_traces_or_another_type_replace_only_the_tail():
    fw = go.FigureWidget(figure([1, 2]))
    three = figure([1, 2])
    three.add_scatter(x=[5], y=[6], name="c")
    replace_figure(fw, three)
    assert [t.name for t in fw.data] == ["a", "b", "c"]
    replace_figure(fw, go.Figure([go.Scatter(x=[9], y=[9], name="a"), go.Scatter(x=[1], y=[1], name="d")]))
    assert [(t.type, t.name) for t in fw.data] == [("scatter", "a"), ("scatter", "d")]
    assert list(fw.data[0].x) == [9]


def test_a_new_subplot_axis_is_added():
    fw = go.FigureWidget(go.Figure(go.Scatter(x=[1], y=[1])))
    replace_figure(fw, go.Figure([go.Scatter(x=[1], y=[1]), go.Scatter(x=[2], y=[2], xaxis="x2", yaxis="y2")],
                                 layout=dict(xaxis2=dict(domain=[0.6, 1]), yaxis2=dict(anchor="x2"))))
    assert fw.layout.xaxis2.domain == (0.6, 1) and fw.data[1].xaxis == "x2"


def test_the_widget_keeps_its_height_when_the_new_figure_has_none():
    fw = go.FigureWidget(go.Figure(layout=dict(height=333)))
    replace_figure(fw, figure([1]))
    assert fw.layout.height == 333


def test_diffs_name_removed_keys_and_compare_arrays_by_value():
    assert layout_changes({"title": {"text": "a"}, "shapes": [1]}, {"title": {"text": "a"}}) == {"shapes": None}
    changes = trace_changes([{"type": "scatter", "x": np.array([1.0, np.nan]), "name": "a"}],
                            [{"type": "scatter", "x": np.array([1.0, np.nan]), "name": "b"}])
    assert list(changes) == ["name"] and changes["name"] == ["b"]
    assert same(np.array([1, 2]), [1, 2]) and not same(np.array([1, 2]), np.array([1, 2, 3]))
    assert same({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) and not same({"a": 1}, {"a": 1, "b": 2})


def test_keep_slots_hides_surplus_traces_and_reuses_them_in_one_message_each():
    def scatters(n):
        return go.Figure([go.Scatter(x=[i], y=[i], name=f"s{i}") for i in range(n)])
    fw = go.FigureWidget(scatters(4))
    sent = sent_messages(fw)
    replace_figure(fw, scatters(2), keep_slots=True)
    assert [k for k, _, _ in sent] == ["update"], "no deleteTraces: the two spare traces are hidden"
    assert [t.visible for t in fw.data] == [None, None, False, False]
    assert fw.data[3].x is None, "a hidden spare trace keeps no data"
    sent.clear()
    replace_figure(fw, scatters(3), keep_slots=True)
    assert [k for k, _, _ in sent] == ["update"], "no addTraces: a spare trace is reused"
    assert [t.visible for t in fw.data] == [None, None, None, False] and list(fw.data[2].x) == [2]
    replace_figure(fw, scatters(1))          # without keep_slots, surplus traces go
    assert len(fw.data) == 1


GUARDED = textwrap.dedent("""
    from microlab.labs.base import Lab


    class Broken(Lab):
        def refresh(self):
            raise ValueError("no such setting")


    def test_unexpected():
        Broken().update()   # the lab catches it, to show it: the test must still fail


    def test_expected(lab_errors):
        Broken().update()
        assert lab_errors[0][1] == "ValueError: no such setting"
""")


def test_a_lab_error_fails_the_test_unless_the_test_asks_for_it(tmp_path):
    # Lab.update shows an error instead of raising (a learner must not see a traceback),
    # so the guard in conftest.py is what makes a broken lab fail its tests: test it.
    (tmp_path / "test_guarded.py").write_text(GUARDED)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:randomly",
                          "-o", "addopts=", str(tmp_path / "test_guarded.py")],
                         cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=300)
    # The guard fails the test as it tears down: pytest counts that as an error of it.
    assert run.returncode == 1 and "2 passed, 1 error" in run.stdout, run.stdout + run.stderr
    assert "ERROR" in run.stdout and "test_guarded.py::test_unexpected" in run.stdout
    assert "test_guarded.py::test_expected" not in run.stdout
    assert "Broken showed an error the test did not expect" in run.stdout
    assert "ValueError: no such setting" in run.stdout


def test_a_lab_figure_acknowledges_the_browsers_defaults_without_echo_or_merge():
    import plotly.graph_objects as go

    from microlab.labs.figure import LabFigure

    fw = LabFigure(go.Scatter(x=[1, 2], y=[3, 4]))
    for name in ("_js2py_traceDeltas", "_js2py_layoutDelta", "_js2py_restyle", "_js2py_relayout", "_js2py_update"):
        assert fw.trait_metadata(name, "echo_update") is False, name
    assert fw.trait_metadata("_js2py_pointsCallback", "echo_update") is None   # clicks keep plotly's own path
    sent = []

    class Comm:   # stands for the kernel's comm: records what would go to the browser
        kernel = True
        comm_id = "test-comm"

        def on_msg(self, callback):
            pass

        def close(self, *args, **kwargs):
            pass

        def send(self, data=None, metadata=None, buffers=None):
            sent.append(data)

    fw.comm = Comm()
    fw.data[0].y = [5, 6]                      # an edit: the browser will report its defaults
    assert fw._trace_edit_in_process
    uid = fw.data[0].uid
    sent.clear()
    fw.set_state({"_js2py_traceDeltas": {"trace_deltas": [{"uid": uid, "marker": {"color": "#636efa"}}],
                                         "trace_edit_id": fw._last_trace_edit_id}})
    assert not fw._trace_edit_in_process
    assert fw.data[0].marker.color is None, "the browser's default is not merged into the figure"
    assert not any(m.get("method") == "echo_update" for m in sent), sent
    assert fw._js2py_traceDeltas is None
    fw.comm = None


def test_every_lab_figure_is_a_lab_figure():
    from microlab import labs
    from microlab.labs.figure import LabFigure

    lab = labs.spof_lab()
    assert lab.figures and all(isinstance(fw, LabFigure) for fw in lab.figures.values())


def test_a_lab_figure_opens_with_a_small_loader_and_plotly_travels_once():
    from microlab.labs.figure import PLOTLY_WIDGET_JS, LabFigure, plotly_code

    one, two = LabFigure(figure([1, 2])), LabFigure(figure([3]))
    code = plotly_code()
    assert code.source == PLOTLY_WIDGET_JS.read_text(encoding="utf-8") and len(code.source) > 1_000_000
    for fw in (one, two):
        state = fw.get_state()
        # The browser needs these in the state the widget opens with, to load plotly's code.
        assert state["_plotly_code"] == f"IPY_MODEL_{code.model_id}" and state["_plotly_digest"] == code.digest
        assert len(state["_esm"]) < 5_000, "each figure carries the loader, not plotly's 5 MB module"
    code.close()
    assert plotly_code() is not code and plotly_code().comm is not None, "a closed code widget is made again"


def _figure_widgets(widget) -> list:
    """Every LabFigure in a widget tree, depth first."""
    from microlab.labs.figure import LabFigure

    if isinstance(widget, LabFigure):
        return [widget]
    return [fw for child in getattr(widget, "children", ()) for fw in _figure_widgets(child)]


LAB_CALLS = {
    "compare": lambda labs: labs.compare_patterns(),
    "explorer": lambda labs: labs.workflow_explorer(),
    "scrubber": lambda labs: labs.time_scrubber("choreography", "payment_crash"),
    "failure": lambda labs: labs.failure_lab(),
    "load": lambda labs: labs.load_lab(rates=(5, 20), orders=20),
    "spof": lambda labs: labs.spof_lab(),
    "change": lambda labs: labs.change_lab(),
    "first": lambda labs: labs.first_exchange(Pinger, Ponger),
}


@pytest.mark.parametrize("name", sorted(LAB_CALLS))
def test_a_lab_shows_exactly_the_figure_widgets_it_updates(name):
    from microlab import labs

    lab = LAB_CALLS[name](labs)
    shown = _figure_widgets(lab.root)
    # A figure replaced by another widget after the boxes were built would leave a closed
    # widget on the page ("Runtime not found" in JupyterLab) and updates going nowhere.
    assert shown and {id(fw) for fw in shown} == {id(fw) for fw in lab.figures.values()}
    assert all(fw.comm is not None for fw in shown), "no closed widget in the lab"
