"""The program inside the expression sandbox: V8 or jq behind a pipe (run as a script).

:mod:`~microlab.orchestration.sandbox` starts ``python sandbox_child.py js`` (or ``jq``)
with an empty environment and reads one JSON reply line per JSON request line. This file
imports nothing from microlab: it is the part that may crash, so it stays small.

JavaScript: one V8 context whose intrinsics are frozen, whose host-clock, timer,
shared-memory and GC-dependent globals are removed, and whose global object is swept of
anything an evaluation added, before and after each evaluation; the heap has a hard
limit. jq: every query runs with ``$ENV`` and ``env`` empty and the host clock, files,
modules and stderr out of reach; the process has a bound on its address space.
"""

import json
import os
import re
import signal
import sys

JS_HEAP_LIMIT = 256 * 1024 * 1024
JQ_ADDRESS_LIMIT = 1024 * 1024 * 1024

_JS_PRELUDE = r"""
(function () {
  "use strict";
  const g = globalThis;
  // The host clock, timers, locale data, shared memory and the garbage collector's
  // timing would each make a run unrepeatable: remove them.
  for (const name of ["Temporal", "Intl", "setTimeout", "clearTimeout", "setInterval", "clearInterval",
                      "__timer_manager", "WebAssembly", "SharedArrayBuffer", "Atomics",
                      "FinalizationRegistry", "WeakRef", "console"]) {
    if (!(name in g)) continue;
    try { delete g[name]; } catch (e) { /* not configurable: overwritten below */ }
    if (name in g) {
      try { g[name] = undefined; } catch (e) { Object.defineProperty(g, name, {value: undefined}); }
    }
  }
  const clock = function () {
    throw new Error("Date would read the wall clock; the simulation's time is workflow or task input");
  };
  clock.now = clock;
  clock.parse = clock;
  clock.UTC = clock;
  g.Date = clock;
  Math.random = function () {
    throw new Error("Math.random() would make the run unrepeatable; draw random numbers in a worker (self.random)");
  };
  const parse = JSON.parse, stringify = JSON.stringify, keys = Reflect.ownKeys;
  const baseline = new Set();
  function sweep() {
    // Drop every global an evaluation made; report one that cannot be dropped.
    let stuck = false;
    for (const name of keys(g)) {
      if (baseline.has(name)) continue;
      try { delete g[name]; } catch (e) { stuck = true; }
    }
    return stuck;
  }
  // Made by an indirect eval, so the learner's code (run by the direct eval inside it)
  // sees only $ and the globals, none of this prelude's names.
  const runner = Object.freeze((0, eval)("(function ($, __source) { return eval(__source); })"));
  function run(input, source) {
    return runner(parse(input), source);
  }
  const evaluate = function (input, source) {
    if (sweep()) return stringify({stuck: true});
    let value;
    try {
      value = run(input, source);
    } finally {
      sweep();
    }
    const kind = typeof value;
    if (kind === "function" || kind === "symbol" || kind === "bigint") {
      return stringify({bad: kind});
    }
    if (value === undefined) return stringify({undef: true});
    const text = stringify(value);
    if (text === undefined) return stringify({bad: kind});
    return stringify({v: text});
  };
  g.__microlab_eval = evaluate;
  // Freeze everything reachable from the global object (but not the global object
  // itself, so sloppy code may still assign undeclared names, swept afterwards).
  const seen = new Set([g]);
  const todo = [g];
  function visit(o) {
    if ((typeof o === "object" && o !== null) || typeof o === "function") {
      if (!seen.has(o)) { seen.add(o); todo.push(o); }
    }
  }
  while (todo.length) {
    const o = todo.pop();
    visit(Object.getPrototypeOf(o));
    for (const k of keys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (d === undefined) continue;
      visit(d.value); visit(d.get); visit(d.set);
    }
  }
  for (const o of seen) {
    if (o !== g) { try { Object.freeze(o); } catch (e) { /* a typed array with elements */ } }
  }
  for (const name of keys(g)) {
    const d = Object.getOwnPropertyDescriptor(g, name);
    if (d.configurable || d.writable) {
      Object.defineProperty(g, name, "value" in d ? {writable: false, configurable: false}
                                                   : {configurable: false});
    }
    baseline.add(name);
  }
})();
"""


def _js_engine():
    from py_mini_racer import MiniRacer

    def fresh():
        ctx = MiniRacer()
        ctx.set_hard_memory_limit(JS_HEAP_LIMIT)
        ctx.eval(_JS_PRELUDE)
        return ctx

    state = {"ctx": fresh()}

    def handle(request):
        ctx = state["ctx"]
        try:
            raw = ctx.call("__microlab_eval", request["in"], request["src"])
        except Exception as exc:  # JSEvalException, JSOOMException, ...
            kind = type(exc).__name__
            if "OOM" in kind or ctx.was_hard_memory_limit_reached():
                state["ctx"].close()
                state["ctx"] = fresh()
                return {"oom": JS_HEAP_LIMIT}
            return {"err": str(exc), "type": kind}
        reply = json.loads(raw)
        if reply.get("stuck"):
            # A global that cannot be deleted (defineProperty with configurable: false):
            # start again from a fresh context so the next evaluation is clean.
            ctx.close()
            state["ctx"] = fresh()
            return handle(request)
        return reply

    return handle


_JQ_PRELUDE = (
    'def env: {}; def now: error("now would read the host clock; the simulation\'s time is workflow '
    'or task input"); def localtime: error("localtime reads the host time zone; use gmtime"); '
    'def strflocaltime(f): error("strflocaltime reads the host time zone; use strftime"); '
    'def input_filename: null; def get_search_list: []; def get_jq_origin: null; '
    'def get_prog_origin: null; def modulemeta: error("modules are not available"); '
    'def input: error("a JSON_JQ_TRANSFORM reads only its input"); def inputs: empty; '
    'def debug: .; def debug(m): .; def stderr: .; '
    'def halt: error("halt is not available"); def halt_error: error("halt_error is not available"); '
    'def halt_error(c): error("halt_error is not available"); '
    '{} as $ENV | '
)


def _jq_engine():
    import resource

    import jq

    resource.setrlimit(resource.RLIMIT_AS, (JQ_ADDRESS_LIMIT, JQ_ADDRESS_LIMIT))
    programs = {}

    def handle(request):
        query = request["q"]
        program = programs.get(query)
        if program is None:
            try:
                # The user's query is wrapped in parentheses after the prelude, so an
                # `import` or `include` directive cannot reach a file.
                program = jq.compile(_JQ_PRELUDE + "(" + query + "\n)")
            except ValueError as exc:
                # jq quotes the whole program, prelude included: keep its first line,
                # without a position that counts the prelude's characters.
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
                first = re.sub(r" at <top-level>, line \d+, column \d+:?", "", first)
                return {"compile": first}
            except MemoryError:
                return {"oom": JQ_ADDRESS_LIMIT}
            if len(programs) > 512:
                programs.clear()
            programs[query] = program
        try:
            return {"v": program.input_text(request["text"]).all()}
        except ValueError as exc:
            return {"err": str(exc)}
        except MemoryError:
            return {"oom": JQ_ADDRESS_LIMIT}

    return handle


def main(kind: str) -> None:
    """Answer requests on stdin until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop us
    handle = _js_engine() if kind == "js" else _jq_engine()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    stdout.write(b'{"ready": true}\n')
    stdout.flush()
    while True:
        line = stdin.readline()
        if not line:
            break
        try:
            reply = handle(json.loads(line))
            text = json.dumps(reply)
        except RecursionError:
            text = json.dumps({"err": "the value is nested too deeply"})
        except Exception as exc:  # never die silently: the parent turns this into an error
            text = json.dumps({"err": f"{type(exc).__name__}: {exc}"})
        stdout.write(text.encode("utf-8", "surrogatepass") + b"\n")
        stdout.flush()
    stdout.flush()
    os._exit(0)  # skip finalisers: an unclosed V8 context must not hang the exit


if __name__ == "__main__":
    main(sys.argv[1])
