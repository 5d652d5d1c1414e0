"""Differential conformance: the same definitions and worker behaviour in the simulator and
on a real Conductor server, and what differs.

A :class:`Case` is workflow JSON (main first), task definitions, an input and a toy
plan (outputs and failures per task reference). :func:`run_cases` runs many cases at
once on one server (one set of polling workers, plans kept per correlation id) and each
in the simulator, and :func:`compare` lists the differences between the two executions:

- the workflow's status and output;
- the set of scheduled task references, and the order constraints between them (each
  task is scheduled after the task before it in its list ended; a JOIN ends after the
  branches of its fork);
- each task's status and retry count (of its last attempt);
- the failure workflow started, with its input fields, and recursively the same for
  failure workflows and sub-workflows.

Timing is not compared, except for order. Ids (workflow and task ids, which differ by
construction) are replaced by placeholders before outputs are compared. A case agrees
when the list is empty (for one of up to three real runs: see :func:`run_cases`);
:func:`agreement` tallies agreement per feature.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from ..orchestration.execution import Execution
from .client import ConductorAPI
from .run import RealRun, prepare, read_all, simple_names, walk
from .workers import PollingWorkers, ToyPlan

TERMINAL = ("COMPLETED", "FAILED", "TIMED_OUT", "TERMINATED")
#: Task statuses of a JOIN that joined, and of a branch task it waited for that ended well.
JOINED = ("COMPLETED", "COMPLETED_WITH_ERRORS")


@dataclass
class Case:
    """One differential test: definitions, task definitions, input and toy plan."""

    name: str
    workflows: list
    input: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    fails: dict = field(default_factory=dict)
    task_defs: list = field(default_factory=list)
    features: frozenset = frozenset()


@dataclass
class Outcome:
    """A case's two executions and their differences (``error``: a side that did not run)."""

    case: Case
    sim: Execution | None = None
    real: Execution | None = None
    differences: list = field(default_factory=list)
    error: str | None = None
    #: Real runs made (a disagreeing case is run again: see :func:`run_cases`).
    runs: int = 1
    #: The first real run's differences when a later run agreed (Conductor's outcome varied).
    first_differences: list = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        """Both ran and nothing differs."""
        return self.error is None and not self.differences


# -- the simulator side ------------------------------------------------------------------------

def run_simulated(case: Case) -> Execution:
    """The case in the simulator (no latency: order is all that is compared)."""
    from ..orchestration.conductor import load_task_defs
    from ..orchestration.toyrun import run_toy
    defs = load_task_defs(prepare(case.workflows, case.task_defs)[1]) if case.task_defs else {}
    run = run_toy(case.workflows, case.input, fail=dict(case.fails), outputs=dict(case.outputs),
                  task_defs=defs, latency=0.0)
    return run.execution


# -- the real side ---------------------------------------------------------------------------

def run_real_many(cases, api: ConductorAPI, *, timeout: float = 30.0, batch: int = 60, tag: str = "") -> dict:
    """Run ``cases`` on the server ``api`` talks to, ``batch`` at a time; returns
    ``{case name: Execution or error text}``. A workflow still running after ``timeout``
    seconds is taken as it stands (RUNNING: stuck, as the simulator can be too), then
    terminated. ``tag`` tells the correlation ids of a rerun from the first run's."""
    results: dict = {}
    workers = PollingWorkers(api)
    try:
        for start in range(0, len(cases), batch):
            runs = {}
            for case in cases[start:start + batch]:
                try:
                    workflows, defs = prepare(case.workflows, case.task_defs)
                    api.register(workflows, defs)
                    correlation = f"conf-{case.name}{tag}"
                    workers.plan(correlation, ToyPlan(outputs=dict(case.outputs), fails=dict(case.fails)))
                    workers.serve(simple_names(workflows))
                    wf_id = api.start(workflows[0]["name"], case.input, version=workflows[0].get("version"),
                                      correlation=correlation)
                    runs[case.name] = RealRun(api.url, wf_id, correlation, workflows)
                except Exception as exc:   # a rejected definition is a result, not a crash
                    results[case.name] = f"{type(exc).__name__}: {exc}"
            deadline = time.monotonic() + timeout
            pending = dict(runs)
            while pending and time.monotonic() < deadline:
                for name, run in list(pending.items()):
                    if read_all(api, run):
                        results[name] = run.execution
                        del pending[name]
                time.sleep(0.2)
            for name, run in pending.items():
                results[name] = run.execution
                api.terminate(run.workflow_id, "microlab conformance: no end in time")
    finally:
        workers.stop()
    return results


def run_cases(cases, api: ConductorAPI, *, reruns: int = 2, **kw) -> list[Outcome]:
    """Every case on the real server (concurrently) and in the simulator, compared.

    A real run is not deterministic: when branches run at once, what the others did
    before one failed, or whether a JOIN saw a failure before the decider retried it,
    depends on timing on the server. So a case that disagrees runs again on the server,
    up to ``reruns`` more times, and agrees if one of Conductor's executions equals the
    simulator's (the first run's differences stay in ``first_differences``, for the
    report). The simulator is deterministic and runs once.
    """
    cases = list(cases)
    real = run_real_many(cases, api, **kw)
    outcomes = []
    for case in cases:
        out = Outcome(case)
        try:
            out.sim = run_simulated(case)
        except Exception as exc:
            out.error = f"simulator: {type(exc).__name__}: {exc}"
        found = real.get(case.name)
        if isinstance(found, str) or found is None:
            out.error = (out.error + "; " if out.error else "") + f"real: {found}"
        else:
            out.real = found
        if out.sim is not None and out.real is not None:
            out.differences = compare(out.sim, out.real, case.workflows)
        outcomes.append(out)
    for attempt in range(1, reruns + 1):
        again = {o.case.name: o for o in outcomes if o.error is None and o.differences}
        if not again:
            break
        more = run_real_many([o.case for o in again.values()], api, tag=f"-rerun{attempt}", **kw)
        for name, out in again.items():
            out.runs += 1
            found = more.get(name)
            if isinstance(found, str) or found is None:
                continue
            if not compare(out.sim, found, out.case.workflows):
                out.first_differences, out.differences, out.real = out.differences, [], found
    return outcomes


# -- comparing ---------------------------------------------------------------------------------

def _ids(ex: Execution) -> dict:
    names: dict = {}
    for e in ex.walk():
        names.setdefault(e.workflow_id, f"<workflow {e.name}>")
        for t in e.tasks:
            names.setdefault(t.task_id, f"<task {t.reference_task_name}>")
    return names


def normalize(value, ids: dict, reasons: dict):
    """``value`` with ids and failure reasons replaced by placeholders (for comparing)."""
    if isinstance(value, dict):
        return {k: normalize(v, ids, reasons) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v, ids, reasons) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        if value in ids:
            return ids[value]
        if value in reasons:
            return reasons[value]
    return value


def _reasons(ex: Execution) -> dict:
    out = {}
    for e in ex.walk():
        if e.reason:
            out[e.reason] = "<reason>"
        for t in e.tasks:
            if t.reason:
                out[t.reason] = "<reason>"
    return out


def _last(ex: Execution) -> dict:
    last: dict = {}
    for t in ex.tasks:
        last[t.reference_task_name] = t
    return last


def compare(sim: Execution, real: Execution, workflows=None, where: str = "", _names=None) -> list[str]:
    """What differs between a simulated and a real execution of the same case (see the module).

    Ids and failure reasons anywhere in the case (main, sub- and failure workflows)
    become placeholders; a number compares by value (Conductor's JavaScript gives 21.0
    where microlab's gives 21); a RUNNING workflow's output of None equals ``{}``.
    """
    diffs: list[str] = []
    at = where or sim.name
    if _names is None:
        _names = (_ids(sim), _ids(real), _reasons(sim), _reasons(real))
    s_ids, r_ids, s_rs, r_rs = _names
    if sim.status != real.status:
        diffs.append(f"{at}: status: microlab {sim.status}, Conductor {real.status}")
    s_out, r_out = normalize(sim.output or {}, s_ids, s_rs), normalize(real.output or {}, r_ids, r_rs)
    if _canon(s_out) != _canon(r_out):
        diffs.append(f"{at}: output: microlab {_canon(s_out)}, Conductor {_canon(r_out)}")
    s_last, r_last = _last(sim), _last(real)
    if set(s_last) != set(r_last):
        only_s, only_r = sorted(set(s_last) - set(r_last)), sorted(set(r_last) - set(s_last))
        diffs.append(f"{at}: tasks scheduled: only microlab {only_s}, only Conductor {only_r}")
    for ref in sorted(set(s_last) & set(r_last)):
        a, b = s_last[ref], r_last[ref]
        if a.status != b.status:
            diffs.append(f"{at}.{ref}: status: microlab {a.status}, Conductor {b.status}")
        if a.retry_count != b.retry_count:
            diffs.append(f"{at}.{ref}: retry count: microlab {a.retry_count}, Conductor {b.retry_count}")
    definition = _definition(workflows, sim.name)
    if definition is not None:
        s_bad, r_bad = order_violations(sim, definition), order_violations(real, definition)
        if s_bad != r_bad:
            diffs.append(f"{at}: order: microlab breaks {sorted(s_bad)}, Conductor breaks {sorted(r_bad)}")
    s_fw, r_fw = sim.failure_workflow, real.failure_workflow
    if (s_fw is None) != (r_fw is None):
        diffs.append(f"{at}: failure workflow: microlab {s_fw.name if s_fw else 'none'}, "
                     f"Conductor {r_fw.name if r_fw else 'none'}")
    elif s_fw is not None:
        if s_fw.name != r_fw.name:
            diffs.append(f"{at}: failure workflow: microlab {s_fw.name}, Conductor {r_fw.name}")
        s_keys, r_keys = sorted((s_fw.input or {})), sorted((r_fw.input or {}))
        if s_keys != r_keys:
            diffs.append(f"{at}: failure workflow input fields: microlab {s_keys}, Conductor {r_keys}")
        for key in ("failureStatus",):
            if (s_fw.input or {}).get(key) != (r_fw.input or {}).get(key):
                diffs.append(f"{at}: failure workflow input {key}: microlab {(s_fw.input or {}).get(key)}, "
                             f"Conductor {(r_fw.input or {}).get(key)}")
        diffs.extend(compare(s_fw, r_fw, workflows, f"{at}>failure:{s_fw.name}", _names))
    s_subs = {(_parent_ref(sim, x)): x for x in sim.sub_workflows}
    r_subs = {(_parent_ref(real, x)): x for x in real.sub_workflows}
    for ref in sorted(set(s_subs) & set(r_subs)):
        diffs.extend(compare(s_subs[ref], r_subs[ref], workflows, f"{at}>{ref}", _names))
    return diffs


def _parent_ref(ex: Execution, sub: Execution) -> str:
    for t in ex.tasks:
        if t.task_id == sub.parent_task:
            return t.reference_task_name
    return sub.name


def _canon(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _definition(workflows, name):
    for w in workflows or []:
        if w.get("name") == name:
            return w
    return None


def order_violations(ex: Execution, definition: dict) -> set:
    """Order constraints of ``definition`` that ``ex`` breaks (as ``"a<b"`` strings).

    ``a<b``: in a task list, ``b`` (next after ``a``) was first scheduled only after
    ``a``'s last attempt was scheduled, in the execution's scheduling order.
    ``branch<join``: a JOIN that joined (ended COMPLETED or COMPLETED_WITH_ERRORS) ended no
    earlier than the last task of each branch, when that ended well too.
    """
    position: dict = {}
    first: dict = {}
    for i, t in enumerate(ex.tasks):
        first.setdefault(t.reference_task_name, i)
        position[t.reference_task_name] = (i, t)
    bad: set = set()
    # Loop bodies repeat with __N names: their order is not checked as one list.
    for seq in _all_lists(definition.get("tasks"), loops=False):
        refs = [t.get("taskReferenceName") for t in seq]
        for a, b in zip(refs, refs[1:]):
            if a in position and b in first and first[b] < position[a][0]:
                bad.add(f"{a}<{b}")
    for t in walk(definition.get("tasks")):
        if t.get("type") != "FORK_JOIN":
            continue
        for branch in t.get("forkTasks") or []:
            if not branch:
                continue
            last = branch[-1].get("taskReferenceName")
            for join in _joins_after(definition, t):
                if last in position and join in position:
                    j, last_t = position[join][1], position[last][1]
                    if j.status not in JOINED or last_t.status not in JOINED:
                        continue    # a canceled JOIN or branch ended when the workflow did
                    if j.end is not None and last_t.end is not None and j.end < last_t.end:
                        bad.add(f"{last}<{join}")
    return bad


def _joins_after(definition: dict, fork: dict) -> list[str]:
    for seq in _all_lists(definition.get("tasks")):
        for i, t in enumerate(seq):
            if t is fork and i + 1 < len(seq) and seq[i + 1].get("type") == "JOIN":
                return [seq[i + 1].get("taskReferenceName")]
    return []


def _all_lists(tasks, loops: bool = True):
    """Every task list of a definition: the top one, each SWITCH case, each FORK branch and
    (``loops``) each DO_WHILE body, depth first."""
    yield tasks or []
    for t in tasks or []:
        for case in (t.get("decisionCases") or {}).values():
            yield from _all_lists(case, loops)
        yield from _all_lists(t.get("defaultCase") or [], loops)
        for branch in t.get("forkTasks") or []:
            yield from _all_lists(branch, loops)
        if loops:
            yield from _all_lists(t.get("loopOver") or [], loops)


# -- reporting ---------------------------------------------------------------------------------

def agreement(outcomes) -> dict:
    """Feature -> (cases agreeing, cases), plus ``"all"``."""
    table: dict = {}
    for out in outcomes:
        for feature in set(out.case.features) | {"all"}:
            agree, total = table.get(feature, (0, 0))
            table[feature] = (agree + int(out.agrees), total + 1)
    return dict(sorted(table.items()))


def report(outcomes, title: str = "conformance") -> str:
    """A table of agreement per feature, then every disagreement (case: differences)."""
    lines = [f"{title}: agreement with Conductor per feature", f"  {'feature':<22} {'agree':>6} {'cases':>6}  rate"]
    for feature, (agree, total) in agreement(outcomes).items():
        lines.append(f"  {feature:<22} {agree:>6} {total:>6}  {100.0 * agree / total:5.1f}%")
    varied = [o for o in outcomes if o.agrees and o.first_differences]
    if varied:
        lines.append(f"agreed on a rerun ({len(varied)}; Conductor's own execution varied with timing):")
        for o in varied:
            lines.append(f"  {o.case.name} [{', '.join(sorted(o.case.features))}] run {o.runs}; first run:")
            for d in o.first_differences:
                lines.append(f"    {d}")
    bad = [o for o in outcomes if not o.agrees]
    if bad:
        lines.append(f"disagreements ({len(bad)}):")
        for o in bad:
            lines.append(f"  {o.case.name} [{', '.join(sorted(o.case.features))}]")
            for d in ([o.error] if o.error else []) + o.differences:
                lines.append(f"    {d}")
            if o.runs > 1:
                lines.append(f"    (none of {o.runs} real runs agreed; the first one's differences above)")
    return "\n".join(lines)
