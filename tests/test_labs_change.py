"""The change lab: the impact bars, the definitions before/after and the growth chart follow the chosen change."""

import pytest

from microlab import scenarios
from microlab.errors import MicrolabError
from microlab.labs.change import ChangeLab, change_lab, view_change


def bars(lab):
    """Existing definitions edited, by pattern, as the impact figure draws them."""
    return {trace.name: trace.y[0] for trace in lab.figures["impact"].data}


def test_default_lab_draws_the_fraud_check_impact_per_pattern():
    lab = change_lab()
    assert isinstance(lab, ChangeLab) and lab.error is None
    impact = scenarios.change_impact("fraud_check")
    assert bars(lab) == {p: impact[p].existing_definitions_changed for p in scenarios.PATTERNS}
    # The fraud check is cheaper to make under orchestration: the lab says so.
    assert bars(lab)["orchestration"] < bars(lab)["choreography"]
    assert "cheaper under orchestration" in lab.message.value
    assert "microlab-lab-change" in lab.root._dom_classes


def test_picking_analytics_flips_the_verdict_and_the_before_after_view():
    lab = change_lab()
    lab.controls["change"].value = "analytics"
    assert lab.error is None and lab.run.change == "analytics"
    assert bars(lab)["choreography"] == 0 < bars(lab)["orchestration"]
    assert "cheaper under choreography" in lab.message.value
    assert lab.figures["impact"].data[0].x[0] == scenarios.CHANGES["analytics"]
    # The orchestrator's workflow gains a task; no choreographed service is edited.
    assert "tell_analytics" in lab.definitions.value
    assert "edited</b>" not in lab.definitions.value.split("<b>Choreography</b>")[1]


def test_fraud_check_marks_the_edited_choreography_services():
    view = view_change("fraud_check")
    assert view.edited("choreography") == sorted(view.impact["choreography"].changed_services)
    lab = change_lab("fraud_check")
    chor = lab.definitions.value.split("<b>Choreography</b>")[1]
    for service in view.edited("choreography"):
        row = chor.split(f"<code>{service}</code>")[1].split("</tr>")[0]
        assert "edited" in row
    assert "FraudCleared" in chor


def test_growth_chart_marks_the_order_saga_before_and_after_the_change():
    lab = change_lab("fraud_check")
    fig = lab.figures["growth"]
    marks = {t.name: (t.x[0], t.y[0]) for t in fig.data if str(t.marker.symbol).startswith("star")}
    sizes = lab.run.sizes
    # Like for like: the line's services each have an undo, so the saga is placed at its steps
    # with an undo (3: inventory, payment, shipping), where it sits on the one-workflow line.
    assert marks["order saga now"] == (3, sizes["before"]["largest"]) == (3, 7)
    line = {t.name: dict(zip(t.x, t.y)) for t in fig.data if t.mode == "lines+markers"}["one workflow"]
    assert line[3] == 7
    # The fraud check has no compensation: the largest definition does not grow, though the
    # workflow calls one more service; the star does not move, and the lab says why.
    assert marks["order saga after the change"] == (3, 7)
    assert sizes["after"]["task_names"] == sizes["before"]["task_names"] + 1
    assert "step to undo" in lab.message.value and "no compensation" in lab.message.value


def test_sliders_change_the_growth_series():
    lab = change_lab()
    lab.controls["split_every"].value = 2
    lab.controls["max_services"].value = 8
    assert lab.error is None
    lines = {t.name: t for t in lab.figures["growth"].data if t.mode == "lines+markers"}
    assert set(lines) == {"one workflow", "split into sub-workflows of 2"}
    assert list(lines["one workflow"].x) == list(range(1, 9))
    # Split, the largest definition an engineer reads grows slower than one workflow.
    assert lines["split into sub-workflows of 2"].y[-1] < lines["one workflow"].y[-1]


def test_an_impossible_combination_shows_a_message_in_the_lab(lab_errors):
    lab = change_lab()
    lab.controls["split_every"].value = 6
    lab.controls["max_services"].value = 4
    assert lab.error is not None and "steps per sub-workflow" in lab.error
    assert "Could not run this" in lab.message.value
    lab.controls["max_services"].value = 12
    assert lab.error is None

    assert lab_errors and all('steps per sub-workflow' in text for _, text, _ in lab_errors)   # only the expected error

def test_unknown_change_is_named():
    with pytest.raises(MicrolabError, match="unknown change 'fraud'.*fraud_check"):
        change_lab("fraud")


@pytest.mark.parametrize("change", list(scenarios.CHANGES))
def test_view_agrees_with_scenarios_change_impact(change):
    view = view_change(change)
    expected = scenarios.change_impact(change, patterns=scenarios.PATTERNS)
    assert {p: i.as_dict() for p, i in view.impact.items()} == {p: i.as_dict() for p, i in expected.items()}


def test_impact_chart_is_full_width_above_the_definitions():
    import ipywidgets as widgets
    lab = change_lab()
    body = lab.layout()
    assert lab.figures["impact"] in body.children            # not squeezed into a half-width column
    assert not any(isinstance(w, widgets.HBox) and lab.figures["impact"] in getattr(w, "children", ())
                   for w in body.children)
    ticks = lab.figures["impact"].layout.xaxis.ticktext[0]
    assert "<br>" in ticks and ticks.replace("<br>", " ") == scenarios.CHANGES["fraud_check"]
