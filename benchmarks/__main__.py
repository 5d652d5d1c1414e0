"""``python -m benchmarks``: run the report's sections and print their tables.

    python -m benchmarks                 # everything, full sizes (a few minutes)
    python -m benchmarks --quick         # smoke sizes: checks it runs, in seconds
    python -m benchmarks --only kernel   # some sections (comma-separated)
    python -m benchmarks --orders 20000 --repeats 7 --scale-messages 200000

The exit status is 1 if a section failed (its error is printed in the report).
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback

from . import SECTIONS, Section
from .options import Options
from .table import Table, from_rows


def machine() -> str:
    """One line naming the machine: CPU model, cores, Python."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()} "
            f"({platform.python_implementation()}), {platform.system()} {platform.release()}")


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the shared machine was."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def as_tables(name: str, produced) -> list[Table]:
    """Normalise what a section's ``run`` returned into a list of tables."""
    if isinstance(produced, Table):
        return [produced]
    produced = list(produced or [])
    if produced and all(isinstance(t, Table) for t in produced):
        return produced
    if all(isinstance(r, dict) for r in produced):
        return [from_rows(name, produced)]
    raise TypeError(f"section {name!r}: run(options) must return a Table, a list of Tables "
                    f"or a list of dicts (one per row), got {produced!r:.200}")


def run_section(section: Section, options: Options) -> tuple[list[Table], bool]:
    """Run one section; returns its tables and whether it succeeded.

    A missing module is a row saying so, not a failure; any other error is reported
    in the table and counts as a failure.
    """
    name, module, what = section.name, section.module, section.what
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        table = Table(f"{name}: {what}", ["section", "status"])
        table.add(name, f"not yet available (add {module.replace('.', '/')}.py with run(options))")
        return [table], True
    start = time.perf_counter()
    try:
        produced = section.call(mod, options) if section.call else mod.run(options)
        tables = as_tables(f"{name}: {what}", produced)
    except Exception:
        table = Table(f"{name}: {what}", ["section", "status"])
        last = traceback.format_exc().strip().splitlines()[-1]
        table.add(name, f"FAILED: {last}")
        traceback.print_exc(file=sys.stderr)
        return [table], False
    if tables:
        tables[-1].notes.append(f"(section {name!r} took {time.perf_counter() - start:.1f} s)")
    return tables, True


def parse(argv) -> tuple[Options, list]:
    """Options and the selected sections from the command line."""
    names = [s.name for s in SECTIONS]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke sizes (seconds): checks it runs")
    parser.add_argument("--only", default=",".join(names),
                        help=f"comma-separated sections to run, from: {', '.join(names)}")
    parser.add_argument("--orders", type=int, help="orders per kernel run (default 10,000)")
    parser.add_argument("--repeats", type=int, help="alternating repetitions (default 5)")
    parser.add_argument("--scale-messages", type=int, help="messages in the scale run (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="the simulations' seed (default 1)")
    args = parser.parse_args(argv)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in names]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(names)}")
    changes = {k: v for k, v in (("orders", args.orders), ("repeats", args.repeats),
                                 ("scale_messages", args.scale_messages), ("seed", args.seed))
               if v is not None}
    options = Options.smoke(**changes) if args.quick else Options(**changes)
    return options, [s for s in SECTIONS if s.name in chosen]


def main(argv=None) -> int:
    """Run the chosen sections, print the report; 0 if every section ran, else 1."""
    options, sections = parse(sys.argv[1:] if argv is None else argv)
    print(f"## microlab benchmarks{' (--quick: smoke sizes, figures mean nothing)' if options.quick else ''}")
    print()
    print(f"Machine: {machine()}.")
    print(f"Options: {options}.")
    print(f"Load average before: {load_average()} (2 would mean both cores already busy).")
    ok = True
    for section in sections:
        tables, fine = run_section(section, options)
        ok &= fine
        for table in tables:
            print()
            print(table.to_markdown(), flush=True)
    print()
    print(f"Load average after: {load_average()}.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
