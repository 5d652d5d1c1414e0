"""Before/after for performance work on the core: ``python -m benchmarks.compare_core [REF] [--after REF2]``.

Loads the ``microlab`` package as it is at git revision REF (default ``HEAD``) under the
name ``microlab_ref``, next to the working tree's ``microlab`` (or, with ``--after``,
revision REF2's, as ``microlab_after``: one step of a series measured against its
parent), and runs the order saga
with both, alternately (REF, working tree, REF, ...), trace on and off. It prints the
medians of CPU time (steadier than the wall clock on a shared machine) and their ratio, and checks first that both versions write byte-identical
traces (same digest): a faster core that changes the trace is not an optimisation.

It only reads the repository (``git archive``); nothing is checked out. When the working
tree runs microlab's compiled hot path (``microlab/_speedups.c`` built, ``MICROLAB_PURE``
unset) and REF has one, REF's is compiled too, into the temporary folder, so that like is
compared with like; the table says which path each side ran.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import types
from pathlib import Path

from .measure import alternate
from .saga import Load
from .table import Table

ROOT = Path(__file__).resolve().parent.parent
MODELS = Path(__file__).resolve().parent / "models_microlab.py"


def load_ref(ref: str, into: Path, name: str = "microlab_ref", *, compile_like_mine: bool = False) -> types.ModuleType:
    """Import the ``microlab`` package of revision ``ref`` as ``name`` (``microlab_ref``).

    ``compile_like_mine``: compile ``ref``'s hot path when it has one and the working
    tree's runs compiled (a speed comparison); otherwise ``ref`` runs pure Python."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref, "microlab"], cwd=ROOT,
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"git archive {ref} microlab failed: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        # The "data" filter (refuse links and absolute paths) exists from Python 3.11.4.
        extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(into, **extra)
    shutil.move(str(into / "microlab"), str(into / name))
    if compile_like_mine and (into / name / "_speedups.c").exists() and hot_path("microlab") == "compiled":
        build_speedups(into, name)
    sys.path.insert(0, str(into))
    package = importlib.import_module(name)  # from the folder just added

    if not package.System.__module__.startswith(name):
        raise SystemExit(f"the package of {ref} imports the working tree's microlab: cannot compare")
    return package


#: Where REF's compiled hot path is kept between runs: ``$MICROLAB_CACHE/speedups`` or
#: ``~/.cache/microlab/speedups``, one build per source text, Python version and package name.
SPEEDUPS_CACHE = Path(os.environ.get("MICROLAB_CACHE", Path.home() / ".cache" / "microlab")) / "speedups"


def build_speedups(into: Path, name: str, cache: Path | None = SPEEDUPS_CACHE) -> None:
    """Compile ``into/name/_speedups.c`` as ``name._speedups``, in place (setuptools' build_ext).

    The build is kept in ``cache`` (None: not kept), keyed by the C source's hash, the
    interpreter's extension suffix and ``name``: comparing against the same REF again, as a
    series of runs does, copies it instead of compiling it again."""
    import hashlib
    import sysconfig

    from setuptools import Distribution, Extension

    source = into / name / "_speedups.c"
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    built = into / name / f"_speedups{suffix}"
    key = hashlib.sha256(source.read_bytes() + f"{suffix} {name}".encode()).hexdigest()[:20]
    kept = cache / key / built.name if cache is not None else None
    if kept is not None and kept.exists():
        shutil.copy2(kept, built)
        return
    dist = Distribution({"ext_modules": [Extension(f"{name}._speedups", [str(source)])]})
    dist.verbose = 0  # quiet, as pip is: the compiler's lines would bury the table
    build = dist.get_command_obj("build_ext")
    build.build_lib, build.build_temp = str(into), str(into / "build")
    build.ensure_finalized()
    build.run()
    if kept is not None:
        # Written under a temporary name, then renamed: a run stopped midway leaves no half file.
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(".partial")
        shutil.copy2(built, partial)
        partial.replace(kept)


def hot_path(package: str) -> str:
    """"compiled" or "pure Python": which hot path ``package`` (imported) runs."""
    try:
        compiled = importlib.import_module(f"{package}.compiled")
    except ImportError:  # a revision from before the compiled hot path
        return "pure Python"
    return "pure Python" if compiled.speedups is None else "compiled"


def models(package: str) -> types.ModuleType:
    """benchmarks/models_microlab.py, built on ``package`` instead of ``microlab``."""
    source = MODELS.read_text().replace("from microlab import", f"from {package} import")
    module = types.ModuleType(f"models_on_{package}")
    module.__package__ = "benchmarks"
    module.PACKAGE = package
    exec(compile(source, str(MODELS), "exec"), module.__dict__)
    return module


def compare(ref_models, new_models, load: Load, repeats: int) -> Table:
    """Digests first (must be equal), then alternating timings; a table of medians."""
    table = Table(f"Core before/after: {load.orders:,} orders, {repeats} alternating repetitions, "
                  "medians of CPU time",
                  ["model", "trace", "before messages/s", "after messages/s", "after / before"])
    small = Load(orders=min(load.orders, 500), seed=load.seed)
    for pattern in ("orchestration", "choreography"):
        digests = []
        for m in (ref_models, new_models):
            system = m.build(pattern, small)
            system.run()
            digests.append(system.trace.digest())
        if digests[0] != digests[1]:
            raise SystemExit(f"{pattern}: the working tree writes a different trace than the "
                             f"reference ({digests[0][:12]} != {digests[1][:12]}): not a pure speed-up")
        for trace in (True, False):
            samples = alternate({
                "before": lambda: ref_models.run(pattern, load, trace),
                "after": lambda: new_models.run(pattern, load, trace),
            }, repeats, clock=time.process_time)
            samples["after"].result.same_run_as(samples["before"].result, "after", "before")
            rate = {k: s.result.messages / s.median for k, s in samples.items()}
            table.add(pattern, "on" if trace else "off", rate["before"], rate["after"],
                      f"{rate['after'] / rate['before']:.2f}x")
    table.notes.append("Traces of both versions were checked byte-identical (same digest) first. "
                       f"Hot path: before {hot_path(getattr(ref_models, 'PACKAGE', 'microlab'))}, "
                       f"after {hot_path(getattr(new_models, 'PACKAGE', 'microlab'))}"
                       + (" (MICROLAB_PURE is set)." if os.environ.get("MICROLAB_PURE", "") not in ("", "0") else "."))
    return table


def main(argv=None) -> int:
    """Compare the working tree's core with revision REF and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare_core", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ref", nargs="?", default="HEAD", help="git revision to compare with (HEAD)")
    parser.add_argument("--after", metavar="REF2", default=None,
                        help="git revision to measure instead of the working tree")
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        load_ref(args.ref, Path(tmp) / "before", compile_like_mine=True)
        after = "microlab"
        if args.after is not None:
            after = "microlab_after"
            load_ref(args.after, Path(tmp) / "after", after, compile_like_mine=True)
        table = compare(models("microlab_ref"), models(after), Load(orders=args.orders), args.repeats)
    print(table.to_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
