"""One million messages through the order saga: time, peak memory, bytes per trace record.

Each measurement runs in a fresh Python process, so that the peak memory is this
run's alone and no earlier benchmark has warmed or fragmented the heap:

- a **time** run (trace on, compact, off): wall-clock seconds of building and running the
  system, and the process's peak resident memory (``ru_maxrss``);
- a **memory** run (trace on) under ``tracemalloc``: the peak of Python's own
  allocations during the run, what the finished trace retains, and where those bytes
  are: the record tuples (and their slots in the list), the messages they point to,
  the payloads and the timestamps.

Both are also run with the compact trace (``System(trace="compact")``, records kept in
columns: :mod:`microlab.compact`), the way to fit a run of many millions of messages.
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

from .saga import MESSAGES_PER_ORDER, Load
from .table import Table

PATTERN = "orchestration"
ROOT = Path(__file__).resolve().parent.parent


def orders_for(messages: int, pattern: str = PATTERN) -> int:
    """Orders needed to send at least ``messages`` messages."""
    return math.ceil(messages / MESSAGES_PER_ORDER[pattern])


# -- in the child process ---------------------------------------------------------------

def _rss_mib() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS; this benchmark reports Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


#: The ``System(trace=...)`` of each trace setting, by the name a child process is given.
TRACES = {"on": True, "compact": "compact", "off": False}


def time_run(pattern: str, orders: int, seed: int, trace: bool | str) -> dict:
    """Build and run the saga; wall seconds, messages, records, peak RSS (MiB)."""
    from . import models_microlab

    load = Load(orders=orders, seed=seed)
    before = _rss_mib()
    start = time.perf_counter()
    system = models_microlab.build(pattern, load, trace=trace)
    system.run()
    seconds = time.perf_counter() - start
    out = models_microlab.outcome(pattern, system)
    out.check_complete(load, pattern, "microlab")
    return {"seconds": seconds, "messages": out.messages, "records": len(system.trace),
            "rss_before_mib": before, "rss_peak_mib": _rss_mib()}


def accounting(records: list) -> dict:
    """Bytes held by a trace's records, by what holds them (each object counted once)."""
    size = sys.getsizeof
    seen: set = set()
    parts = {"record tuples": 0, "list slots": size(records), "timestamps": 0,
             "messages": 0, "payloads": 0, "strings": 0}

    def once(obj, part):
        if obj is not None and id(obj) not in seen:
            seen.add(id(obj))
            parts[part] += size(obj)
            return True
        return False

    for rec in records:
        parts["record tuples"] += size(rec)
        once(rec[0], "timestamps")
        for text in (rec[1], rec[2]):
            once(text, "strings")
        msg = rec[3]
        if msg is not None and once(msg, "messages"):
            once(msg.sent_at, "timestamps")
            for text in (msg.kind, msg.type, msg.source, msg.destination, msg.topic, msg.correlation):
                once(text, "strings")
            if once(msg.payload, "payloads") and isinstance(msg.payload, dict):
                for key, value in msg.payload.items():
                    once(key, "strings")
                    once(value, "payloads")
        if rec[4] is not None:
            once(rec[4], "payloads")
    return parts


def memory_run(pattern: str, orders: int, seed: int, trace: bool | str = True) -> dict:
    """The run under tracemalloc: peak and retained bytes, and (for a trace of tuples) the
    retained bytes' owners."""
    import tracemalloc

    from . import models_microlab

    load = Load(orders=orders, seed=seed)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    system = models_microlab.build(pattern, load, trace=trace)
    system.run()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"records": len(system.trace), "messages": models_microlab.outcome(pattern, system).messages,
            "peak_bytes": peak - base, "retained_bytes": retained - base,
            "parts": accounting(system.trace.records) if trace is True else None}


def _child(argv) -> None:
    kind, pattern, orders, seed, trace = argv
    if kind == "time":
        result = time_run(pattern, int(orders), int(seed), TRACES[trace])
    else:
        result = memory_run(pattern, int(orders), int(seed), TRACES[trace])
    print(json.dumps(result))


# -- in the report's process -------------------------------------------------------------

def in_child(kind: str, pattern: str, orders: int, seed: int, trace: str = "on") -> dict:
    """Run one measurement in a fresh interpreter (``trace``: a key of :data:`TRACES`); its JSON result."""
    cmd = [sys.executable, "-m", "benchmarks.bench_scale", kind, pattern, str(orders), str(seed), trace]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"scale {kind} run failed ({' '.join(cmd[1:])}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


#: Issue 19's memory target: bytes per trace record that the finished run retains, at 1 M messages.
RECORD_TARGET_BYTES = 60


def run(options) -> list[Table]:
    """The scale section: time and memory of ``options.scale_messages`` messages."""
    orders = orders_for(options.scale_messages)
    timing = Table(
        f"Scale: {orders * MESSAGES_PER_ORDER[PATTERN]:,} messages through the {PATTERN} saga "
        f"({orders:,} orders), one fresh process per row",
        ["trace", "messages", "trace records", "wall s", "messages/s", "peak RSS MiB",
         "RSS growth MiB"])
    for trace in TRACES:
        r = in_child("time", PATTERN, orders, options.seed, trace)
        timing.add(trace, r["messages"], r["records"], r["seconds"],
                   r["messages"] / r["seconds"], r["rss_peak_mib"], r["rss_peak_mib"] - r["rss_before_mib"])
    mem = in_child("memory", PATTERN, orders, options.seed)
    packed = in_child("memory", PATTERN, orders, options.seed, "compact")
    records = mem["records"]
    memory = Table(
        f"Scale: memory of the traced run ({records:,} records), measured with tracemalloc",
        ["what", "MiB", "bytes per trace record", "share of retained"])
    memory.add("peak during the run", mem["peak_bytes"] / 2**20, mem["peak_bytes"] / records, "")
    memory.add("retained by the finished run", mem["retained_bytes"] / 2**20,
               mem["retained_bytes"] / records, "100%")
    parts = mem["parts"]
    for name, size in sorted(parts.items(), key=lambda kv: -kv[1]):
        memory.add(f"of which {name}", size / 2**20, size / records, f"{size / mem['retained_bytes']:.0%}")
    tuples = parts["record tuples"] + parts["list slots"]
    memory.notes.append(
        f"The record tuples and their list slots take {tuples / records:.0f} bytes per record "
        f"({tuples / mem['retained_bytes']:.0%} of what the run retains); the messages they "
        f"point to (one per {records / mem['messages']:.0f} records) take "
        f"{parts['messages'] / records:.0f}. Sizes are sys.getsizeof of each object, counted once.")
    memory.add("compact trace: peak during the run", packed["peak_bytes"] / 2**20,
               packed["peak_bytes"] / records, "")
    memory.add("compact trace: retained by the finished run", packed["retained_bytes"] / 2**20,
               packed["retained_bytes"] / records, f"{packed['retained_bytes'] / mem['retained_bytes']:.0%}")
    per_record = mem["retained_bytes"] / records
    least = min(per_record, packed["retained_bytes"] / records)
    memory.notes.append(
        f"Target (issue 19): at most {RECORD_TARGET_BYTES} bytes per record retained at 1 M messages; "
        f"{per_record:.0f} measured at {mem['messages']:,} messages with the trace on, "
        f"{packed['retained_bytes'] / records:.0f} with the compact trace: "
        f"{'met' if least <= RECORD_TARGET_BYTES else 'not met'}.")
    return [timing, memory]


def big_run(messages: int, seed: int = 1, trace: str = "on") -> Table:
    """One traced run of at least ``messages`` messages in a fresh process: wall time, peak
    RSS, and bytes per record from the RSS growth (tracemalloc's accounting would double the
    time and the memory at this size)."""
    import datetime
    import os

    orders = orders_for(messages)
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    r = in_child("time", PATTERN, orders, seed, trace)
    load_after = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    table = Table(
        f"Scale: {r['messages']:,} messages through the {PATTERN} saga ({orders:,} orders), "
        f"trace {trace}, one run in a fresh process",
        ["messages", "trace records", "wall s", "messages/s", "peak RSS MiB", "RSS growth MiB",
         "bytes per record (RSS growth)"])
    growth = r["rss_peak_mib"] - r["rss_before_mib"]
    table.add(r["messages"], r["records"], r["seconds"], r["messages"] / r["seconds"], r["rss_peak_mib"],
              growth, growth * 2**20 / r["records"])
    table.notes.append(f"Run {when}; load average (1, 5, 15 min) {load_before} before, {load_after} after. "
                       "Wall time covers building and running the system; RSS from ru_maxrss.")
    return table


def main(argv) -> None:
    """``python -m benchmarks.bench_scale --messages N``: one big traced run (not part of make test)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scale",
                                     description="One traced run of the orchestration saga at scale.")
    parser.add_argument("--messages", type=int, default=10_000_000, help="messages (default 10,000,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace", choices=["on", "compact"], default="on",
                        help="keep the records as tuples (on, the default) or in columns (compact)")
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error(f"--messages must be a positive integer, got {args.messages}")
    print(big_run(args.messages, args.seed, args.trace).to_markdown())


if __name__ == "__main__":
    if sys.argv[1:2] and sys.argv[1].startswith("-"):
        main(sys.argv[1:])
    else:
        _child(sys.argv[1:])
