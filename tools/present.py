"""Presentation mode: one lab notebook as a standalone Voila app, for projecting in class.

``make present`` runs ``python -m tools.present``: Voila executes the notebook in a fresh
kernel and shows only its outputs (text, figures, live widgets; no code cells) at
``http://127.0.0.1:8866/``. Choose the notebook with ``make present NB=notebooks/x.ipynb``
and the port with ``VOILA_PORT=...``. Stop it with Ctrl-C.

Which notebook, when none is named: :data:`DEFAULT_LABS` if it exists, else
:data:`FALLBACK`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

#: The labs notebook presented by default.
DEFAULT_LABS = REPO / "notebooks" / "labs.ipynb"

#: What is presented while the labs notebook does not exist yet: the first chapter with a lab
#: (00 has none).
FALLBACK = REPO / "notebooks" / "01_two_ways.ipynb"

#: Voila's usual port, so an instructor's bookmark keeps working.
DEFAULT_PORT = 8866


def choose_notebook(name: str | os.PathLike | None = None) -> Path:
    """Resolve the notebook to present: ``name`` (a path, or a name in ``notebooks/``), else the labs.

    Raises ``FileNotFoundError`` listing the notebooks there are when ``name`` matches none.
    """
    if name:
        candidates = [Path(name), REPO / "notebooks" / name, REPO / "notebooks" / f"{name}.ipynb"]
        for path in candidates:
            if path.is_file() and path.suffix == ".ipynb":
                return path.resolve()
        known = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
        raise FileNotFoundError(f"NB={name}: no such notebook; give a path or one of: {', '.join(known) or '(none)'}")
    return DEFAULT_LABS if DEFAULT_LABS.is_file() else FALLBACK


def voila_command(notebook: str | os.PathLike, port: int = DEFAULT_PORT) -> list[str]:
    """The Voila command line that serves ``notebook`` on 127.0.0.1:``port`` without opening a browser."""
    return [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
            "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
            # In class, a failing cell should say why rather than show a blank page.
            "--show_tracebacks=True"]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tools.present [NOTEBOOK] [--port N]``; runs until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m tools.present", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook", nargs="?", help="notebook path or name in notebooks/ (default: the labs)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    args = parser.parse_args(argv)
    try:
        notebook = choose_notebook(args.notebook)
    except FileNotFoundError as e:
        parser.error(str(e))
    print(f"Presenting {notebook.relative_to(REPO) if notebook.is_relative_to(REPO) else notebook} "
          f"at http://127.0.0.1:{args.port}/  (Ctrl-C stops)", flush=True)
    if not args.notebook:
        others = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9]*.ipynb"))
        print(f"Another chapter: make present NB=<name>, one of {', '.join(others)}", flush=True)
    cmd = voila_command(notebook, args.port)
    os.execv(cmd[0], cmd)  # Voila takes over this process: Ctrl-C and exit codes are its own.


if __name__ == "__main__":
    sys.exit(main())
