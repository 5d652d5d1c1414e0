"""The differential comparison's bookkeeping, without a server: reruns of a disagreeing
case, and the report naming what still differs (tests/real_conductor runs it for real)."""

from __future__ import annotations

from microlab.real import conformance
from microlab.real.conformance import Case, report, run_cases, run_simulated

WF = {"name": "conf_unit", "version": 1, "schemaVersion": 2,
      "tasks": [{"name": "t", "taskReferenceName": "t", "type": "SIMPLE", "inputParameters": {}}]}
DEFS = [{"name": "t", "retryCount": 0, "retryLogic": "FIXED", "retryDelaySeconds": 0}]


def _fake_server(monkeypatch, answers):
    """run_real_many answering each call with the next executions (case name -> execution)."""
    calls = []

    def fake(cases, api, **kw):
        calls.append(([c.name for c in cases], kw.get("tag", "")))
        return answers[len(calls) - 1]

    monkeypatch.setattr(conformance, "run_real_many", fake)
    return calls


def test_a_case_that_agrees_on_a_rerun_agrees_and_keeps_its_first_differences(monkeypatch):
    case = Case("c1", [WF], task_defs=DEFS)
    failed = run_simulated(Case("c1", [WF], fails={"t": None}, task_defs=DEFS))
    same = run_simulated(case)
    calls = _fake_server(monkeypatch, [{"c1": failed}, {"c1": same}])
    [out] = run_cases([case], api=None)
    assert out.agrees and out.runs == 2
    assert any("status: microlab COMPLETED, Conductor FAILED" in d for d in out.first_differences)
    assert calls == [(["c1"], ""), (["c1"], "-rerun1")]
    assert "agreed on a rerun (1" in report([out])


def test_a_case_no_rerun_matches_stays_a_named_disagreement(monkeypatch):
    case = Case("c2", [WF], task_defs=DEFS)
    failed = run_simulated(Case("c2", [WF], fails={"t": None}, task_defs=DEFS))
    _fake_server(monkeypatch, [{"c2": failed}] * 3)
    [out] = run_cases([case], api=None, reruns=2)
    assert not out.agrees and out.runs == 3
    text = report([out])
    assert "c2" in text and "none of 3 real runs agreed" in text
    assert "all                         0      1" in text


def test_a_rejected_definition_is_not_rerun(monkeypatch):
    calls = _fake_server(monkeypatch, [{"c3": "DefinitionRejected: tasks[0].name: bad"}])
    [out] = run_cases([Case("c3", [WF], task_defs=DEFS)], api=None)
    assert not out.agrees and "DefinitionRejected" in out.error and len(calls) == 1
