"""``python -m microlab run FILE.json --server URL`` (or ``--real``): the run on a real server.

The command line's ``run`` hands over here when either option is given; the options
(``--input``, ``--fail``, ``--worker-output``, ``--task-defs``, ``--json``) mean what
they mean for a simulated run, and the execution prints in the same format.
"""

from __future__ import annotations

import sys


def run(args, inp: dict, outputs: dict, fails: list) -> int:
    """Run ``args.file`` on a real Conductor; returns the exit status (0 COMPLETED, 1 not, 2 no run)."""
    import json

    from .client import ConductorError
    from .conductor_server import ConductorServer, ConductorUnavailable
    from ..cli import print_execution
    from .run import RealRunError, run_real

    task_defs = None
    if args.task_defs:
        with open(args.task_defs) as f:
            task_defs = json.load(f)
        task_defs = task_defs if isinstance(task_defs, list) else [task_defs]
    server = None
    try:
        if args.real:
            print("starting a Conductor server on 127.0.0.1 (about 20-60 s)...", file=sys.stderr)
            server = ConductorServer().start()
            print(f"Conductor {server.url} healthy after {server.boot_seconds:.1f} s", file=sys.stderr)
        result = run_real(args.file, inp, fail=fails, outputs=outputs, task_defs=task_defs,
                          server=server or args.server, timeout=args.timeout)
    except (ConductorError, ConductorUnavailable, RealRunError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if server is not None:
            server.stop()
    execution = result.execution
    print_execution(execution, args.json, f"run of {args.file} on Conductor at {result.url}")
    for ref, wf_id, text in result.crashes:
        print(f"worker crash: task {ref} of workflow {wf_id}: {text}", file=sys.stderr)
    return 0 if execution.status == "COMPLETED" else 1
