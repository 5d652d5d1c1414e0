"""``make course``: open the course in JupyterLab on 127.0.0.1, token on, no news pop-up.

- **Root** (containers, cloud notebooks): JupyterLab refuses to start as root without
  ``--allow-root``. :func:`lab_command` adds it when the user is root, and
  :func:`main` prints one line saying so. Token authentication is never turned off: the
  URL JupyterLab prints carries the token.
- **No news pop-up**: JupyterLab asks on first start whether to fetch Jupyter news. The
  course ships ``jupyter/overrides.json`` (news and update checks off), which
  :func:`install_overrides` copies to where JupyterLab reads default-setting overrides in
  this environment (``<sys.prefix>/share/jupyter/lab/settings/overrides.json``); a
  learner's own settings still win over it.

``python -m tools.course [--port N] [--dry-run]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: The settings overrides the course ships.
OVERRIDES = REPO / "jupyter" / "overrides.json"
#: The line printed when JupyterLab runs as root.
ROOT_WARNING = ("microlab: running as root (a container?), so JupyterLab starts with --allow-root; "
                "token authentication stays on.")


def is_root() -> bool:
    """Whether this process runs as root (user id 0)."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab_command(port: int = 8888, root: bool | None = None, notebooks: Path = REPO / "notebooks") -> list[str]:
    """The JupyterLab command line for the course (``--allow-root`` only as root; the token stays)."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={notebooks}", "--ip=127.0.0.1", f"--port={port}"]
    if is_root() if root is None else root:
        cmd.append("--allow-root")
    return cmd


def install_overrides(prefix: str | Path = sys.prefix, source: Path = OVERRIDES) -> Path:
    """Merge the course's setting overrides into ``<prefix>/share/jupyter/lab/settings/overrides.json``."""
    target = Path(prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    ours = json.loads(source.read_text())
    merged = json.loads(target.read_text()) if target.is_file() else {}
    for plugin, values in ours.items():
        merged[plugin] = {**merged.get(plugin, {}), **values}
    target.write_text(json.dumps(merged, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line (see the module docstring); runs JupyterLab in this process until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m tools.course", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    install_overrides()
    cmd = lab_command(args.port)
    if "--allow-root" in cmd:
        print(ROOT_WARNING, file=sys.stderr, flush=True)
    if args.dry_run:
        print(" ".join(cmd))
        return 0
    os.execv(cmd[0], cmd)   # JupyterLab takes over: Ctrl-C and exit codes are its own


if __name__ == "__main__":
    sys.exit(main())
