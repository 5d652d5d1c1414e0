"""The order saga as a BPMN 2.0 process for Camunda 8 (Zeebe), and a check of such XML.

BPMN draws the saga: a service task per step (``zeebe:taskDefinition`` names the job
type a worker polls for, and its ``retries``); on each step a timer boundary event (the
timeout) and an error boundary event (the worker gave up and threw the BPMN error
``STEP_FAILED``); on each step that can be undone a compensation boundary event,
associated with its compensation handler, a service task marked ``isForCompensation``.
Both boundary events lead to the compensation end event ``OrderRejected``, which
compensates every completed activity that has a handler.

No diagram part (BPMN DI) is written: an engine runs the process without it, a modeler
would lay it out. :func:`problems` checks a document: well-formed XML, valid against
the BPMN 2.0 XML schema (the XSD that SpiffWorkflow ships), and parsed into a process
by SpiffWorkflow's BPMN parser, which resolves every reference.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ..flows import ORDER, BusinessFlow

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"
#: The BPMN error a worker throws when a step fails for good.
STEP_FAILED = "STEP_FAILED"
#: Job retries of a step and of a compensation (Zeebe decrements them at each failed
#: attempt and raises an incident at zero): 3 attempts, as in the other documents.
STEP_RETRIES, UNDO_RETRIES = 3, 6
#: A step's timeout, as an ISO 8601 duration (the timer boundary event's).
STEP_TIMEOUT = "PT5S"

ET.register_namespace("bpmn", BPMN)
ET.register_namespace("zeebe", ZEEBE)


def _el(parent, tag: str, ns: str = BPMN, **attrs) -> ET.Element:
    return ET.SubElement(parent, f"{{{ns}}}{tag}", {k.rstrip("_"): str(v) for k, v in attrs.items()})


def _service_task(process, task_id: str, name: str, retries: int, **attrs) -> ET.Element:
    task = _el(process, "serviceTask", id=task_id, name=name, **attrs)
    _el(_el(task, "extensionElements"), "taskDefinition", ZEEBE, type=task_id, retries=retries)
    return task


def definitions(flow: BusinessFlow = ORDER) -> ET.Element:
    """The saga of ``flow`` as a ``bpmn:definitions`` element."""
    root = ET.Element(f"{{{BPMN}}}definitions", {"id": f"{flow.name}_saga_definitions",
                                                 "targetNamespace": "https://github.com/microlab/order-saga"})
    _el(root, "error", id="step_failed", name="a step failed for good", errorCode=STEP_FAILED)
    process = _el(root, "process", id=f"{flow.name}_saga", name=f"The {flow.name} saga", isExecutable="true")
    flows: list[tuple[str, str]] = []
    associations: list[tuple[str, str]] = []
    _el(process, "startEvent", id=flow.started, name=flow.started)
    previous = flow.started
    for i, step in enumerate(flow.steps):
        _service_task(process, step.effect, f"{step.effect} ({step.service})", STEP_RETRIES)
        flows.append((previous, step.effect))
        previous = step.effect
        timer = _el(process, "boundaryEvent", id=f"{step.effect}_timed_out", name=f"{step.effect} took too long",
                    attachedToRef=step.effect)     # interrupting: cancelActivity defaults to true
        _el(_el(timer, "timerEventDefinition"), "timeDuration").text = STEP_TIMEOUT
        failed = _el(process, "boundaryEvent", id=f"{step.effect}_failed", name=f"{step.effect} failed",
                     attachedToRef=step.effect)
        _el(failed, "errorEventDefinition", errorRef="step_failed")
        flows += [(timer.get("id"), flow.rejected), (failed.get("id"), flow.rejected)]
        if step.compensation and i < len(flow.steps) - 1:      # the last step is never undone
            undo = _el(process, "boundaryEvent", id=f"{step.effect}_undo", attachedToRef=step.effect)
            _el(undo, "compensateEventDefinition")
            _service_task(process, step.compensation, f"{step.compensation} ({step.service})", UNDO_RETRIES,
                          isForCompensation="true")
            associations.append((undo.get("id"), step.compensation))
    _el(process, "endEvent", id=flow.completed, name=flow.completed)
    flows.append((previous, flow.completed))
    rejected = _el(process, "endEvent", id=flow.rejected, name=f"{flow.rejected}: what was done is undone")
    _el(rejected, "compensateEventDefinition")
    for source, target in flows:
        _el(process, "sequenceFlow", id=f"flow_{source}_to_{target}", sourceRef=source, targetRef=target)
    for source, target in associations:              # artifacts come after every flow element
        _el(process, "association", id=f"assoc_{source}", sourceRef=source, targetRef=target)
    return root


def document(flow: BusinessFlow = ORDER) -> str:
    """The process as the XML text one would deploy."""
    root = definitions(flow)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def problems(xml_text: str) -> list[str]:
    """What is wrong with a BPMN document (empty: none found), each naming the element.

    In this order: well-formed XML; valid against the BPMN 2.0 XML schema (the XSD that
    SpiffWorkflow ships, checked with lxml); then what the schema leaves open: every
    reference (``attachedToRef``, ``errorRef``, an association's ends) names an element,
    every service task has the ``zeebe:taskDefinition`` Zeebe requires, every
    compensation boundary event is associated with a task marked ``isForCompensation``,
    and every flow node can be reached from the start event.
    """
    from pathlib import Path

    import SpiffWorkflow.bpmn.parser as spiff_parser
    from lxml import etree

    try:
        tree = etree.fromstring(xml_text.encode())
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    xsd = etree.XMLSchema(etree.parse(str(Path(spiff_parser.__file__).parent / "schema" / "BPMN20.xsd")))
    if not xsd.validate(tree):
        return [f"line {e.line}: {e.message}" for e in xsd.error_log]
    return _reference_problems(tree)


def _reference_problems(tree) -> list[str]:
    ns = {"bpmn": BPMN, "zeebe": ZEEBE}
    found = []
    ids = {el.get("id"): el for el in tree.iter() if el.get("id")}
    local = lambda el: etree_local(el.tag)                          # noqa: E731
    for el in tree.iter():
        for attr in ("attachedToRef", "errorRef", "sourceRef", "targetRef"):
            ref = el.get(attr)
            if ref is not None and ref not in ids:
                found.append(f"{local(el)} {el.get('id')!r}: {attr} {ref!r} names no element")
    for process in tree.iterfind("bpmn:process", ns):
        tasks = process.findall("bpmn:serviceTask", ns)
        for task in tasks:
            if task.find("bpmn:extensionElements/zeebe:taskDefinition", ns) is None:
                found.append(f"serviceTask {task.get('id')!r}: no zeebe:taskDefinition (Zeebe needs its job type)")
        handlers = {a.get("sourceRef"): a.get("targetRef") for a in process.findall("bpmn:association", ns)}
        for event in process.findall("bpmn:boundaryEvent", ns):
            if event.find("bpmn:compensateEventDefinition", ns) is None:
                continue
            handler = ids.get(handlers.get(event.get("id")))
            if handler is None:
                found.append(f"boundaryEvent {event.get('id')!r}: compensation with no associated handler")
            elif handler.get("isForCompensation") != "true":
                found.append(f"{local(handler)} {handler.get('id')!r}: handles a compensation, so it needs "
                             f"isForCompensation=\"true\"")
        found += _unreachable(process, ns)
    return found


def _unreachable(process, ns) -> list[str]:
    """Flow nodes no path from a start event reaches (a boundary event is reached with its task)."""
    nxt: dict = {}
    for flow in process.findall("bpmn:sequenceFlow", ns):
        nxt.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    for event in process.findall("bpmn:boundaryEvent", ns):
        nxt.setdefault(event.get("attachedToRef"), []).append(event.get("id"))
    todo = [e.get("id") for e in process.findall("bpmn:startEvent", ns)]
    reached = set()
    while todo:
        node = todo.pop()
        if node not in reached:
            reached.add(node)
            todo += nxt.get(node, [])
    nodes = [el for el in process if etree_local(el.tag) in ("startEvent", "endEvent", "serviceTask", "boundaryEvent",
                                                               "exclusiveGateway", "intermediateThrowEvent")]
    return [f"{etree_local(el.tag)} {el.get('id')!r}: no sequence flow reaches it" for el in nodes
            if el.get("id") not in reached and el.get("isForCompensation") != "true"]


def etree_local(tag: str) -> str:
    """``{namespace}serviceTask`` -> ``serviceTask``."""
    return tag.rsplit("}", 1)[-1]
