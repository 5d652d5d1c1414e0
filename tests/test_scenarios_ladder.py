"""The fair ladder and the message kinds: each rung adds its knobs, each kind is counted once."""

import pytest

from microlab import scenarios
from microlab.scenarios import KnobError
from microlab.scenarios.ladder import FAIR_LADDER, KINDS, format_ladder

LOAD = dict(orders=60, arrival_rate=20)


def test_each_rung_keeps_the_knobs_below_it_and_runs_the_fight_with_them():
    rows = scenarios.fair_ladder(**LOAD)
    assert [r["step"] for r in rows] == [label for label, _ in FAIR_LADDER]
    for below, above in zip(rows, rows[1:]):
        assert set(below["knobs"]) <= set(above["knobs"])
    last = rows[-1]
    fight = scenarios.compare(patterns=scenarios.PATTERNS, **LOAD, **last["knobs"])
    assert last["p50"] == {p: fight.rows[p]["p50"] for p in scenarios.PATTERNS}
    assert last["winner"] == fight.winner("latency")


def test_the_ladder_moves_orchestration_only_and_flips_the_winner():
    rows = scenarios.fair_ladder(**LOAD)
    chor = {r["p50"]["choreography"] for r in rows}
    assert len(chor) == 1   # no rung's knob concerns choreography
    orch = [r["p50"]["orchestration"] for r in rows]
    assert orch[1] < orch[0] and orch[2] < orch[1]   # push, then a faster orchestrator
    assert rows[0]["winner"] == "choreography" and rows[-1]["winner"] == "orchestration"


def test_a_ladder_step_that_is_not_a_label_and_knobs_is_refused_by_position():
    with pytest.raises(KnobError, match="step 1"):
        scenarios.fair_ladder(steps=[("a", {}), {"dispatch": "push"}], **LOAD)
    with pytest.raises(KnobError, match="at least one step"):
        scenarios.fair_ladder(steps=[], **LOAD)


def test_format_ladder_prints_a_rung_per_line_with_its_winner():
    rows = scenarios.fair_ladder(steps=FAIR_LADDER[:2], **LOAD)
    lines = format_ladder(rows).splitlines()
    assert len(lines) == 3 and lines[1].startswith(FAIR_LADDER[0][0])
    assert lines[2].endswith(rows[1]["winner"] or "tie")


@pytest.mark.parametrize("pattern", scenarios.ALL_PATTERNS)
def test_the_kinds_add_up_to_every_message_counted(pattern):
    result = scenarios.order_saga(pattern, **LOAD)
    kinds = scenarios.message_kinds(result)
    assert sum(kinds[k] for k in KINDS) == pytest.approx(kinds["all"])
    assert kinds["all"] == pytest.approx(result.metrics["messages_per_transaction"])


def test_confirms_are_the_outboxs_and_the_no_confirms_count_leaves_exactly_them_out():
    chor = scenarios.order_saga("choreography", **LOAD)
    kinds = scenarios.message_kinds(chor)
    assert kinds["confirms"] > 0 and kinds["acks"] > 0 and kinds["receipts"] == 0
    fewer = scenarios.order_saga("choreography", count_messages="no-confirms", **LOAD)
    assert fewer.metrics["messages_per_transaction"] == pytest.approx(kinds["all"] - kinds["confirms"])
    assert scenarios.message_kinds(scenarios.order_saga("choreography", outbox=False, **LOAD))["confirms"] == 0
    orch = scenarios.message_kinds(scenarios.order_saga("orchestration", **LOAD))
    assert orch["confirms"] == 0 and orch["receipts"] > 0
