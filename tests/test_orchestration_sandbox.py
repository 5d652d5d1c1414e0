"""Expressions in the sandbox: no host, no clock, no environment, bounded time and memory."""

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from microlab import System
from microlab.orchestration import Orchestrator, ToyWorker, execution, inline, jq, switch, workflow
from microlab.orchestration import model as m
from microlab.orchestration.expressions import ExpressionError, JavaScript, Jq
from microlab.orchestration.sandbox import shared

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture()
def js():
    return JavaScript(timeout=1.0)


def run(*defs, input=None, **kw):
    system = System(seed=1)
    orchestrator = system.add(Orchestrator(task_routes={"step": "w"}, **kw))
    system.add(ToyWorker("w"))
    orchestrator.register(*defs)
    orchestrator.start(defs[0].name, input or {}, correlation="tx")
    system.run()
    return execution(system, "tx")


# -- jq -----------------------------------------------------------------------------------------

def test_an_endless_jq_recursion_stops_at_the_time_limit_and_jq_still_works():
    engine = Jq(timeout=0.5)
    with pytest.raises(ExpressionError, match=r"'def f: f; f' failed: it ran longer than the time limit \(0.5 s\)"):
        engine.run("def f: f; f", {})
    assert engine.run(".a + 1", {"a": 1}) == [2]


def test_a_jq_query_that_grows_without_end_is_stopped_by_time_or_memory():
    engine = Jq(timeout=2.0)
    with pytest.raises(ExpressionError) as info:
        engine.run("[repeat(.)]", {"a": [1, 2, 3]})
    message = str(info.value)
    assert "'[repeat(.)]' failed" in message
    assert "time limit" in message or "MB" in message
    assert engine.run("length", [1, 2]) == [2]


def test_jq_sees_no_environment_and_no_host_clock(monkeypatch):
    monkeypatch.setenv("MICROLAB_SECRET", "hunter2")
    engine = Jq()
    assert engine.run("$ENV", {}) == [{}] and engine.run("env", {}) == [{}]
    assert engine.run("$ENV.MICROLAB_SECRET", {}) == [None]
    with pytest.raises(ExpressionError, match="now would read the host clock"):
        engine.run("now", {})
    with pytest.raises(ExpressionError, match="host time zone"):
        engine.run("0 | localtime", {})
    assert engine.run("0 | todate", {}) == ["1970-01-01T00:00:00Z"]  # pure date arithmetic stays


def test_jq_cannot_load_modules_or_files():
    with pytest.raises(ExpressionError, match=r"does not compile: jq: error: syntax error, unexpected include"):
        Jq().run('include "secrets"; .', {})


def test_jq_compile_errors_still_name_the_problem():
    with pytest.raises(ExpressionError, match=r"the jq query '\.a \|\|\|' does not compile: jq: error: syntax error"):
        Jq().run(".a |||", {})


# -- V8 -----------------------------------------------------------------------------------------

def test_an_invalid_size_abort_fails_the_evaluation_not_the_process():
    js = JavaScript(timeout=20)  # long enough on a busy machine: memory must be what stops it
    with pytest.raises(ExpressionError) as info:
        js.evaluate("'x'.repeat(2**28).split('')", {})
    assert "stopped the engine" in str(info.value) and "more memory" in str(info.value)
    assert js.evaluate("1 + 1", {}) == 2


def test_heap_exhaustion_is_a_clear_error():
    js = JavaScript(timeout=20)
    with pytest.raises(ExpressionError, match="more memory than the 256 MB"):
        js.evaluate("var a = []; while (true) a.push(new Array(1e5).fill(1.5)); 1", {})
    assert js.evaluate("$.n * 2", {"n": 4}) == 8


def test_heap_exhaustion_in_a_workflow_fails_the_task_and_names_it():
    wf = workflow("w").add(inline("grow", "var s = []; while (true) s.push('x'.repeat(1e6) + Math.PI); 1")).build()
    ex = run(wf, js_timeout=20)
    assert ex.status == m.FAILED
    assert "task grow (INLINE" in ex.reason and "256 MB" in ex.reason


def test_an_inline_cannot_change_what_a_later_switch_computes():
    poison = ("JSON.stringify = function () { return '\"hacked\"'; }; Array.prototype.indexOf = function () "
              "{ return 0; }; pick = function () { return 'hacked'; }; "
              "Object.defineProperty(globalThis, 'sticky', {value: 1}); 'done'")
    wf = (workflow("w").add(inline("poison", poison))
          .add(switch("route", javascript="typeof pick === 'undefined' && typeof sticky === 'undefined' && "
                                          "[1, 2].indexOf(2) === 1 ? 'clean' : 'dirty'",
                      cases={"clean": [inline("ok", "'clean'")], "dirty": [inline("bad", "'dirty'")]}))
          .build())
    ex = run(wf)
    assert ex.status == m.COMPLETED
    assert ex.task("route").output == {"evaluationResult": ["clean"], "selectedCase": "clean"}
    assert ex.task("ok").output == {"result": "clean"}


@pytest.mark.parametrize("source, error", [
    ("Temporal.Now.instant()", "ReferenceError: Temporal is not defined"),
    ("Intl.DateTimeFormat().format()", "ReferenceError: Intl is not defined"),
    ("setTimeout(function () {}, 0)", "TypeError: setTimeout is not a function"),
    ("Date.now()", "wall clock"),
    ("new Date().getTime()", "wall clock"),
    ("Math.random()", "unrepeatable"),
])
def test_host_time_and_timers_are_out_of_reach(js, source, error):
    with pytest.raises(ExpressionError) as info:
        js.evaluate(source, {})
    assert repr(source) in str(info.value) and error in str(info.value)


def test_a_value_that_is_not_json_is_a_clear_error(js):
    with pytest.raises(ExpressionError, match=r"gives a function, which is not JSON data; did you mean to call it"):
        js.evaluate("(function () { return 1; })", {})
    with pytest.raises(ExpressionError, match="gives a symbol"):
        js.evaluate("Symbol('x')", {})


@pytest.mark.parametrize("script, error", [
    ("(function () { return 1; })", "gives a function, which is not JSON data"),
    ("var x = 1;", "has the value undefined: its last statement gives no value"),
])
def test_an_inline_returning_a_function_or_undefined_fails_its_task(script, error):
    ex = run(workflow("w").add(inline("calc", script)).build())
    assert ex.status == m.FAILED
    assert ex.task("calc").status == m.FAILED and error in ex.task("calc").reason
    assert "task calc (INLINE" in ex.reason


def test_an_input_with_nan_is_refused_by_name(js):
    with pytest.raises(ExpressionError, match="NaN or Infinity"):
        js.evaluate("$.x", {"x": float("nan")})


# -- Interrupt ----------------------------------------------------------------------------------

def _interrupt_soon(seconds=0.4):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.parametrize("engine", ["js", "jq"])
def test_interrupt_stops_an_endless_evaluation_without_a_time_limit(engine):
    box = shared(engine)
    timer = _interrupt_soon()
    try:
        with pytest.raises(KeyboardInterrupt):
            if engine == "js":
                JavaScript(timeout=None).evaluate("while (true) {}", {})
            else:
                Jq(timeout=None).run("def f: f; f", {})
    finally:
        timer.cancel()
    assert box._proc is None  # the child, in an unknown state, was killed
    if engine == "js":
        assert JavaScript().evaluate("2 + 3", {}) == 5
    else:
        assert Jq().run(". + 3", 2) == [5]


# -- exit -----------------------------------------------------------------------------------------

def test_no_cli_run_that_used_expressions_hangs_at_exit(tmp_path):
    wf = {"name": "calc", "version": 1, "schemaVersion": 2, "tasks": [
        {"name": "inline", "taskReferenceName": "add", "type": "INLINE",
         "inputParameters": {"evaluatorType": "javascript", "expression": "$.a + 1", "a": 1}},
        {"name": "jq", "taskReferenceName": "count", "type": "JSON_JQ_TRANSFORM",
         "inputParameters": {"queryExpression": ".n + 1", "n": 1}}]}
    path = tmp_path / "calc.json"
    path.write_text(json.dumps(wf))
    env = {**os.environ, "PYTHONPATH": ROOT}
    for _ in range(5):
        done = subprocess.run([sys.executable, "-m", "microlab", "run", str(path), "--json"], env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "COMPLETED"
