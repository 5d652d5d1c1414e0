"""Parameter wiring: the ``${...}`` expressions of Conductor's inputParameters.

A string that is exactly one expression, ``"${workflow.input.amount}"``, is replaced by
the value it names (a number stays a number, a dict stays a dict). An expression inside
a longer string, ``"${workflow.input.orderId}-charge"``, is replaced by its text. What
an expression may name:

- ``workflow.input.<path>``, ``workflow.output.<path>``, ``workflow.variables.<path>``,
  ``workflow.workflowId``, ``workflow.correlationId``, ``workflow.workflowType``,
  ``workflow.version``, ``workflow.status``, ``workflow.parentWorkflowId``,
  ``workflow.createTime``;
- ``<taskReferenceName>.output.<path>``, ``.input.<path>``, ``.status``, ``.taskId``,
  ``.retryCount``, ``.reasonForIncompletion`` (the latest attempt of that task; inside a
  DO_WHILE the current iteration's; ``ref__2`` names iteration 2);
- ``CPEWF_TASK_ID``: the id of the task being scheduled.

A ``<path>`` is dotted keys with optional list indexes: ``response.body.items[0].sku``.
A missing key gives ``null`` (None), as in Conductor. ``$${`` writes a literal ``${``.

Templates are compiled once per definition into closures, so that resolving a task's
input costs a few dictionary lookups per parameter and no parsing.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

#: The fields ``workflow.<field>`` may name, and how to read each from an instance.
WORKFLOW_FIELDS = {
    "input": lambda inst: inst.input,
    "output": lambda inst: inst.output,
    "variables": lambda inst: inst.variables,
    "workflowId": lambda inst: inst.id,
    "correlationId": lambda inst: inst.correlation,
    "workflowType": lambda inst: inst.name,
    "version": lambda inst: inst.version,
    "status": lambda inst: inst.status,
    "parentWorkflowId": lambda inst: inst.parent_id,
    "createTime": lambda inst: inst.created,
}
#: The fields ``<ref>.<field>`` may name on a task attempt.
TASK_FIELDS = {
    "output": lambda run: run.output,
    "input": lambda run: run.input,
    "status": lambda run: run.status,
    "taskId": lambda run: run.task_id,
    "retryCount": lambda run: run.attempt - 1,
    "reasonForIncompletion": lambda run: run.reason,
    "referenceTaskName": lambda run: run.full_ref,
}

_EXPR = re.compile(r"\$\{([^}]*)\}")
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")

#: A compiled template: ``resolve(instance, task_id) -> value``.
Resolver = Callable[[Any, Any], Any]


class Template:
    """A compiled parameter value: call :meth:`resolve` with the instance and task id.

    ``refs`` lists ``(json_path, task_ref)`` for every task the template reads, and
    ``faults`` lists ``(json_path, message)`` for expressions that cannot be read.
    """

    __slots__ = ("resolve", "refs", "faults", "constant")

    def __init__(self, resolve: Resolver, refs: list, faults: list, constant: bool):
        self.resolve = resolve
        self.refs = refs
        self.faults = faults
        self.constant = constant


def compile_template(value, path: str = "$") -> Template:
    """Compile a parameter value (any JSON value, usually a dict) into a :class:`Template`."""
    refs: list = []
    faults: list = []
    is_const, fn = _compile(value, path, refs, faults)
    if is_const:
        const = fn
        if isinstance(const, dict):
            # A fresh top-level dict each time: a worker that edits its input must not
            # change the definition (nested constants are shared: treat inputs as read-only).
            resolve = lambda inst, tid: dict(const)  # noqa: E731
        else:
            resolve = lambda inst, tid: const  # noqa: E731
    else:
        resolve = fn
    return Template(resolve, refs, faults, is_const)


def has_expression(text: str) -> bool:
    """Does ``text`` contain a ``${...}`` expression?"""
    return "${" in text.replace("$${", "")


def _compile(value, path, refs, faults):
    """Return ``(True, constant)`` or ``(False, resolver)``."""
    if isinstance(value, str):
        return _compile_string(value, path, refs, faults)
    if isinstance(value, dict):
        parts = [(k, *_compile(v, f"{path}{_member(k)}", refs, faults)) for k, v in value.items()]
        if all(c for _, c, _ in parts):
            return True, {k: v for k, _, v in parts}
        items = tuple((k, c, f) for k, c, f in parts)

        def resolve_dict(inst, tid):
            return {k: (f if c else f(inst, tid)) for k, c, f in items}
        return False, resolve_dict
    if isinstance(value, list):
        parts = [_compile(v, f"{path}[{i}]", refs, faults) for i, v in enumerate(value)]
        if all(c for c, _ in parts):
            return True, [v for _, v in parts]
        items = tuple(parts)

        def resolve_list(inst, tid):
            return [(f if c else f(inst, tid)) for c, f in items]
        return False, resolve_list
    return True, value


def _compile_string(text, path, refs, faults):
    if "${" not in text:
        return True, text
    escaped = text.replace("$${", "\x00")
    matches = list(_EXPR.finditer(escaped))
    if not matches:
        return True, escaped.replace("\x00", "${")
    if len(matches) == 1 and matches[0].span() == (0, len(escaped)):
        return False, _compile_expression(matches[0].group(1), path, refs, faults)
    pieces: list = []
    last = 0
    for m in matches:
        if m.start() > last:
            pieces.append(escaped[last:m.start()].replace("\x00", "${"))
        pieces.append(_compile_expression(m.group(1), path, refs, faults))
        last = m.end()
    if last < len(escaped):
        pieces.append(escaped[last:].replace("\x00", "${"))
    frozen = tuple(pieces)

    def resolve_text(inst, tid):
        return "".join(p if isinstance(p, str) else as_text(p(inst, tid)) for p in frozen)
    return False, resolve_text


def _compile_expression(expr: str, path: str, refs: list, faults: list) -> Resolver:
    segments = parse_path(expr.strip())
    if segments is None or not segments:
        faults.append((path, f"cannot read the expression ${{{expr}}}: write it as "
                             "${workflow.input.name} or ${taskRef.output.name}"))
        return lambda inst, tid: None
    root = segments[0]
    if root == "CPEWF_TASK_ID":
        return lambda inst, tid: tid
    if root == "workflow":
        if len(segments) == 1:
            faults.append((path, "${workflow} must name a field, e.g. ${workflow.input.orderId}"))
            return lambda inst, tid: None
        field = segments[1]
        getter = WORKFLOW_FIELDS.get(field)
        if getter is None:
            faults.append((path, f"${{{expr}}}: a workflow has no field {field!r}; it has "
                                 f"{', '.join(WORKFLOW_FIELDS)}"))
            return lambda inst, tid: None
        rest = tuple(segments[2:])
        if not rest:
            return lambda inst, tid: getter(inst)
        if len(rest) == 1 and field == "input":
            key = rest[0]
            return lambda inst, tid: _get(inst.input, key)
        return lambda inst, tid: dig(getter(inst), rest)
    # A task reference.
    if not isinstance(root, str):
        faults.append((path, f"${{{expr}}} must start with 'workflow' or a taskReferenceName"))
        return lambda inst, tid: None
    exact = bool(_ITERATION.search(root))
    refs.append((path, root))
    if len(segments) == 1:
        faults.append((path, f"${{{expr}}} must name a field of task {root!r}, e.g. "
                             f"${{{root}.output}}"))
        return lambda inst, tid: None
    field = segments[1]
    getter = TASK_FIELDS.get(field)
    if getter is None:
        faults.append((path, f"${{{expr}}}: a task has no field {field!r}; it has "
                             f"{', '.join(TASK_FIELDS)}"))
        return lambda inst, tid: None
    rest = tuple(segments[2:])

    def resolve_task(inst, tid):
        run = (inst.refs if exact else inst.latest).get(root)
        if run is None:
            return None
        value = getter(run)
        return dig(value, rest) if rest else value
    return resolve_task


#: The suffix Conductor gives a task's reference name in iteration N of a DO_WHILE.
ITERATION_SUFFIX = _ITERATION = re.compile(r"__\d+$")


def parse_path(expr: str) -> list | None:
    """Split ``a.b[0]['c d']`` into ``["a", "b", 0, "c d"]`` (None when malformed)."""
    out: list = []
    pos = 0
    while pos < len(expr):
        if expr[pos] == ".":
            pos += 1
            continue
        m = _SEGMENT.match(expr, pos)
        if m is None:
            return None
        name, index, q1, q2 = m.groups()
        if name is not None:
            out.append(name)
        elif index is not None:
            out.append(int(index))
        else:
            out.append(q1 if q1 is not None else q2)
        pos = m.end()
    return out


def dig(value, path) -> Any:
    """Follow ``path`` (keys and indexes) into ``value``; None as soon as a step is missing."""
    for step in path:
        if isinstance(value, dict):
            value = value.get(step if isinstance(step, str) else str(step))
        elif isinstance(value, list) and isinstance(step, int):
            value = value[step] if -len(value) <= step < len(value) else None
        else:
            return None
        if value is None:
            return None
    return value


def _get(value, key):
    return value.get(key) if isinstance(value, dict) else None


def as_text(value) -> str:
    """How a value reads inside a longer string: JSON spelling (null, true, {...})."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _member(key) -> str:
    key = str(key)
    return f".{key}" if key.isidentifier() else f"[{key!r}]"
