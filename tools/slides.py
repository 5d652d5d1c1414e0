"""Slides: a chapter shown as reveal.js slides with RISE, live, offline, from JupyterLab.

``make slides NB=05_performance`` runs ``python -m tools.slides``: JupyterLab on
127.0.0.1 (token on; as root with ``--allow-root``) serving the repository, and the URL
of RISE's slideshow of the instructor notebook (``/rise/solutions/NN_x.ipynb``), which
JupyterLab opens in the browser. Each slide runs live: press Shift+Enter on a code cell
to run it, or run every cell first in JupyterLab. RISE (``jupyterlab-rise``) bundles
reveal.js, so nothing is fetched from the internet. Which cell starts a slide is in the
notebook's metadata (``scripts/slide_metadata.py``). Stop it with Ctrl-C.

``python -m tools.slides [NOTEBOOK] [--port N] [--dry-run]``
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path
from urllib.parse import quote

from tools.course import ROOT_WARNING, course_environment, install_overrides, lab_command

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
#: Shown when no notebook is named: the first chapter with a lab.
DEFAULT = SOLUTIONS / "01_two_ways.ipynb"
DEFAULT_PORT = 8890


def choose_notebook(name: str | os.PathLike | None = None) -> Path:
    """The notebook to show: a path, or a chapter's name (``05_performance``) in ``solutions/``."""
    if not name:
        return DEFAULT
    for path in (Path(name), SOLUTIONS / str(name), SOLUTIONS / f"{name}.ipynb"):
        if path.is_file() and path.suffix == ".ipynb":
            if not path.resolve().is_relative_to(REPO):
                raise FileNotFoundError(f"NB={name}: the slides serve the repository; give a notebook inside it")
            return path.resolve()
    known = sorted(p.stem for p in SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    raise FileNotFoundError(f"NB={name}: no such notebook; give a path or one of: {', '.join(known)}")


def rise_path(notebook: Path) -> str:
    """The URL path of RISE's slideshow of ``notebook`` (served from the repository's root)."""
    return "/rise/" + quote(notebook.resolve().relative_to(REPO).as_posix())


def slides_command(notebook: Path, port: int = DEFAULT_PORT) -> list[str]:
    """JupyterLab serving the repository, opening the browser on the slideshow of ``notebook``."""
    cmd = lab_command(port, notebooks=REPO)
    return [*cmd, f"--ServerApp.default_url={rise_path(notebook)}", "--ServerApp.port_retries=0"]


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); runs JupyterLab in this process until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m tools.slides", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", nargs="?", help="a chapter (05_performance) or a notebook path; default 01")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--dry-run", action="store_true", help="print the command and URL instead of running")
    args = parser.parse_args(argv)
    try:
        notebook = choose_notebook(args.notebook)
    except (FileNotFoundError, ValueError) as exc:
        parser.error(str(exc))
    cmd = slides_command(notebook, args.port)
    # A token of our own, so that the URL printed here opens the slides at once; through the
    # environment, not the command line, where other users of the machine could read it.
    token = os.environ.get("JUPYTER_TOKEN") or secrets.token_hex(24)
    url = f"http://127.0.0.1:{args.port}{rise_path(notebook)}?token={token}"
    if "--allow-root" in cmd:
        print(ROOT_WARNING, file=sys.stderr, flush=True)
    if args.dry_run:
        print(" ".join(cmd))
        print(url)
        return 0
    install_overrides()
    print(f"Slides of {notebook.relative_to(REPO)}: {url}\n(Space or arrows: next slide; "
          "Shift+Enter runs a cell; Ctrl-C stops)", flush=True)
    # No grading menus on the projector either (course_environment keeps nbgrader off).
    os.execve(cmd[0], cmd, dict(course_environment(), JUPYTER_TOKEN=token))


if __name__ == "__main__":
    sys.exit(main())
