"""Expressions inside definitions: JavaScript in an embedded V8, and jq, in a sandbox.

Conductor evaluates SWITCH/DECISION ``javascript`` expressions, INLINE scripts, LAMBDA
bodies and DO_WHILE loop conditions as JavaScript with ``$`` bound to the task's input;
JSON_JQ_TRANSFORM runs a jq query over the task's input. microlab does the same with V8
(the ``mini-racer`` package) and the ``jq`` package, both in a child process
(:mod:`~microlab.orchestration.sandbox`). A learner's expression is never handed to
Python's ``eval``.

What an expression can reach: its input (``$`` or ``.``) and the language's own
built-ins, nothing else. No environment (jq's ``$ENV`` and ``env`` are empty), no host
clock (``Date``, ``Temporal``, ``Intl``, jq's ``now`` and ``localtime`` fail with a
reason), no timers, no files or modules, no randomness (``Math.random`` fails: workers
draw from ``self.random``). Each evaluation starts clean: the built-ins are frozen, and
any global an evaluation makes is gone before the next one, so an INLINE cannot change
what a later SWITCH computes. Each evaluation has a time limit (``timeout`` seconds, 1 by
default), and a memory bound (a 256 MB V8 heap; 1 GB of address space for jq).

An expression that does not parse, throws, runs too long, runs out of memory, or
produces something that is not JSON (a function, a symbol) makes its task FAIL; the
reason quotes the expression and says which of these happened.

Each call costs a round trip to the child process, about 0.2-0.5 ms of real time (not
simulated time) for a small input, so value-param SWITCHes are the cheap choice in big
runs.
"""

from __future__ import annotations

import json
import re

from ..errors import MicrolabError
from .sandbox import SandboxError, shared


class ExpressionError(MicrolabError):
    """A JavaScript expression or jq query failed; the message quotes it."""


_ERROR_LINE = re.compile(r"^\s*(\w*Error): (.*)$", re.M)
_JS_HEAP_MB = 256
_JQ_MEMORY_MB = 1024


class JavaScript:
    """Conductor's ``javascript`` expressions, evaluated in the sandbox's V8.

    ``timeout`` bounds one evaluation in real seconds (None: no limit, but Interrupt
    still stops it): it only catches endless loops (such an evaluation fails the task),
    and never affects a run that finishes in time.
    """

    def __init__(self, timeout: float | None = 1.0):
        self.timeout = timeout

    def evaluate(self, source: str, bindings: dict, what: str = "expression", allow_undefined: bool = True):
        """Evaluate ``source`` with ``$`` bound to ``bindings``; the value of its last statement.

        ``allow_undefined=False`` makes an ``undefined`` value a failure (an INLINE must
        produce a result); otherwise it reads as None.
        """
        if not isinstance(source, str) or not source.strip():
            raise ExpressionError(f"the javascript {what} is empty: give it an expression such as "
                                  "\"$.amount > 100 ? 'big' : 'small'\"")
        try:
            data = json.dumps(bindings, default=repr, allow_nan=False)
        except (ValueError, RecursionError) as exc:
            raise ExpressionError(f"the javascript {what} {source!r} cannot receive its input: "
                                  f"{_input_fault(exc)}") from None
        try:
            reply = shared("js").ask({"in": data, "src": source}, self.timeout)
        except SandboxError as exc:
            raise ExpressionError(f"the javascript {what} {source!r} failed: "
                                  f"{_sandbox_fault(exc, self.timeout, f'{_JS_HEAP_MB} MB V8 heap')}") from None
        if "v" in reply:
            return json.loads(reply["v"])
        if reply.get("undef"):
            if allow_undefined:
                return None
            raise ExpressionError(f"the javascript {what} {source!r} has the value undefined: its last "
                                  "statement gives no value (a declaration, a loop, a function without "
                                  "return?); end it with the value to return, e.g. ({total: $.a + $.b})")
        if "bad" in reply:
            raise ExpressionError(f"the javascript {what} {source!r} gives a {reply['bad']}, which is not "
                                  f"JSON data; did you mean to call it, e.g. (function () {{ ... }})()?")
        if "oom" in reply:
            raise ExpressionError(f"the javascript {what} {source!r} failed: it used more memory than the "
                                  f"{_JS_HEAP_MB} MB the engine allows; does it build something without end?")
        raise ExpressionError(f"the javascript {what} {source!r} failed: {_js_error(reply.get('err', ''))}")

    def function_body(self, body: str, bindings: dict, what: str = "scriptExpression"):
        """Run ``body`` as the body of a function (Conductor's LAMBDA) and return what it returns."""
        if not isinstance(body, str) or not body.strip():
            raise ExpressionError(f"the javascript {what} is empty: give it a function body such as "
                                  "\"return {total: $.a + $.b};\"")
        return self.evaluate(f"function scriptFun() {{ {body} \n}} scriptFun();", bindings, what)

    def close(self) -> None:
        """Nothing to free here: the sandbox's process is shared and stops at exit."""


def _input_fault(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return "it holds a number that JSON cannot carry (NaN or Infinity)"


def _sandbox_fault(exc: SandboxError, timeout, memory: str) -> str:
    text = str(exc)
    if text == "timeout":
        return f"it ran longer than the time limit ({timeout:g} s); does it loop forever?"
    if text.startswith("crashed"):
        return (f"it stopped the engine ({text[8:-1] or 'crashed'}); most likely it asked for more memory "
                f"than the {memory} allows, e.g. a string or array of hundreds of millions of items")
    return text


def _js_error(text: str) -> str:
    found = _ERROR_LINE.findall(text)
    if found:
        kind, message = found[-1]
        return f"{kind}: {message.strip()}"
    return text.strip().splitlines()[0] if text.strip() else "it failed without a message"


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
    """jq queries (the ``jq`` package) in the sandbox, with the same time limit as JavaScript."""

    def __init__(self, timeout: float | None = 1.0):
        self.timeout = timeout

    def run(self, query: str, data) -> list:
        """All the values ``query`` produces from ``data``."""
        if not isinstance(query, str) or not query.strip():
            raise ExpressionError("JSON_JQ_TRANSFORM needs inputParameters.queryExpression, "
                                  "a jq query such as '.items | length'")
        try:
            payload = json.dumps(data, default=repr, allow_nan=False)
        except (ValueError, RecursionError) as exc:
            raise ExpressionError(f"the jq query {query!r} cannot receive its input: {_input_fault(exc)}") from None
        try:
            reply = shared("jq").ask({"q": query, "text": payload}, self.timeout)
        except SandboxError as exc:
            raise ExpressionError(f"the jq query {query!r} failed: "
                                  f"{_sandbox_fault(exc, self.timeout, f'{_JQ_MEMORY_MB} MB jq may use')}") from None
        if "v" in reply:
            return reply["v"]
        if "compile" in reply:
            raise ExpressionError(f"the jq query {query!r} does not compile: {_jq_error(reply['compile'])}")
        if "oom" in reply:
            raise ExpressionError(f"the jq query {query!r} failed: it used more than the {_JQ_MEMORY_MB} MB "
                                  "jq may use; does it build something without end (repeat, recurse)?")
        raise ExpressionError(f"the jq query {query!r} failed: {_jq_error(reply.get('err', ''))}")


def _jq_error(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else "it failed without a message"
