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
- **No grading menus for learners**: installing nbgrader (``make grade`` needs it) enables
  its JupyterLab menus (Formgrader, Assignments, Courses, a Validate button) and server
  extensions for everyone. A learner has no use for them and would wonder what to submit
  where, so :func:`course_environment` puts ``jupyter/learner/`` first on
  ``JUPYTER_CONFIG_PATH``: its page config disables nbgrader's lab extension and its
  server config its four server extensions (JupyterLab also starts a few seconds faster).
  The instructor opts in with ``make course GRADING=1`` (``--grading``).

``python -m tools.course [--port N] [--grading] [--dry-run]``
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
#: The Jupyter configuration that keeps nbgrader's menus and server extensions off for learners.
LEARNER_CONFIG = REPO / "jupyter" / "learner"
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


def course_environment(grading: bool = False, env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment to run the course's JupyterLab in: nbgrader off unless ``grading``.

    ``JUPYTER_CONFIG_PATH`` ranks above the environment's own configuration (where nbgrader
    enabled itself) and below the user's, so an instructor's own settings still win.
    """
    env = dict(os.environ if env is None else env)
    paths = [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p and p != str(LEARNER_CONFIG)]
    if not grading:
        paths.insert(0, str(LEARNER_CONFIG))
    if paths:
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    else:
        env.pop("JUPYTER_CONFIG_PATH", None)
    return env


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
    parser.add_argument("--grading", action="store_true",
                        help="show nbgrader's menus (Formgrader, Assignments): for the instructor")
    parser.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    args = parser.parse_args(argv)
    install_overrides()
    cmd = lab_command(args.port)
    if "--allow-root" in cmd:
        print(ROOT_WARNING, file=sys.stderr, flush=True)
    env = course_environment(args.grading)
    if args.dry_run:
        print(" ".join(cmd))
        print("JUPYTER_CONFIG_PATH=" + env.get("JUPYTER_CONFIG_PATH", ""))
        return 0
    os.execve(cmd[0], cmd, env)   # JupyterLab takes over: Ctrl-C and exit codes are its own


if __name__ == "__main__":
    sys.exit(main())
