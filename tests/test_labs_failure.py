"""The failure lab: buttons add faults to the plan, switches reach the run, the verdict follows."""

import pytest

from microlab.labs.failure import ANY, failure_lab
from microlab.scenarios import KnobError
from microlab.trace import CRASH, RESTART


def crashes(result):
    return [(r.service, r.time) for r in result.trace.of_kind(CRASH)]


def test_default_run_has_no_fault_and_is_consistent():
    lab = failure_lab()
    assert lab.error is None and len(lab.plan) == 0
    assert lab.run.checks.ok and "Consistent" in lab.message.value
    assert "no faults" in lab.plan_text.value
    assert lab.focus is None
    assert "microlab-lab-failure" in lab.root._dom_classes


def test_crash_it_crashes_the_chosen_service_at_the_chosen_time():
    lab = failure_lab()
    c = lab.controls
    # At t=1 payment holds a task it polled: the crash loses it (the other orders' tasks
    # wait in their queue until payment polls again; under polling nothing is sent to it).
    c["service"].value, c["at"].value, c["duration"].value = "payment", 1.0, 2.0
    c["crash"].click()
    assert crashes(lab.run) == [("payment", 1.0)]
    assert [(r.service, r.time) for r in lab.run.trace.of_kind(RESTART)] == [("payment", 3.0)]
    assert "crash payment at t=1 for 2 s" in lab.plan_text.value
    # the orchestrator's retry carries that order through (response timeout); it is drawn
    assert lab.run.checks.ok
    assert lab.focus is not None
    assert str(lab.focus) in lab.figures["transaction"].layout.title.text
    c["clear"].click()
    assert crashes(lab.run) == [] and len(lab.plan) == 0


def test_choreography_without_idempotency_double_charges_and_the_verdict_turns():
    lab = failure_lab(pattern="choreography")
    c = lab.controls
    c["duplicate"].value, c["target"].value = 0.3, "payment"
    assert lab.run.checks.ok
    c["idempotent"].value = False
    assert not lab.run.checks.ok
    assert "NOT consistent" in lab.message.value and "#b2182b" in lab.message.value
    first = lab.run.checks.violations[0]
    assert first.check == "effect applied twice"
    assert lab.focus == first.correlation
    assert lab.figures["transaction"].layout.title.text.startswith(f"Transaction {first.correlation}")


def test_broker_outage_without_outbox_gets_orders_stuck():
    lab = failure_lab(pattern="choreography", outbox=False)
    c = lab.controls
    c["service"].value, c["at"].value, c["duration"].value = "broker", 0.5, 2.0
    c["crash"].click()
    assert crashes(lab.run) == [("broker", 0.5)]
    assert lab.run.checks.counts()["stuck"] > 0
    c["outbox"].value = True
    assert lab.run.checks.ok


def test_switching_pattern_maps_the_central_service_and_greys_out_foreign_switches():
    lab = failure_lab()
    c = lab.controls
    c["service"].value = "orchestrator"
    assert c["outbox"].disabled and not c["standby"].disabled
    c["pattern"].value = "choreography"
    assert c["service"].value == "broker" and "orchestrator" not in c["service"].options
    assert c["standby"].disabled and not c["outbox"].disabled
    assert lab.run.pattern == "choreography"


def test_a_crash_of_a_service_the_pattern_lacks_is_explained(lab_errors):
    lab = failure_lab(pattern="choreography")
    c = lab.controls
    c["service"].value = "broker"
    c["crash"].click()
    c["pattern"].value = "orchestration"
    assert "crashes 'broker', which orchestration does not have" in lab.error
    c["clear"].click()
    assert lab.error is None

    assert lab_errors and all('which orchestration does not have' in text for _, text, _ in lab_errors)   # only the expected error

def test_overlapping_crashes_are_refused_and_the_plan_is_kept(lab_errors):
    lab = failure_lab()
    c = lab.controls
    c["crash"].click()
    c["crash"].click()
    assert "already down" in lab.error
    assert len(lab.crashes) == 1 and len(lab.plan) == 1

    assert lab_errors and all('already down' in text for _, text, _ in lab_errors)   # only the expected error

def test_partition_and_message_faults_enter_the_plan():
    lab = failure_lab()
    c = lab.controls
    c["service"].value = "shipping"
    c["partition"].value = True
    c["drop"].value = 0.1
    assert [type(f).__name__ for f in lab.plan] == ["Partition", "Drop"]
    assert lab.plan.faults[1].destination is None and c["target"].value == ANY
    assert lab.run.trace.of_kind("drop")
    c["clear"].click()
    assert not c["partition"].value and c["drop"].value == 0 and len(lab.plan) == 0


def test_compensation_off_leaves_stock_held():
    # Payment's workers poll: a crash only delays its tasks (they wait in their queue), so
    # lost messages are what exhaust the retries here.
    lab = failure_lab(retries=1)
    c = lab.controls
    c["drop"].value, c["target"].value = 0.3, "payment"
    assert lab.run.checks.counts()["compensated"] > 0 and lab.run.checks.ok
    c["compensation"].value = False
    assert "not atomic" in {v.check for v in lab.run.checks.violations}


def test_a_fault_after_the_last_order_is_pointed_out():
    lab = failure_lab()
    c = lab.controls
    c["at"].value, c["duration"].value = 5.0, 0.5
    c["crash"].click()
    assert "disturbed nothing" in lab.message.value


def test_bad_settings_are_refused():
    with pytest.raises(KnobError, match="retries must be between 0 and 3"):
        failure_lab(retries=5)
    with pytest.raises(KnobError, match="idempotent is a switch"):
        failure_lab(idempotent="yes")


def test_zero_retries_let_a_compensation_time_out_too():
    # Half the messages to payment are lost, the refund's too: with no retry, the failure
    # workflow's refund times out and the stock is never released.
    lab = failure_lab(retries=0)
    c = lab.controls
    c["drop"].value, c["target"].value = 0.5, "payment"
    assert lab.run.checks.counts()["inconsistent"] > 0
    title = lab.figures["transaction"].layout.title
    assert "never undone by 'release'" in title.subtitle.text.replace("<br>", " ")


def test_with_nothing_to_single_out_the_whole_run_is_drawn_once():
    lab = failure_lab()
    assert lab.focus is None
    single = lab.figures["transaction"]
    assert sum(len(t.x) for t in single.data) == 0 and single.layout.title.text == "No transaction to single out"
    assert "drawn below" in single.layout.annotations[0].text
    assert len(lab.figures["sequence"].data) > 0


def test_partition_switch_has_a_short_label_and_a_tooltip():
    c = failure_lab().controls["partition"]
    assert len(c.description) <= 20 and "partition" in c.tooltip
