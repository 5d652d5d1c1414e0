"""Expressions inside definitions: JavaScript in an embedded V8, and jq.

Conductor evaluates SWITCH/DECISION ``javascript`` expressions, INLINE scripts, LAMBDA
bodies and DO_WHILE loop conditions as JavaScript with ``$`` bound to the task's input;
JSON_JQ_TRANSFORM runs a jq query over the task's input. microlab does the same with an
embedded V8 engine (the ``mini-racer`` package) and the ``jq`` package. A learner's
expression is never handed to Python's ``eval``.

An expression that does not parse or throws makes the task FAIL; the reason quotes the
expression. ``Math.random`` and ``Date`` are switched off inside the engine: they would
make a run unrepeatable (randomness belongs to workers, drawn from ``self.random``).

Each call into V8 costs about 0.15 ms of real time (not simulated time), so value-param
SWITCHes are the cheap choice in big runs; jq costs about 10 microseconds.
"""

from __future__ import annotations

import json
import threading
import re

from ..errors import MicrolabError


class ExpressionError(MicrolabError):
    """A JavaScript expression or jq query failed; the message quotes it."""


_PRELUDE = r"""
Math.random = function () {
  throw new Error("Math.random() would make the run unrepeatable; draw random numbers in a worker (self.random)");
};
Date = function () {
  throw new Error("Date would read the wall clock; the simulation's time is workflow or task input");
};
function __microlab_eval(__input, __source) {
  var $ = JSON.parse(__input);
  var __result = eval(__source);
  return __result === undefined ? "null" : JSON.stringify(__result);
}
"""

_ERROR_LINE = re.compile(r"^\s*(\w*Error): (.*)$", re.M)


class JavaScript:
    """An embedded V8 context for Conductor's ``javascript`` expressions, created on first use.

    ``timeout`` bounds one evaluation in real seconds: it only catches endless loops
    (such an evaluation fails the task), and never affects a run that finishes in time.
    """

    def __init__(self, timeout: float = 1.0):
        self.timeout = timeout
        self._context = None

    def _ctx(self):
        if self._context is None:
            from py_mini_racer import MiniRacer  # imported on first use: it starts V8

            # mini-racer adopts the asyncio loop running where the context is created; in
            # a Jupyter kernel that is the kernel's own loop, and evaluations with a
            # timeout then fail or deadlock. Created in a thread without a loop, the
            # context runs on a loop of its own, wherever it is called from.
            box: dict = {}
            thread = threading.Thread(target=lambda: box.setdefault("ctx", MiniRacer()),
                                      name="microlab-javascript")
            thread.start()
            thread.join()
            self._context = box["ctx"]
            self._context.eval(_PRELUDE)
        return self._context

    def evaluate(self, source: str, bindings: dict, what: str = "expression"):
        """Evaluate ``source`` with ``$`` bound to ``bindings``; the value of its last statement."""
        if not isinstance(source, str) or not source.strip():
            raise ExpressionError(f"the javascript {what} is empty: give it an expression such as "
                                  "\"$.amount > 100 ? 'big' : 'small'\"")
        ctx = self._ctx()
        call = f"__microlab_eval({json.dumps(json.dumps(bindings, default=repr))}, {json.dumps(source)})"
        try:
            text = self._eval(ctx, call)
        except Exception as exc:  # mini-racer's JSEvalException, JSTimeoutException, ...
            raise ExpressionError(f"the javascript {what} {source!r} failed: {_js_error(exc)}") from None
        return json.loads(text)

    def _eval(self, ctx, code: str):
        if self.timeout is None:
            return ctx.eval(code)
        return ctx.eval(code, timeout_sec=self.timeout)

    def function_body(self, body: str, bindings: dict, what: str = "scriptExpression"):
        """Run ``body`` as the body of a function (Conductor's LAMBDA) and return what it returns."""
        return self.evaluate(f"function scriptFun() {{ {body} \n}} scriptFun();", bindings, what)

    def close(self) -> None:
        """Free the V8 context (a new one is made if used again)."""
        if self._context is not None:
            close = getattr(self._context, "close", None)
            if close is not None:
                close()
            self._context = None


def _js_error(exc: Exception) -> str:
    text = str(exc)
    if "timeout" in type(exc).__name__.lower() or "timed out" in text.lower():
        return "it ran longer than the time limit; does it loop forever?"
    found = _ERROR_LINE.findall(text)
    if found:
        kind, message = found[-1]
        return f"{kind}: {message.strip()}"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def truthy(value) -> bool:
    """How Conductor reads a loop condition's value: a boolean, or a number above zero."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value > 0
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return False


class Jq:
    """jq queries (the ``jq`` package), compiled once per query text."""

    def __init__(self):
        self._programs: dict = {}

    def run(self, query: str, data) -> list:
        """All the values ``query`` produces from ``data``."""
        program = self._programs.get(query)
        if program is None:
            if not isinstance(query, str) or not query.strip():
                raise ExpressionError("JSON_JQ_TRANSFORM needs inputParameters.queryExpression, "
                                      "a jq query such as '.items | length'")
            import jq  # imported on first use
            try:
                program = jq.compile(query)
            except ValueError as exc:
                raise ExpressionError(f"the jq query {query!r} does not compile: {_jq_error(exc)}") from None
            self._programs[query] = program
        try:
            return program.input_value(data).all()
        except ValueError as exc:
            raise ExpressionError(f"the jq query {query!r} failed: {_jq_error(exc)}") from None


def _jq_error(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
