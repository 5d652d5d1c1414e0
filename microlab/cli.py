"""The command line: check and run Netflix Conductor workflow definitions on toy services.

    python -m microlab validate FILE.json [FILE.json ...] [--task-defs DEFS.json]
    python -m microlab run FILE.json [--input JSON|@FILE|-] [--worker-output REF=JSON] [--fail REF[:TIMES]]
                                     [--seed N] [--task-defs DEFS.json] [--json]
                                     [--server URL | --real] [--timeout SECONDS]

``validate`` prints every fault with its JSON path; the exit status is 0 only when
every file is valid. ``run`` starts the first definition of FILE (the others are
available as sub-workflows and failure workflows) on toy services: every SIMPLE task is
answered by a toy worker named after the task, every HTTP task by a toy worker named
after the first segment of its URI's path. It prints the tasks in the order they were
scheduled, with status, attempt and times, then the workflow's status and output (or,
with ``--json``, the execution as one JSON document). Exit status of ``run``: 0 when the
workflow COMPLETED, 1 when it ended otherwise (or never ended), 2 when the definition or
the options are invalid or a file cannot be read. ``--input @in.json`` reads the input
from a file (``-`` from standard input), for inputs beyond the command line's length limit.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import DefinitionError, did_you_mean

EXAMPLES = """\
examples:
  python -m microlab validate microlab/data/workflows/order_fulfillment.json
  python -m microlab run microlab/data/workflows/order_fulfillment.json \\
      --input '{"orderId": "o-1", "amount": 30}'
  python -m microlab run microlab/data/workflows/order_fulfillment.json --fail book_shipment
  python -m microlab run microlab/data/workflows/order_fulfillment.json --fail charge_payment:1 --json
  python -m microlab run wf.json --worker-output 't1={"op": "done"}' --task-defs taskdefs.json
  python -m microlab run microlab/data/workflows/order_fulfillment.json --real --fail book_shipment
"""

RUN_HELP = """\
Every SIMPLE task is answered by a toy worker (a service named after the task) and
every HTTP task by a toy worker named after the first path segment of its URI (an HTTP
toy worker fails with the status given by a ?status=NNN query of 400 or more). Task
definitions (retries, timeouts) come from --task-defs or a task's inline
taskDefinition; a task with neither uses Conductor's defaults (SIMPLE: 3 retries, 60 s
apart, a 3600 s response timeout; system tasks such as HTTP: no retries).
Exit status: 0 when the workflow COMPLETED, 1 when it ended otherwise, 2 for invalid input.
"""


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except DefinitionError as exc:
        _print_faults(getattr(args, "file", "?"), exc)
        return 2
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


class _UsageError(Exception):
    """A bad command-line option (exit status 2)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m microlab",
        description="microlab: check and run Netflix Conductor workflow definitions on simulated "
                    "toy services (the course itself is in the notebooks: make course).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{validate,run,real-broker}")

    v = sub.add_parser("validate", help="check Conductor workflow definitions; print each fault with its JSON path",
                       description="Check Conductor workflow definitions (a WorkflowDef, or a JSON list of them). "
                                   "Prints each fault with its JSON path; exit status 0 only when all are valid.")
    v.add_argument("files", nargs="+", metavar="FILE.json", help="a workflow definition or a list of them")
    v.add_argument("--task-defs", metavar="DEFS.json", help="a JSON list of Conductor TaskDefs to check too")
    v.set_defaults(func=_validate)

    r = sub.add_parser("run", help="run a workflow on toy services and print its execution",
                       description="Run the first workflow of FILE (the others serve as sub-workflows and "
                                   "failure workflows) on toy services and print the execution.",
                       epilog=RUN_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("file", metavar="FILE.json", help="a workflow definition or a list of them (main first)")
    r.add_argument("--input", default="{}", metavar="JSON",
                   help="the workflow input, a JSON object; @FILE reads it from FILE, - from standard input")
    r.add_argument("--worker-output", action="append", default=[], metavar="TASKREF=JSON",
                   help="what the worker for task TASKREF returns (repeatable)")
    r.add_argument("--fail", action="append", default=[], metavar="TASKREF[:TIMES]",
                   help="the worker fails task TASKREF always, or its first TIMES attempts (repeatable)")
    r.add_argument("--seed", type=int, default=1, metavar="N", help="the simulation's random seed (default 1)")
    r.add_argument("--latency", type=_seconds("--latency"), default=0.01, metavar="SECONDS",
                   help="mean network latency, exponentially distributed (default 0.01; 0 for none)")
    r.add_argument("--task-defs", metavar="DEFS.json", help="a JSON list of Conductor TaskDefs")
    r.add_argument("--json", action="store_true", help="print the execution as one JSON document")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="URL", help="run on the real Conductor server at URL "
                       "(toy workers poll it for tasks); e.g. http://127.0.0.1:8080")
    where.add_argument("--real", action="store_true",
                       help="start a real Conductor server on 127.0.0.1 for this run (needs Java 17 and "
                            "the server jar; see microlab/real/conductor_server.py), then run on it")
    r.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                   help="with --server/--real: how long to wait for the workflow to end (default 120)")
    r.set_defaults(func=_run)

    from .real.broker.cli import add_subcommand  # its options live beside the real broker
    add_subcommand(sub)
    return parser


# -- validate -----------------------------------------------------------------------------------

def _validate(args) -> int:
    from .orchestration.conductor import load_task_defs, load_workflows, read_json
    from .orchestration.validate import check_references
    ok = True
    for path in args.files:
        try:
            workflows = load_workflows(path)
            data = read_json(path)
            labelled = ([(f"$[{i}]", wf) for i, wf in enumerate(workflows)] if isinstance(data, list)
                        else [("$", workflows[0])])
            faults = check_references(labelled)
            if faults:
                raise DefinitionError(faults, what="Conductor workflow definition")
        except DefinitionError as exc:
            _print_faults(path, exc)
            ok = False
            continue
        names = ", ".join(f"{wf.name} v{wf.version} ({sum(1 for _ in wf.walk())} tasks)" for wf in workflows)
        print(f"{path}: valid: {names}")
    if args.task_defs:
        try:
            defs = load_task_defs(args.task_defs)
            print(f"{args.task_defs}: valid: {len(defs)} task definition{'s' if len(defs) != 1 else ''}")
        except DefinitionError as exc:
            _print_faults(args.task_defs, exc)
            ok = False
    return 0 if ok else 1


def _print_faults(path, exc: DefinitionError) -> None:
    print(f"{path}: invalid ({len(exc.faults)} fault{'s' if len(exc.faults) != 1 else ''})")
    for where, message in exc.faults:
        print(f"  {where}: {message}")


# -- run ----------------------------------------------------------------------------------------

def _run(args) -> int:
    from .orchestration import model as m
    from .orchestration.conductor import load_task_defs
    from .orchestration.toyrun import ToyRunError, load, run_toy, toy_services

    workflows = load(args.file)          # raises DefinitionError with JSON paths
    try:
        task_defs = load_task_defs(args.task_defs) if args.task_defs else {}
    except DefinitionError as exc:
        _print_faults(args.task_defs, exc)
        return 2
    inp = _json_option("--input", _input_text(args.input))
    if not isinstance(inp, dict):
        raise _UsageError(f"--input must be a JSON object, got {args.input!r}")
    by_ref = toy_services(workflows).by_ref

    outputs: dict[str, dict] = {}
    for item in args.worker_output:
        ref, _, text = item.partition("=")
        _known_ref("--worker-output", ref, by_ref)
        value = _json_option(f"--worker-output {ref}", text)
        if not isinstance(value, dict):
            raise _UsageError(f"--worker-output {ref}: the output must be a JSON object, got {text!r}")
        outputs[ref] = value
    fails: list = []
    for item in args.fail:
        ref, _, times = item.partition(":")
        _known_ref("--fail", ref, by_ref)
        if times and not times.isdigit():
            raise _UsageError(f"--fail {item}: TIMES must be a whole number, as in --fail {ref}:2")
        fails.append((ref, int(times) if times else None))
    if args.server or args.real:
        from .real.cli import run as run_on_conductor
        return run_on_conductor(args, inp, outputs, fails)

    try:
        run = run_toy(workflows, inp, fail=fails, outputs=outputs, seed=args.seed,
                      latency=args.latency, task_defs=task_defs)
    except ToyRunError as exc:
        raise _UsageError(str(exc)) from None
    result = run.execution
    print_execution(result, args.json, f"run of {args.file} (seed {args.seed})")
    for failure in run.system.failures:
        print(f"handler failure: {failure}", file=sys.stderr)
    if run.storm is not None:
        print(f"stopped: {run.storm}", file=sys.stderr)
    return 0 if result.status == m.COMPLETED else 1


def print_execution(execution, as_json: bool, heading: str) -> None:
    """Print a run's execution for ``run``: as JSON, or a heading and the table (simulated or real)."""
    if as_json:
        print(execution.to_json())
    else:
        print(heading)
        print(execution.format())


def _json_option(option: str, text: str):
    from .orchestration.conductor import read_json
    shown = text if len(text) <= 80 else text[:77] + "..."
    if not text.strip():
        raise _UsageError(f"{option}: empty; give a JSON value such as '{{}}'")
    try:
        return read_json(text, what="option") if text.lstrip()[:1] in "{[" else json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _UsageError(f"{option}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
                          f"{shown!r}") from None
    except DefinitionError as exc:
        raise _UsageError(f"{option}: {exc.faults[0][1]}") from None
    except (ValueError, RecursionError) as exc:
        raise _UsageError(f"{option}: not valid JSON ({exc}): {shown!r}") from None


def _no_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _input_text(value: str) -> str:
    """``--input``: JSON text, ``@FILE`` (the file's text) or ``-`` (standard input)."""
    from .orchestration.conductor import read_text
    if value == "-":
        try:
            return sys.stdin.buffer.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _UsageError(f"--input -: standard input is not UTF-8 text (byte at offset {exc.start})") from None
    if value.startswith("@"):
        if not value[1:]:
            raise _UsageError("--input @: name the file, as in --input @input.json")
        try:
            return read_text(value[1:], what="input file")
        except DefinitionError as exc:
            raise _UsageError(f"--input {value}: {exc.faults[0][1]}") from None
    return value


def _seconds(option: str):
    """An argparse type: a finite number of seconds >= 0, or an error naming ``option``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"{text!r}: give a finite number of seconds")
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text!r}: a latency cannot be negative")
        return value
    parse.__name__ = option
    return parse


def _known_ref(option: str, ref: str, by_ref: dict) -> None:
    if ref in by_ref:
        return
    guess = did_you_mean(ref, sorted(by_ref))
    raise _UsageError(f"{option} {ref}: no SIMPLE or HTTP task has taskReferenceName {ref!r}{guess} "
                      f"Tasks that workers answer: {', '.join(by_ref) or 'none'}")
