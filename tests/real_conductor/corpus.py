"""Generated differential cases: hypothesis strategies over the Conductor features microlab
models, drawn derandomized (the same cases every run, so a failure reproduces).

Every case is a main workflow (plus, when drawn, a sub-workflow and a failure workflow),
an input, and a toy plan: what each SIMPLE task returns and how many of its first
attempts fail. Task definitions come from a small shared pool (:data:`TASK_DEFS`), the
same on both sides, with retries FIXED, LINEAR_BACKOFF and EXPONENTIAL_BACKOFF.
``features`` names what a case exercises, for the per-feature agreement table.
"""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from microlab.real.conformance import Case

#: The shared task definitions (name -> retry settings); retries are quick on purpose.
TASK_DEFS = [
    {"name": "w_plain", "retryCount": 0, "retryLogic": "FIXED", "retryDelaySeconds": 0},
    {"name": "w_fixed", "retryCount": 2, "retryLogic": "FIXED", "retryDelaySeconds": 0},
    {"name": "w_linear", "retryCount": 2, "retryLogic": "LINEAR_BACKOFF", "retryDelaySeconds": 1,
     "backoffScaleFactor": 1},
    {"name": "w_exp", "retryCount": 2, "retryLogic": "EXPONENTIAL_BACKOFF", "retryDelaySeconds": 1},
]
for _d in TASK_DEFS:
    _d.update(responseTimeoutSeconds=30, timeoutSeconds=0, timeoutPolicy="TIME_OUT_WF")
RETRY_FEATURE = {"w_plain": None, "w_fixed": "retry FIXED", "w_linear": "retry LINEAR_BACKOFF",
                 "w_exp": "retry EXPONENTIAL_BACKOFF"}


class _Builder:
    """Collects refs, outputs, failures and features while one case's tasks are drawn."""

    def __init__(self, draw, prefix: str = ""):
        self.draw = draw
        self.prefix = prefix
        self.count = 0
        self.simple_refs: list = []
        self.outputs: dict = {}
        self.fails: dict = {}
        self.features: set = set()

    def ref(self, kind: str) -> str:
        self.count += 1
        return f"{self.prefix}{kind}{self.count}"

    def wiring(self, in_loop: bool = False) -> dict:
        draw = self.draw
        params = {}
        for key in draw(st.lists(st.sampled_from(["input", "nested", "output", "deep", "variable", "literal"]),
                                 min_size=0, max_size=3, unique=True)):
            if key == "input":
                params["x"] = "${workflow.input.x}"
                self.features.add("wiring workflow.input")
            elif key == "nested":
                params["d"] = "${workflow.input.nested.deep}"
                self.features.add("wiring nested path")
            elif key in ("output", "deep") and self.simple_refs and not in_loop:
                source = draw(st.sampled_from(self.simple_refs))
                params[key] = f"${{{source}.output.y}}" if key == "output" else f"${{{source}.output.obj.deep}}"
                self.features.add("wiring task output" if key == "output" else "wiring nested path")
            elif key == "variable":
                params["z"] = "${workflow.variables.z}"
                self.features.add("wiring workflow.variables")
            elif key == "literal":
                params["lit"] = draw(st.sampled_from([1, "one", True, [1, 2]]))
        return params

    def simple(self, *, in_loop: bool = False, may_fail: bool = True) -> dict:
        draw = self.draw
        name = draw(st.sampled_from([d["name"] for d in TASK_DEFS]))
        ref = self.ref("s")
        task = {"name": name, "taskReferenceName": ref, "type": "SIMPLE", "inputParameters": self.wiring(in_loop)}
        self.features.add("SIMPLE")
        if RETRY_FEATURE[name]:
            self.features.add(RETRY_FEATURE[name])
        if draw(st.booleans()):
            self.outputs[ref] = {"y": self.count, "obj": {"deep": f"v{self.count}"}}
            self.features.add("SIMPLE outputs")
        if may_fail and not in_loop and draw(st.integers(0, 4)) == 0:
            self.fails[ref] = draw(st.sampled_from([1, 2, None]))
            self.features.add("worker failures")
        if draw(st.integers(0, 5)) == 0:
            task["optional"] = True
            self.features.add("optional")
        if not in_loop:
            self.simple_refs.append(ref)
        return task

    def switch(self, depth: int) -> dict:
        draw = self.draw
        kind = draw(st.sampled_from(["value", "javascript", "decision"]))
        ref = self.ref("sw")
        cases = {"a": self.tasks(depth + 1, 1, 2), "b": self.tasks(depth + 1, 0, 2)}
        default = self.tasks(depth + 1, 1, 2) if draw(st.booleans()) else []
        self.features.add("SWITCH default" if default else "SWITCH no default")
        if kind == "decision":
            self.features.add("DECISION")
            return {"name": "decide", "taskReferenceName": ref, "type": "DECISION", "caseValueParam": "c",
                    "inputParameters": {"c": "${workflow.input.choice}"}, "decisionCases": cases,
                    "defaultCase": default}
        if kind == "value":
            self.features.add("SWITCH value-param")
            return {"name": "switch", "taskReferenceName": ref, "type": "SWITCH", "evaluatorType": "value-param",
                    "expression": "c", "inputParameters": {"c": "${workflow.input.choice}"},
                    "decisionCases": cases, "defaultCase": default}
        self.features.add("SWITCH javascript")
        return {"name": "switch", "taskReferenceName": ref, "type": "SWITCH", "evaluatorType": "javascript",
                "expression": "$.n > 2 ? 'a' : ($.n > 0 ? 'b' : 'zero')", "inputParameters": {"n": "${workflow.input.n}"},
                "decisionCases": cases, "defaultCase": default}

    def fork(self, depth: int) -> list:
        draw = self.draw
        ref = self.ref("fork")
        branches = [self.tasks(depth + 1, 1, 2, in_fork=True) for _ in range(draw(st.integers(2, 3)))]
        self.features.add("FORK_JOIN nested" if depth > 0 else "FORK_JOIN")
        join = {"name": "join", "taskReferenceName": ref + "_join", "type": "JOIN",
                "joinOn": [b[-1]["taskReferenceName"] for b in branches]}
        return [{"name": "fork", "taskReferenceName": ref, "type": "FORK_JOIN", "forkTasks": branches}, join]

    def loop(self) -> dict:
        draw = self.draw
        ref = self.ref("loop")
        times = draw(st.integers(1, 3))
        body = [self.simple(in_loop=True) for _ in range(draw(st.integers(1, 2)))]
        self.features.add("DO_WHILE")
        return {"name": "loop", "taskReferenceName": ref, "type": "DO_WHILE",
                "inputParameters": {"times": times},
                "loopCondition": f"if ($.{ref}['iteration'] < $.times) {{ true; }} else {{ false; }}",
                "loopOver": body}

    def system_task(self) -> dict:
        draw = self.draw
        kind = draw(st.sampled_from(["SET_VARIABLE", "INLINE", "JSON_JQ_TRANSFORM"]))
        self.features.add(kind)
        ref = self.ref(kind.lower()[:3])
        if kind == "SET_VARIABLE":
            return {"name": "set", "taskReferenceName": ref, "type": "SET_VARIABLE",
                    "inputParameters": {"z": draw(st.sampled_from(["${workflow.input.x}", "fixed", 7]))}}
        if kind == "INLINE":
            return {"name": "inline", "taskReferenceName": ref, "type": "INLINE",
                    "inputParameters": {"evaluatorType": "javascript", "a": "${workflow.input.n}",
                                        "expression": "(function () { return $.a * 10 + 1; })()"}}
        return {"name": "jq", "taskReferenceName": ref, "type": "JSON_JQ_TRANSFORM",
                "inputParameters": {"v": "${workflow.input.n}", "queryExpression": "{doubled: (.v * 2), tag: \"jq\"}"}}

    def tasks(self, depth: int, low: int, high: int, *, in_fork: bool = False) -> list:
        draw = self.draw
        out: list = []
        for _ in range(draw(st.integers(low, high))):
            choices = ["simple", "simple", "system"]
            if depth < 2:
                choices += ["switch", "fork"]
            if depth == 0:
                choices += ["loop", "sub", "terminate"]
            kind = draw(st.sampled_from(choices))
            if kind == "simple":
                out.append(self.simple())
            elif kind == "system":
                out.append(self.system_task())
            elif kind == "switch":
                out.append(self.switch(depth))
            elif kind == "fork":
                out.extend(self.fork(depth))
            elif kind == "loop":
                out.append(self.loop())
            elif kind == "sub":
                self.features.add("SUB_WORKFLOW")
                out.append({"name": "sub", "taskReferenceName": self.ref("sub"), "type": "SUB_WORKFLOW",
                            "subWorkflowParam": {"name": "<sub>", "version": 1},
                            "inputParameters": {"x": "${workflow.input.x}"}})
            elif kind == "terminate" and not in_fork:
                status = draw(st.sampled_from(["COMPLETED", "FAILED"]))
                self.features.add("TERMINATE")
                out.append({"name": "terminate", "taskReferenceName": self.ref("term"), "type": "TERMINATE",
                            "inputParameters": {"terminationStatus": status,
                                                "workflowOutput": {"why": "${workflow.input.x}"}}})
                break                       # nothing after a TERMINATE ever runs
        if not out and low > 0:
            out.append(self.simple())
        return out


@st.composite
def cases(draw):
    """One generated :class:`Case` (named later by :func:`generated_cases`)."""
    b = _Builder(draw)
    tasks = b.tasks(0, 1, 4)
    main = {"name": "<main>", "version": 1, "schemaVersion": 2, "tasks": tasks}
    workflows = [main]
    if draw(st.booleans()):
        out = {}
        for ref in b.simple_refs[:2]:
            out[f"o_{ref}"] = f"${{{ref}.output.y}}"
        if "SET_VARIABLE" in b.features:
            out["z"] = "${workflow.variables.z}"
        out["x"] = "${workflow.input.x}"
        main["outputParameters"] = out
        b.features.add("outputParameters")
    if "SUB_WORKFLOW" in b.features:
        sub = _Builder(draw, prefix="u")
        workflows.append({"name": "<sub>", "version": 1, "schemaVersion": 2,
                          "tasks": [sub.simple(may_fail=True) for _ in range(draw(st.integers(1, 2)))],
                          "outputParameters": {"got": "${workflow.input.x}"}})
        b.outputs.update(sub.outputs)
        b.fails.update(sub.fails)
    if draw(st.integers(0, 2)) == 0:
        main["failureWorkflow"] = "<fail>"
        b.features.add("failure workflow")
        workflows.append({"name": "<fail>", "version": 1, "schemaVersion": 2,
                          "tasks": [{"name": "w_plain", "taskReferenceName": "undo", "type": "SIMPLE",
                                     "inputParameters": {"failed": "${workflow.input.workflowId}",
                                                         "x": "${workflow.input.x}"}}],
                          "outputParameters": {"x": "${workflow.input.x}",
                                               "status": "${workflow.input.failureStatus}"}})
    inp = {"x": draw(st.sampled_from(["hello", "order-7"])), "n": draw(st.integers(0, 4)),
           "choice": draw(st.sampled_from(["a", "b", "c"])), "nested": {"deep": "d"}}
    return Case("", workflows, inp, b.outputs, b.fails, [dict(d) for d in TASK_DEFS], frozenset(b.features))


def _named(case: Case, i: int) -> Case:
    names = {"<main>": f"gen{i:03d}", "<sub>": f"gen{i:03d}_sub", "<fail>": f"gen{i:03d}_fail"}

    def rename(value):
        if isinstance(value, dict):
            return {k: rename(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rename(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    return Case(f"gen{i:03d}", rename(case.workflows), case.input, case.outputs, case.fails, case.task_defs,
                case.features)


@functools.lru_cache(maxsize=4)
def _generated(count: int) -> tuple:
    return tuple(_draw(count))


def generated_cases(count: int = 320) -> list[Case]:
    """``count`` cases, the same ones on every run (hypothesis, derandomized; drawn once)."""
    return list(_generated(count))


def _draw(count: int) -> list[Case]:
    """``count`` distinct cases, the same ones on every run (hypothesis, derandomized).

    Drawing stops at ``count`` distinct cases (a repeated draw is skipped, not counted).
    """
    seen: set = set()
    unique: list = []

    @settings(max_examples=count * 4, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)
    @given(cases())
    def collect(case):
        if len(unique) >= count:
            return
        key = repr((case.workflows, case.input, case.outputs, case.fails))
        if key not in seen:
            seen.add(key)
            unique.append(case)

    collect()
    return [_named(c, i) for i, c in enumerate(unique)]
