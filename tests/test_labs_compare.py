"""The compare lab: the toggle picks the runs, the sliders reach the scenario, the table follows."""

import pytest

from microlab.labs.compare import BOTH, CompareLab, compare_patterns
from microlab.scenarios import KnobError


def test_side_by_side_runs_both_patterns_on_the_same_orders():
    lab = compare_patterns()
    assert lab.error is None
    assert set(lab.run) == {"orchestration", "choreography"}
    assert lab.run["orchestration"].arrivals == lab.run["choreography"].arrivals
    assert "orchestrator" in lab.run["orchestration"].system.services
    assert "broker" in lab.run["choreography"].system.services
    for pattern in lab.run:
        assert len(lab.figures[f"sequence_{pattern}"].data) > 0
        assert lab.figures[f"sequence_{pattern}"].layout.title.text.lower().startswith(pattern)
    assert "star" in lab.figures["topology"].layout.title.text
    assert "microlab-lab-compare" in lab.root._dom_classes


def test_toggle_to_one_pattern_runs_only_that_one_and_empties_the_other_diagram():
    lab = compare_patterns()
    lab.controls["pattern"].value = "choreography"
    assert list(lab.run) == ["choreography"]
    assert len(lab.figures["sequence_orchestration"].data) == 0
    assert "not selected" in lab.figures["sequence_orchestration"].layout.title.text
    assert lab.figures["topology"].layout.title.text.startswith("Choreography")
    assert [row["metric"] for row in lab.metrics][0] == "latency p50"
    assert "orchestration" not in lab.metrics[0]


def test_sliders_reach_the_scenario():
    lab = compare_patterns(pattern="orchestration")
    lab.controls["orders"].value = 7
    assert len(lab.run["orchestration"].correlations) == 7
    before = lab.run["orchestration"].metrics["latency_p50"]
    lab.controls["latency_ms"].value = 80.0
    after = lab.run["orchestration"].metrics["latency_p50"]
    assert lab.run["orchestration"].knobs.latency.median == pytest.approx(0.08)
    assert after > before + 0.3   # ten hops or so, each about 75 ms slower
    digest = lab.run["orchestration"].trace.digest()
    lab.controls["seed"].value = 2
    assert lab.run["orchestration"].trace.digest() != digest


def test_table_shows_each_metric_for_each_pattern():
    lab = compare_patterns()
    keys = [row["key"] for row in lab.metrics]
    assert keys == ["latency_p50", "latency_p95", "messages_per_transaction", "hops_per_transaction",
                    "success_rate"]
    for row in lab.metrics:
        for pattern, result in lab.run.items():
            assert row[pattern] == result.metrics[row["key"]]
    assert "messages per transaction" in lab.table.value and "100%" in lab.table.value
    # choreography sends more messages per order (events go through the broker)
    per = {r["key"]: r for r in lab.metrics}["messages_per_transaction"]
    assert per["choreography"] > per["orchestration"]


def test_same_settings_same_runs():
    a, b = compare_patterns(seed=4), compare_patterns(seed=4)
    for pattern in a.run:
        assert a.run[pattern].trace.digest() == b.run[pattern].trace.digest()


def test_bad_settings_are_refused_with_the_range():
    with pytest.raises(KnobError, match="orders must be between 1 and 60"):
        compare_patterns(orders=500)
    with pytest.raises(KnobError, match="pattern must be one of orchestration, choreography, side by side"):
        CompareLab(pattern="conductor")


def test_an_error_in_a_run_shows_in_the_lab(monkeypatch, lab_errors):
    lab = compare_patterns()
    lab.controls["latency_ms"].value = 0.5
    assert lab.error is None
    monkeypatch.setattr(lab, "settings", lambda: (_ for _ in ()).throw(KnobError("latency (ms) must be positive")))
    lab.controls["orders"].value = 3
    assert lab.error == "latency (ms) must be positive"
    assert "Could not run this" in lab.message.value

    assert lab_errors and all('latency (ms) must be positive' in text for _, text, _ in lab_errors)   # only the expected error

def test_every_rerunning_control_waits_for_release():
    lab = CompareLab()
    for name, control in lab.controls.items():
        if hasattr(control, "continuous_update"):
            assert control.continuous_update is False, name
    assert lab.controls["pattern"].value == BOTH


def test_diagrams_draw_one_order_by_default_and_all_on_request():
    lab = compare_patterns()
    pick = lab.controls["order"]
    assert pick.value == "order-1" and list(pick.options)[-1] == "all orders"
    digest = lab.run["orchestration"].trace.digest()
    one = lab.figures["sequence_orchestration"]
    n_one = sum(len(t.x) for t in one.data)
    assert "order-1" in one.layout.title.text
    pick.value = "all orders"
    n_all = sum(len(t.x) for t in lab.figures["sequence_orchestration"].data)
    assert n_all > 5 * n_one                                     # ten orders' arrows
    assert lab.run["orchestration"].trace.digest() == digest     # redrawn, not re-run
    lab.controls["orders"].value = 3
    assert list(pick.options) == ["order-1", "order-2", "order-3", "all orders"]
    assert pick.value == "order-1"
