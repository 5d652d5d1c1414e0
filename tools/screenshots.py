"""Screenshot every notebook of the course in JupyterLab, cell by cell (``make screenshots``).

Starts JupyterLab (on a free port of 127.0.0.1, in a throwaway copy of the notebooks, so
nothing is saved into the course), opens each notebook in headless Chromium, runs all its
cells, and saves a PNG of each cell that has outputs to
``artifacts/screenshots/notebooks/<notebook>-cellNN.png`` (cells counted from 1). Lists
what went wrong in any notebook and exits 1 if anything did.

``python -m tools.screenshots [--notebooks DIR] [--out DIR] [--only NAME ...]``
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tools import browser, notebook_run

REPO = Path(__file__).resolve().parent.parent


def screenshot_course(notebooks: str | Path = REPO / "notebooks", out: str | Path = browser.SCREENSHOTS / "notebooks",
                      only: list[str] | None = None, log=print) -> dict[str, list[str]]:
    """Run and photograph each notebook; return ``{notebook: problems}`` (empty lists when healthy).

    ``only`` restricts the run to those notebook names. Raises :class:`tools.browser.BrowserError`
    when Chromium is missing or the server cannot start.
    """
    source = Path(notebooks)
    names = sorted(p.name for p in source.glob("*.ipynb"))
    if only:
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise browser.BrowserError(f"no notebook {unknown[0]!r} in {source}; there are: {', '.join(names)}")
        names = [n for n in names if n in only]
    if not names:
        raise browser.BrowserError(f"no notebooks in {source}")
    results = {}
    with tempfile.TemporaryDirectory(prefix="microlab-screenshots-") as tmp:
        copy = Path(tmp) / "notebooks"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        with browser.JupyterLab(copy, workdir=Path(tmp) / "server") as lab, browser.chromium() as chromium:
            context = chromium.new_context(viewport=browser.VIEWPORT)
            blocked = browser.block_network(context)
            for name in names:
                page = context.new_page()
                try:
                    notebook_run.open_notebook(page, lab, name)
                    run = notebook_run.run_all_cells(page, name, timeout=600)
                    shots = notebook_run.screenshot_cells(page, out, Path(name).stem)
                    results[name] = run.problems
                    log(f"{name:40} {len(shots):3} screenshots  {run.seconds:5.1f} s  "
                        + ("ok" if not run.problems else f"{len(run.problems)} problem(s)"))
                except browser.BrowserError as e:
                    results[name] = [str(e)]
                    log(f"{name:40} failed: {e}")
                finally:
                    page.close()
                    lab.close_notebook(name)
            for url in blocked:
                log(f"blocked a request off this machine: {url}")
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line; exits 1 when a notebook had problems or the browser could not run."""
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebooks", default=str(REPO / "notebooks"), help="folder of notebooks (default notebooks/)")
    parser.add_argument("--out", default=str(browser.SCREENSHOTS / "notebooks"), help="folder for the PNG files")
    parser.add_argument("--only", nargs="*", help="only these notebook file names")
    args = parser.parse_args(argv)
    start = time.monotonic()
    try:
        results = screenshot_course(args.notebooks, args.out, args.only)
    except browser.BrowserError as e:
        print(f"screenshots failed: {e}", file=sys.stderr)
        return 1
    bad = {name: problems for name, problems in results.items() if problems}
    for name, problems in bad.items():
        for p in problems:
            print(f"{name}: {p}", file=sys.stderr)
    print(f"{len(results)} notebooks in {time.monotonic() - start:.0f} s; screenshots in {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
