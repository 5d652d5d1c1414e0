"""Exercise checks of notebook 13: right answers pass, typical wrong ones get the intended hint."""

import re
import xml.etree.ElementTree as ET

from microlab.exercises import ch13, feedback


def attempts(engine, written):
    return written + 1 if engine in ("conductor", "asl") else written


def handlers(xml_text):
    process = ET.fromstring(xml_text).find("bpmn:process", ch13.NS)
    events = {e.get("id"): e.get("attachedToRef") for e in process.findall("bpmn:boundaryEvent", ch13.NS)
              if e.find("bpmn:compensateEventDefinition", ch13.NS) is not None}
    return {events[a.get("sourceRef")]: a.get("targetRef") for a in process.findall("bpmn:association", ch13.NS)}


def fixed():
    machine = ch13.broken_state_machine()
    machine["States"]["Ship"]["Catch"][0]["Next"] = "Refund"
    return machine


def test_right_answers_pass():
    assert ch13.check_attempts(attempts).passed
    assert ch13.check_compensation_route(fixed()).passed
    assert ch13.check_handlers(handlers).passed


def test_attempts_hints_nudge_before_they_reveal():
    feedback._TRIES.clear()
    same = lambda engine, written: written
    first = ch13.check_attempts(same).message
    assert "The first attempt is not a retry" in first and "written + 1" not in first
    ch13.check_attempts(same)
    assert "written + 1" in ch13.check_attempts(same).message
    plus_one = lambda engine, written: written + 1
    assert "Does maximum_attempts count the first attempt" in ch13.check_attempts(plus_one).message
    assert "whole number" in ch13.check_attempts(lambda e, w: "three").message


def test_the_broken_machine_fails_and_the_hint_names_the_missing_refund():
    feedback._TRIES.clear()
    broken = ch13.check_compensation_route(ch13.broken_state_machine())
    assert not broken.passed and "Refund: no transition reaches" in broken.message and "'Refund'" not in broken.message
    no_refund = ch13.broken_state_machine()
    del no_refund["States"]["Refund"]
    message = ch13.check_compensation_route(no_refund).message
    assert "charged and never refunded" in message and "Ship -> Release" in message
    skips_release = fixed()
    skips_release["States"]["Refund"]["Next"] = "OrderRejected"
    skips_release["States"]["Charge"]["Catch"][0]["Next"] = "OrderRejected"
    del skips_release["States"]["Release"]
    assert "It owes Release" in ch13.check_compensation_route(skips_release).message


def test_handler_hints():
    feedback._TRIES.clear()
    assert "what joins it to its boundary event" in ch13.check_handlers(lambda text: {}).message
    by_event = lambda text: {k + "_undo": v for k, v in handlers(text).items()}
    assert "Which task is each event attached to" in ch13.check_handlers(by_event).message
    every_task = lambda text: {**handlers(text), "ship": "cancel_shipment"}
    assert re.search(r"the document says \d+ tasks? can be undone", ch13.check_handlers(every_task).message)
