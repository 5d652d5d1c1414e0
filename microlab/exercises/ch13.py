"""Checks for notebook 13, other engines: the same saga in four languages.

- :func:`check_attempts` (exercise 13.1): the attempts a step gets from the number each engine writes;
- :func:`check_compensation_route` (exercise 13.2): a Step Functions machine whose Catch skips a refund, fixed;
- :func:`check_handlers` (exercise 13.3): each step's compensation handler, read from BPMN.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..flows import FRAUD_CHECK, ORDER, TRAVEL
from ..other_engines import asl, bpmn
from ..words import count
from .feedback import Hint, checker

#: The engines of exercise 13.1, and what their number counts.
ENGINES = ("conductor", "temporal", "asl", "bpmn")
_COUNTS_RETRIES = {"conductor": True, "asl": True, "temporal": False, "bpmn": False}
_FIELD = {"conductor": "retryCount", "asl": "MaxAttempts", "temporal": "maximum_attempts", "bpmn": "retries"}
#: The namespaces of a BPMN document, for ``find``/``findall``.
NS = {"bpmn": bpmn.BPMN, "zeebe": bpmn.ZEEBE}


def _attempts(engine: str, written: int) -> int:
    return written + 1 if _COUNTS_RETRIES[engine] else written


@checker("Exercise 13.1: attempts, not retries")
def check_attempts(attempts) -> str:
    """Pass ``attempts(engine, written) -> int``: how many times a step runs at most when
    ``engine`` (one of :data:`ENGINES`) writes the number ``written`` (1 or more) in its
    retry field: Conductor's ``retryCount``, Temporal's ``maximum_attempts``, Step
    Functions' ``MaxAttempts``, Zeebe's ``retries``."""
    if not callable(attempts):
        raise Hint("pass your function itself (attempts, without parentheses).")
    for engine in ENGINES:
        for written in (1, 2, 5):
            want, got = _attempts(engine, written), attempts(engine, written)
            if got == want:
                continue
            if isinstance(got, bool) or not isinstance(got, int):
                raise Hint(f"attempts({engine!r}, {written}) gave {got!r}; return a whole number of attempts.")
            field = _FIELD[engine]
            if _COUNTS_RETRIES[engine]:
                raise Hint(f"attempts({engine!r}, {written}) gave {got}. The first attempt is not a retry: does "
                           f"{field} count it? Read the Retry row of the table above.",
                           reveal=f"{field} counts retries after the first attempt: return written + 1 for "
                                  "'conductor' and 'asl', written for 'temporal' and 'bpmn'")
            raise Hint(f"attempts({engine!r}, {written}) gave {got}. Does {field} count the first attempt?",
                       reveal=f"{field} counts every attempt, the first one included: return written for "
                              "'temporal' and 'bpmn', written + 1 for 'conductor' and 'asl'")
    return ("the same three attempts are written 2, 3, 2 and 3: copy a retry policy from one engine to another "
            "and a step gets one try more, or one less, than you meant.")


def broken_state_machine() -> dict:
    """The order saga's Step Functions machine with one wrong ``Catch``: a failed Ship goes
    straight to Release."""
    machine = asl.state_machine(ORDER)
    machine["States"]["Ship"]["Catch"][0]["Next"] = "Release"
    return machine


@checker("Exercise 13.2: the refund the Catch skipped")
def check_compensation_route(machine) -> str:
    """Pass the state machine of :func:`broken_state_machine`, fixed: whichever step fails,
    the compensations owed run newest first, then ``OrderRejected``."""
    if not isinstance(machine, dict):
        raise Hint("pass the state machine itself: the dict from ch13.broken_state_machine(), after your change.")
    found = asl.problems(machine)
    if any("Refund: no transition reaches" in p for p in found):
        raise Hint("the machine is not valid yet: " + "; ".join(found) + ". Which state should lead there?",
                   reveal="a failed Ship owes a refund first: machine['States']['Ship']['Catch'][0]['Next'] = 'Refund'")
    if found:
        raise Hint("the machine is not valid: " + "; ".join(found))
    for i, step in enumerate(ORDER.steps):
        owed = [asl.state_name(s.compensation) for s in reversed(ORDER.steps[:i]) if s.compensation]
        name = asl.state_name(step.effect)
        path = asl.walk(machine, fails={name})
        ran = path[path.index(name) + 1:-1] if name in path else path
        if ran != owed or path[-1] != ORDER.rejected:
            charged = "Refund" in owed and "Refund" not in ran
            raise Hint(f"when {name} fails the execution runs {' -> '.join(path)}"
                       + (": the customer's card was charged and never refunded." if charged else ".")
                       + f" It owes {', '.join(owed) or 'nothing'}, newest first, then {ORDER.rejected}.",
                       reveal="Ship's Catch leads to Refund, Refund's Next is Release, Release's Next is OrderRejected")
    return ("every failure now undoes what was done, newest first. In ASL that order is yours to write, state by "
            "state: a Catch that names the wrong state is valid JSON and a valid machine.")


def _handlers(xml_text: str) -> dict:
    process = ET.fromstring(xml_text).find("bpmn:process", NS)
    events = {e.get("id"): e.get("attachedToRef") for e in process.findall("bpmn:boundaryEvent", NS)
              if e.find("bpmn:compensateEventDefinition", NS) is not None}
    return {events[a.get("sourceRef")]: a.get("targetRef") for a in process.findall("bpmn:association", NS)
            if a.get("sourceRef") in events}


#: The documents exercise 13.3 is checked on: the order saga, a trip, and the order with a
#: fraud check (a step nobody can undo) inserted after payment.
HANDLER_CASES = (("the order saga", ORDER), ("the trip", TRAVEL),
                 ("the order with a fraud check", ORDER.insert(FRAUD_CHECK, after="payment")))


@checker("Exercise 13.3: who undoes what, in BPMN")
def check_handlers(handlers) -> str:
    """Pass ``handlers(xml_text) -> dict``: for a BPMN document, each task that can be
    compensated and the id of its compensation handler, e.g. ``{"reserve": "release", ...}``."""
    if not callable(handlers):
        raise Hint("pass your function itself (handlers, without parentheses).")
    for label, flow in HANDLER_CASES:
        text = bpmn.document(flow)
        want, got = _handlers(text), handlers(text)
        if got == want:
            continue
        if not isinstance(got, dict):
            raise Hint(f"for {label} you returned {got!r}; return a dict, task id -> handler id.")
        if not got:
            raise Hint(f"for {label} you found no handler. A compensation handler has no sequence flow into it: "
                       "what joins it to its boundary event?",
                       reveal="a bpmn:association: its sourceRef is the compensation boundary event, its targetRef "
                              "the handler; the event's attachedToRef is the task")
        if set(got) & {e for e in (f"{s.effect}_undo" for s in flow.steps)}:
            raise Hint(f"for {label} your keys are boundary events ({', '.join(sorted(got))}). Which task is "
                       "each event attached to?", reveal="key = the event's attachedToRef")
        raise Hint(f"for {label} you said {got}; the document says {count(len(want), 'task')} can be undone. Did you "
                   "count only the boundary events that hold a compensateEventDefinition?",
                   reveal="events = {e.get('id'): e.get('attachedToRef') for e in process.findall('bpmn:boundaryEvent', "
                          "ch13.NS) if e.find('bpmn:compensateEventDefinition', ch13.NS) is not None}; then map each "
                          "association's sourceRef through events to its targetRef")
    return ("in BPMN the undo is part of the model, drawn beside the step it undoes; the order in which the "
            "handlers run is the engine's (Camunda 8 starts them together).")
