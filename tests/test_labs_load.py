"""The load lab: a point per rate and pattern, the current rate marked, the sweep cached."""

import pytest

from microlab import scenarios
from microlab.labs.load import SERVICE_WORKERS, load_lab
from microlab.scenarios import KnobError

SMALL = dict(rates=(10, 40, 90), orders=40)


def test_the_curve_has_a_point_per_rate_and_pattern():
    lab = load_lab(**SMALL)
    assert lab.error is None
    assert [(r["pattern"], r["rate"]) for r in lab.curve] == [
        (p, r) for p in scenarios.PATTERNS for r in (10, 40, 90)]
    fig = lab.figures["saturation"]
    lines = {t.name: list(t.x) for t in fig.data if t.mode == "lines+markers" and t.xaxis in (None, "x")}
    assert lines == {"orchestration": [10, 40, 90], "choreography": [10, 40, 90]}
    assert "microlab-lab-load" in lab.root._dom_classes


def test_the_current_rate_is_marked_and_measured_by_a_run_at_that_rate():
    lab = load_lab(**SMALL)
    lab.controls["rate"].value = 70
    stars = [t for t in lab.figures["saturation"].data if t.name and t.name.endswith(" now")]
    assert sorted(t.name for t in stars) == ["choreography now", "orchestration now"]
    assert all(list(t.x) == [70] for t in stars)
    for pattern, run in lab.run.items():
        assert run.knobs.arrival_rate == 70 and len(run.correlations) == 40
        star = next(t for t in stars if t.name == f"{pattern} now")
        assert star.y[0] == pytest.approx(run.metrics["throughput"])
    assert [s["x0"] for s in lab.figures["saturation"].layout.shapes] == [70, 70]


def test_the_orchestrator_is_the_bottleneck_and_workers_move_the_knee():
    lab = load_lab(rate=90, **SMALL)
    one = lab.point["orchestration"]
    assert one["busiest"] == "orchestrator" and one["utilization"] > 0.8
    assert lab.point["choreography"]["throughput"] > one["throughput"]
    assert lab.run["orchestration"].knobs.workers == {
        **{s: SERVICE_WORKERS for s in ("order", "inventory", "payment", "shipping", "notification")},
        "orchestrator": 1}
    lab.controls["workers"].value = 3
    assert lab.run["orchestration"].knobs.workers["orchestrator"] == 3
    assert lab.point["orchestration"]["throughput"] > one["throughput"]
    assert "orchestration completes" in lab.message.value


def test_the_sweep_runs_once_per_setting_with_progress(monkeypatch):
    calls, seen = [], []
    real = scenarios.sweep

    def counting(*args, **kw):
        calls.append(kw["workers"]["orchestrator"])
        return real(*args, **kw)

    monkeypatch.setattr(scenarios, "sweep", counting)
    lab = load_lab(**SMALL)
    lab.progress.observe(lambda change: seen.append(change["new"]), names="value")
    lab.controls["rate"].value = 50          # no new sweep: only the point moves
    lab.controls["workers"].value = 2        # a new sweep, with the progress bar
    lab.controls["workers"].value = 1        # cached
    assert calls == [1, 2]
    assert seen[:6] == [0, 1, 2, 3, 4, 5] or set(range(1, 7)) <= set(seen)
    assert lab.progress.layout.visibility == "hidden"


def test_an_interrupted_sweep_is_shown_partly_and_not_kept(monkeypatch):
    real = scenarios.run
    count = {"n": 0}

    def interrupting(*args, **kw):
        count["n"] += 1
        if count["n"] == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(scenarios, "run", interrupting)
    lab = load_lab(**SMALL)
    assert len(lab.curve) == 2
    assert "Sweep interrupted" in lab.message.value
    monkeypatch.setattr(scenarios, "run", real)
    lab.controls["rate"].value = 30
    assert len(lab.curve) == 6 and "interrupted" not in lab.message.value


def test_bad_settings_are_refused():
    with pytest.raises(KnobError, match="rates must be a non-empty list"):
        load_lab(rates=())
    with pytest.raises(KnobError, match="workers must be between 1 and 4"):
        load_lab(workers=9, **SMALL)


def test_table_and_curve_use_the_same_latency_unit():
    from microlab.labs.load import curve_unit, point_html
    lab = load_lab(rates=(10, 40), orders=20)
    unit = curve_unit(lab.figures["saturation"])
    assert unit in ("ms", "s") and f"latency ({unit}" in lab.figures["saturation"].layout.yaxis2.title.text
    assert f" {unit}</td>" in lab.table.value
    row = {"pattern": "orchestration", "rate": 1, "throughput": 1.0, "p50": 2.5, "p95": 3.25,
           "busiest": "orchestrator", "utilization": 0.5}
    assert "2.50 s" in point_html({"orchestration": row}, "s") and "3,250 ms" in point_html({"orchestration": row})
    with pytest.raises(ValueError, match="unit must be 'ms' or 's'"):
        point_html({"orchestration": row}, "minutes")


def test_the_fair_fight_toggles_reach_the_runs_and_the_sweep():
    from microlab.distributions import Exponential
    from microlab.labs.load import FAIR_KNOBS

    lab = load_lab(rate=40, **SMALL)
    slow = lab.point["orchestration"]["p50"]
    assert lab.run["orchestration"].knobs.dispatch == "poll"
    lab.controls["dispatch"].value = "push"
    lab.controls["orchestrator_work_time"].value = "0.5 ms (the broker's)"
    run = lab.run["orchestration"]
    assert run.knobs.dispatch == "push" and run.knobs.orchestrator_work_time == Exponential(0.0005)
    assert lab.point["orchestration"]["p50"] < slow
    assert all(r["rate"] in SMALL["rates"] for r in lab.curve) and len(lab._curves) == 3
    assert set(FAIR_KNOBS) <= set(lab.controls)


def test_the_fair_fight_toggles_refuse_an_unknown_knob_or_label():
    with pytest.raises(KnobError, match="no knob 'broker'"):
        load_lab(broker="fast", **SMALL)
    with pytest.raises(KnobError, match="notification must be one of"):
        load_lab(notification="sometimes", **SMALL)


def test_a_rate_seen_before_is_redrawn_from_kept_runs_with_the_same_numbers(monkeypatch):
    lab = load_lab(**SMALL)
    lab.controls["rate"].value = 70
    first = dict(lab.point)
    lab.controls["rate"].value = 20
    calls = []
    real = scenarios.order_saga
    monkeypatch.setattr(scenarios, "order_saga", lambda *a, **k: calls.append(k) or real(*a, **k))
    lab.controls["rate"].value = 70
    assert calls == [] and lab.point == first
    lab.controls["seed"].value = 2          # another setting: simulated again
    assert len(calls) >= 2
