"""How a workflow instance ends: cancelling what runs, its output, its failure workflow, its parent.

Part of the :class:`~microlab.orchestration.decider.Decider` (it uses the Decider's
working set: ``state``, ``now``, ``actions``, ``touched``, and its building blocks
``_commit``, ``_record``, ``_finish``, ``_advance``, ``_fail_run``, ``_start_instance``).
:meth:`Endings._end` is the one way an instance ends, whatever ended it (its last task,
a failure, a timeout, a TERMINATE task or a request): it cancels the tasks still open
(a sub-workflow's child is terminated with them), computes the output as Conductor does,
starts the ``failureWorkflow`` of a FAILED or TIMED_OUT instance with Conductor's input,
records the business transaction's conclusion (``conclusions=...``), finishes the parent's
SUB_WORKFLOW task and tells the starter (``WorkflowEnded``).
"""

from __future__ import annotations

from ..messages import REPLY
from ..trace import EFFECT
from . import model as m
from . import records as rec
from .actions import Record, Send
from .model import COMPLETED, FAILED, IN_PROGRESS, RUNNING, TASK_TERMINAL, TERMINATED, TIMED_OUT
from .plan import Plan
from .state import Instance, Run

#: What the orchestrator sends whoever started an instance when it ends (``notify_starter``).
WORKFLOW_ENDED = "WorkflowEnded"


class Endings:
    """Ending an instance, and the workflows its end starts (a part of the Decider)."""

    def _end(self, inst: Instance, status: str, reason: str | None = None, output=None,
             failed_run: Run | None = None) -> None:
        """End an instance: cancel what runs, set the output, start the failure workflow, tell the parent."""
        if inst.status != RUNNING:
            return
        for run in inst.tasks:
            if run.status not in TASK_TERMINAL:
                # A canceled JOIN keeps the outputs it had gathered (Conductor's Join adds
                # each finished task's output on every evaluation, before all are done).
                gathered = self._gathered(inst, run) if run.step.type == m.JOIN else None
                self._finish(run, m.CANCELED, gathered, f"workflow {inst.id} ended {status}")
                if run.sub_id is not None:
                    child = self.state.instances.get(run.sub_id)
                    if child is not None:
                        self._end(child, TERMINATED, f"parent workflow {inst.id} ended {status}")
        if output is None:
            output = self._workflow_output(inst, failed_run)
        failure_plan = None
        if status in (FAILED, TIMED_OUT) and inst.plan.failure_workflow:
            # A "$workflow.input.x" name that resolves to nothing asks for no failure
            # workflow (as in Conductor); a name that is not registered is a fault to show.
            name = self._failure_name(inst)
            failure_plan = self.definitions.find(name) if name else None
            if failure_plan is None and name:
                reason = f"{reason}; and its failure workflow {name!r} is not registered"
            fault = self._nesting_fault(inst, name) if failure_plan is not None else None
            if fault is not None:
                failure_plan = None
                reason = f"{reason}; and its failure workflow was not started: {fault}"
            if failure_plan is not None:
                failure_id = self.state.next_id(failure_plan.name)
                output = dict(output)
                output["conductor.failure_workflow"] = failure_id
        self._commit(("end", self.now, inst.id, status, output, reason))
        self.touched[inst] = None
        self._record(rec.WORKFLOW, None, {
            "correlation": inst.correlation, "workflow": inst.name, "version": inst.version,
            "workflow_id": inst.id, "status": status, "output": output, "reason": reason})
        if failure_plan is not None:
            self._start_failure_workflow(inst, failure_plan, status, reason, failed_run, failure_id)
        if self.context.conclusions is not None:
            self._conclude(inst, status, failure_plan is not None)
        if inst.parent_task_id is not None:
            parent_run = self.state.tasks.get(inst.parent_task_id)
            if parent_run is not None and parent_run.status == IN_PROGRESS:
                if status == COMPLETED:
                    self._finish(parent_run, COMPLETED, {**output, "subWorkflowId": inst.id}, None)
                    self._advance(parent_run)
                else:
                    # As in Conductor, the failed SUB_WORKFLOW task still carries the
                    # sub-workflow's output (and id): the parent's output may be built from it.
                    self._fail_run(parent_run, FAILED, f"sub-workflow {inst.id} ended {status}: {reason}",
                                   {**output, "subWorkflowId": inst.id})
        if inst.starter is not None:
            source, _ = inst.starter
            self.actions.append(Send(source, WORKFLOW_ENDED, {
                "workflowId": inst.id, "workflow": inst.name, "status": status, "output": output,
                "reason": reason}, REPLY, inst.correlation))

    def _conclude(self, inst: Instance, status: str, compensating: bool) -> None:
        """Record the business transaction's conclusion effect (``conclusions=...``)."""
        complete, reject = self.context.conclusions
        effect = None
        if inst.parent_id is None and inst.failure_of is None:
            if status == COMPLETED:
                effect = complete
            elif not compensating:
                effect = reject
        elif inst.failure_of is not None:
            failed = self.state.instances.get(inst.failure_of)
            if failed is not None and failed.parent_id is None and failed.failure_of is None:
                effect = reject  # the undoing is over (whether or not it succeeded)
        if effect is not None:
            self.actions.append(Record(EFFECT, None, {"effect": effect, "correlation": inst.correlation,
                                                      "workflow_id": inst.id, "status": status}))

    def _failure_name(self, inst: Instance) -> str | None:
        name = inst.plan.failure_workflow
        if name.startswith("$"):
            # Conductor's "$workflow.input.<param>" (or "${workflow.input.<param>}") form:
            # the name comes from the input; nothing there means no failure workflow.
            path = name[2:-1] if name.startswith("${") and name.endswith("}") else name[1:]
            value = inst.input.get(path.split(".")[-1]) if "." in path else None
            return value if isinstance(value, str) and value else None
        return name

    def _nesting_fault(self, parent: Instance, name) -> str | None:
        """Why a child of ``parent`` (a sub- or failure workflow) may not start, or None."""
        limits = self.context.limits
        if parent.depth + 1 > limits.max_depth:
            chain = []
            node = parent
            while node is not None and len(chain) < 6:
                chain.append(node.name)
                node = self.state.instances.get(node.parent_id or node.failure_of or "")
            return (f"starting {name!r} would nest workflows {parent.depth + 1} deep (limit "
                    f"Limits.max_depth={limits.max_depth}); the chain ends {' <- '.join(chain)}: "
                    "does a workflow start itself, or two start each other?")
        if self.state.tree_sizes.get(parent.root, 0) + 1 > limits.max_tree:
            return (f"workflow {parent.root} has already brought {limits.max_tree:,} instances into being "
                    f"(limit Limits.max_tree); {name!r} is not started: a sub-workflow fan-out without end?")
        return None

    def _start_failure_workflow(self, inst: Instance, plan: Plan, status: str, reason, failed_run,
                                wf_id: str) -> None:
        failed = inst.to_conductor()
        # Conductor starts the failure workflow with the failed workflow's own input
        # fields, plus these (seen on Conductor OSS 3.21 by tests/real_conductor).
        inp = {**inst.input, "workflowId": inst.id, "reason": reason, "failureStatus": status,
               "failureTaskId": failed_run.task_id if failed_run is not None else None,
               "failedWorkflow": failed}
        child = self._start_instance(plan, inp, inst.correlation, failure_of=inst.id, wf_id=wf_id)
        if self.context.tracing:
            completed = [r.full_ref for r in reversed(inst.tasks)
                         if r.status == COMPLETED and r.step.type in m.WORKER_TYPES]
            self.actions.append(Record(rec.COMPENSATE, None, {
                "correlation": inst.correlation, "workflow_id": inst.id, "failure_workflow": plan.name,
                "failure_workflow_id": child.id, "completed": completed}))

    def _workflow_output(self, inst: Instance, failed_run: Run | None = None) -> dict:
        plan = inst.plan
        if plan.output is not None:
            return plan.output.resolve(inst, None)
        # Conductor: without outputParameters, the output of the last task scheduled,
        # also when another task failed the workflow (its terminateWorkflow computes the
        # output again from the last task; a TERMINATE passes its own output instead).
        last = inst.tasks[-1] if inst.tasks else None
        if last is None:
            return {}
        return dict(last.output) if isinstance(last.output, dict) else {"result": last.output}
