"""How the decider carries out event handlers: one broker delivery, the handlers' actions.

Part of the :class:`~microlab.orchestration.decider.Decider` (it uses the Decider's
working set: ``state``, ``now``, ``actions``, ``todo``). An
:class:`~microlab.orchestration.events.EventReceived` names the topic and payload of a
delivery; every active handler on that topic (:mod:`~microlab.orchestration.handlers`)
evaluates its condition in the sandbox's JavaScript, and its actions start a workflow or
end a task, as Conductor's ``DefaultEventProcessor`` and ``SimpleActionProcessor`` do.
Each action is committed as ``("handled", now, (message id, handler, index))`` before it
acts, so the same message delivered again finds it done (Conductor's event executions).
The delivery is acknowledged last (:class:`~microlab.orchestration.actions.Ack`).
"""

from __future__ import annotations

from . import handlers as h
from . import records as rec
from .actions import Ack, Record
from .expressions import ExpressionError
from .model import COMPLETED, FAILED, IN_PROGRESS, RUNNING


class EventActions:
    """Event handlers' actions (a part of the Decider)."""

    def _on_event(self, event) -> None:
        table = self.context.handlers
        payload = event.payload
        for handler in (table.for_topic(event.topic) if table is not None else ()):
            self._run_handler(handler, event, payload)
        self._drain()  # schedule what the actions started, so that the ack follows every commit
        if event.msg is not None:
            self.actions.append(Ack(event.msg))

    def _run_handler(self, handler: h.EventHandler, event, payload) -> None:
        try:
            ok = self._condition(handler, payload)
        except ExpressionError as exc:
            self._record_execution(handler, event, None, h.FAILED,
                                   reason=f"event handler {handler.name!r}: its condition failed: {exc}")
            return
        if not ok:
            self._record_execution(handler, event, None, h.SKIPPED,
                                   reason=f"condition {handler.condition!r} is false")
            return
        for index, action in enumerate(handler.actions):
            key = (event.message_id, handler.name, index)
            if key in self.state.handled:
                self._record_execution(handler, event, action.action, h.DUPLICATE,
                                       reason=f"message {event.message_id} was already handled")
                continue
            self._commit(("handled", self.now, key))
            data = h.expand_inline_json(payload) if action.expand_inline_json else payload
            if action.action == h.START_WORKFLOW:
                self._handler_start(handler, event, action, data)
            else:
                self._handler_end_task(handler, event, action, data)

    def _condition(self, handler: h.EventHandler, payload) -> bool:
        condition = handler.condition
        if not condition:
            return True  # Conductor: no condition means the actions run
        # Conductor evaluates the condition on the payload with inline JSON expanded.
        data = h.expand_inline_json(payload)
        if handler.evaluator_type == "value-param":
            return h.holds(data.get(condition) if isinstance(data, dict) else None)
        return h.holds(self.js.evaluate(condition, data, what=f"condition of event handler {handler.name!r}"))

    def _handler_start(self, handler, event, action, payload) -> None:
        params = action.params
        plan = self.definitions.find(params.get("name"), params.get("version"))
        if plan is None:
            self._record_execution(handler, event, action.action, h.FAILED,
                                   reason=f"start_workflow: workflow {params.get('name')!r} is not registered; "
                                          f"registered: {', '.join(self.definitions.names()) or 'none'}")
            return
        inp = h.resolve(params.get("input") or {}, payload)
        inp = dict(inp) if isinstance(inp, dict) else {}
        inp["conductor.event.messageId"] = event.message_id
        inp["conductor.event.name"] = handler.event
        correlation = h.resolve(params.get("correlationId"), payload) if params.get("correlationId") else None
        if correlation is None:
            correlation = getattr(event.msg, "correlation", None)
        inst = self._start_instance(plan, inp, correlation)
        self._record_execution(handler, event, action.action, h.EXECUTED, workflow_id=inst.id,
                               correlation=correlation)

    def _handler_end_task(self, handler, event, action, payload) -> None:
        details = action.params
        fields = {"workflowId": details.get("workflowId"), "taskId": details.get("taskId"),
                  "taskRefName": details.get("taskRefName")}
        if details.get("reasonForIncompletion") is not None:
            # Conductor OSS 3.21 writes no reasonForIncompletion key unless the action gives one.
            fields["reasonForIncompletion"] = details["reasonForIncompletion"]
        fields.update(details.get("output") or {})
        output = h.resolve(fields, payload)
        wf_id, task_id, ref = output.get("workflowId"), output.get("taskId"), output.get("taskRefName")
        run = None
        if task_id:
            run = self.state.tasks.get(task_id)
        elif wf_id and ref:
            inst = self.state.instances.get(wf_id)
            if inst is None:
                self._record_execution(handler, event, action.action, h.FAILED,
                                       reason=f"No workflow found with ID: {wf_id}")
                return
            run = inst.latest.get(ref)  # a task in a DO_WHILE: its latest iteration, as Conductor
        if run is None:
            self._record_execution(handler, event, action.action, h.FAILED,
                                   reason=f"No task found with taskId: {task_id}, reference name: {ref}, "
                                          f"workflowId: {wf_id}")
            return
        if run.status != IN_PROGRESS or run.inst.status != RUNNING:
            self._record_execution(handler, event, action.action, h.FAILED, workflow_id=run.inst.id,
                                   task_id=run.task_id, correlation=run.inst.correlation,
                                   reason=f"task {run.full_ref} ({run.task_id}) is {run.status} in a "
                                          f"{run.inst.status} workflow: only a task IN_PROGRESS can be ended")
            return
        output = dict(output)
        output["conductor.event.messageId"] = event.message_id
        output["conductor.event.name"] = handler.event
        status = COMPLETED if action.action == h.COMPLETE_TASK else FAILED
        reason = None
        if status == FAILED:
            given = output.get("reasonForIncompletion")
            reason = str(given) if given is not None else f"failed by event handler {handler.name!r}"
        self._record_execution(handler, event, action.action, h.EXECUTED, workflow_id=run.inst.id,
                               task_id=run.task_id, correlation=run.inst.correlation)
        self._finish(run, status, output, reason, event.msg)
        self._after_finish(run)

    def _record_execution(self, handler, event, action, status, *, reason=None, workflow_id=None,
                          task_id=None, correlation=None) -> None:
        if not self.context.tracing and status != h.FAILED:
            return
        detail = {"correlation": correlation if correlation is not None else getattr(event.msg, "correlation", None),
                  "handler": handler.name, "event": handler.event, "topic": event.topic,
                  "message_id": event.message_id, "action": action, "status": status}
        if reason is not None:
            detail["reason"] = reason
        if workflow_id is not None:
            detail["workflow_id"] = workflow_id
        if task_id is not None:
            detail["task_id"] = task_id
        self.actions.append(Record(rec.EVENT_HANDLER, event.msg, detail))
