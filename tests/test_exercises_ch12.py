"""Exercise checks of notebook 12: right answers pass, typical wrong ones get the intended hint."""

import itertools

from microlab import scenarios
from microlab.exercises import ch12, feedback

SAFE = {"add_field": "producer-first", "rename": "consumer-first", "split": "consumer-first"}
RIGHT_ORDER = ["deploy workers that serve the new task", "register workflow version 2",
               "wait until no version 1 instance runs", "retire what only version 1 needed"]


def test_right_answers_pass():
    up = scenarios.upgrade_workflow("worker-first", at=ch12.UPGRADE_AT)
    ones = sum(1 for v in up.versions().values() if v == 1)
    assert ch12.check_version_count(ones).passed
    assert ch12.check_deploy_orders(SAFE).passed
    assert ch12.check_rollout(RIGHT_ORDER).passed


def test_version_count_hints_nudge_before_they_reveal():
    feedback._TRIES.clear()
    up = scenarios.upgrade_workflow("worker-first", at=ch12.UPGRADE_AT)
    ones = sum(1 for v in up.versions().values() if v == 1)
    assert up.in_flight(ch12.UPGRADE_AT)   # else "ended before" and the answer would coincide
    ended = ones - len(up.in_flight(ch12.UPGRADE_AT))
    first = ch12.check_version_count(ended).message
    assert "still running" in first and "up.versions()" not in first
    ch12.check_version_count(ended)
    assert "up.versions()" in ch12.check_version_count(ended).message
    assert "whole number" in ch12.check_version_count("seventeen").message
    assert not ch12.check_version_count(len(up.result.correlations)).passed


def test_deploy_order_hints_name_what_broke():
    feedback._TRIES.clear()
    wrong_rename = dict(SAFE, rename="producer-first")
    message = ch12.check_deploy_orders(wrong_rename).message
    assert "published to nobody" in message and "subscribe to the new name" not in message
    wrong_field = dict(SAFE, add_field="consumer-first")
    assert "dead-lettered" in ch12.check_deploy_orders(wrong_field).message
    assert "split too" in ch12.check_deploy_orders({"add_field": "producer-first", "rename": "consumer-first"}).message
    assert "not a deploy order" in ch12.check_deploy_orders(dict(SAFE, split="both")).message


def test_only_the_one_rollout_order_passes_and_each_wrong_one_gets_a_hint():
    passing = [list(p) for p in itertools.permutations(ch12.ROLLOUT) if ch12.check_rollout(list(p)).passed]
    assert passing == [RIGHT_ORDER]
    feedback._TRIES.clear()
    workflow_first = [RIGHT_ORDER[1], RIGHT_ORDER[0], *RIGHT_ORDER[2:]]
    message = ch12.check_rollout(workflow_first).message
    assert "before its worker" in message and "deploy the workers first" not in message
    assert "each of the four steps" in ch12.check_rollout(["deploy", "register"]).message
    # The cell starts from ch12.ROLLOUT as it is: shown, untried, and every step out of place.
    untouched = ch12.check_rollout(list(ch12.ROLLOUT))
    assert not untouched.attempted and all(step in untouched.message for step in ch12.ROLLOUT)
    assert all(a != b for a, b in zip(ch12.ROLLOUT, RIGHT_ORDER))


def test_a_deploy_order_dict_left_at_none_is_unanswered():
    assert not ch12.check_deploy_orders({"add_field": None, "rename": None, "split": None}).attempted
    assert ch12.check_deploy_orders({"add_field": "producer-first", "rename": None, "split": None}).attempted


def test_the_chapters_prose_quotes_what_its_cells_compute():
    from tests.course_text import before_exercises

    from microlab.scenarios import evolution

    text = " ".join(" ".join(before_exercises("12_evolving", "markdown")).split())
    up = scenarios.upgrade_workflow("worker-first", at=1.5, gap=0.5)
    ones = sum(1 for v in up.versions().values() if v == 1)
    assert f"{ones} orders ran version 1 and {len(up.versions()) - ones} version 2" in text
    assert f"`{next(iter(up.in_flight(1.5)))}`, was in flight" in text and len(up.in_flight(1.5)) == 1
    p50 = up.latency_by_version()
    assert f"({p50[2]['p50'] * 1000:.0f} ms against {p50[1]['p50'] * 1000:.0f} ms)" in text
    late = scenarios.upgrade_workflow("workflow-first", at=1.5, gap=1.5).latency_by_version()[2]
    assert f"grew to {late['p50'] * 1000:.0f} ms" in text and f"took {late['max'] * 1000:.0f} ms" in text
    rows = {(r["change"], r["deploy"]): r for r in evolution.schema_table()}
    renamed = rows[("rename", "producer-first")]
    assert f"{renamed['stuck']} orders are stuck" in text
    assert f"Shipping first strands {rows[('add_field', 'consumer-first')]['stuck']} orders" in text
    assert f"dead-lettered ({rows[('add_field', 'consumer-first')]['dead_lettered']})" in text
    assert f"strands {rows[('split', 'producer-first')]['stuck']} orders each time" in text
    assert rows[("rename", "producer-first")]["stuck"] == rows[("split", "producer-first")]["stuck"]
    assert f"({rows[('split', 'consumer-first')]['unheard']} events with the safe order)" in text
    assert f"all {up.result.checks.counts()['completed']} completed" in text
    late_run = scenarios.upgrade_workflow("workflow-first", at=1.5, gap=1.5)
    assert f"the fraud worker comes 1.5 s later (t = {late_run.deploys['fraud worker']:g} s)" in text
    assert f"the checker counts {late_run.result.checks.counts()['completed']} completed" in text


def test_the_chapters_orchestrated_rename_quotes_what_its_cell_computes():
    from tests.course_text import before_exercises

    from microlab.scenarios import evolution

    text = " ".join(" ".join(before_exercises("12_evolving", "markdown")).split())
    # The setup the prose describes is the one the cell runs.
    ev = evolution.rename_task("worker-first", gap=1.0)
    assert ev.deploys == {"payment v2": 0.5, "workflow v2": 1.5} and len(ev.result.correlations) == 30
    assert "Version 2 is registered at t = 1.5 s, and payment's new version goes out 1 s before it" in text
    rows = {(r["deploy"], r["poll_timeout_seconds"]): r for r in evolution.rename_table(poll_timeouts=(0, 0.3), gap=1.0)}
    first = rows[("worker-first", 0)]
    assert first["stuck"] == 0 and first == dict(rows[("worker-first", 0.3)], poll_timeout_seconds=0)
    assert f"all {first['completed']} orders complete; version 2's median latency is {first['p50'] * 1000:.0f} ms" in text
    late = rows[("workflow-first", 0)]
    assert late["stuck"] == 0 and late["compensated"] == 0 and late["completed"] == 30
    assert (f"version 2's median grew to {late['p50'] * 1000:.0f} ms and its slowest order took "
            f"{late['max'] * 1000:.0f} ms") in text
    timed = rows[("workflow-first", 0.3)]
    assert timed["poll_timeouts"] == timed["compensated"]
    assert (f"{timed['poll_timeouts']} tasks timed out unpolled" in text
            and f"the saga compensated {timed['compensated']} orders; {timed['completed']} completed" in text)
    assert "poll timeout of 0.3 s" in text
