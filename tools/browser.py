"""Headless Debian Chromium and local Jupyter servers, for tests and tools.

What this module knows (the recipe in ``shared/JUPYTER.md``, made reusable):

- **Chromium** is Debian's ``/usr/bin/chromium``, launched by Python playwright with the
  flags in :data:`CHROMIUM_ARGS`. ``playwright install`` is never run (it downloads a
  browser build, which fails here). :func:`find_chromium` says where it is, or ``None``;
  :func:`require_chromium` turns its absence into one clear line in a pytest run.
- **Servers** (:class:`JupyterLab`, :class:`Voila`) run on a free port of 127.0.0.1 with
  no token, in a fresh temporary HOME, Jupyter config, data, runtime, settings and
  workspace directory, so a developer's own JupyterLab set-up cannot change what a test
  sees. Each is stopped by its PID (its process group) in ``stop()``, always.
- **Every wait has a hard timeout** (:func:`wait_for`), and a timeout raises
  :class:`BrowserError` saying what was awaited and what was seen instead.

Running notebooks in JupyterLab lives in :mod:`tools.notebook_run`; acting on a lab's
widgets in :mod:`tools.lab_checks`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

#: Where Debian's chromium package puts the browser; ``MICROLAB_CHROMIUM`` overrides it.
CHROMIUM = "/usr/bin/chromium"

#: Flags for headless Chromium in a container: no sandbox (we run as root), no GPU, and
#: none of the background traffic (updates, sync, first-run pages) a test must not make.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]

#: Root of the repository (``tools/`` lives in it).
REPO = Path(__file__).resolve().parent.parent

#: Browser window size for notebooks: tall enough that a whole lab fits in JupyterLab's
#: notebook panel (which scrolls inside the page), so a screenshot of it is complete.
VIEWPORT = {"width": 1280, "height": 2200}

#: Where screenshots go (``artifacts/`` is gitignored).
SCREENSHOTS = REPO / "artifacts" / "screenshots"

#: JupyterLab settings that make a run in a test reproducible: every cell attached to the
#: page (the default windowing skips off-screen cells, whose figures never draw), no
#: autosave (a run must never write outputs into the course's notebooks), no news or
#: update checks and no extension manager (no traffic beyond localhost).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin": {"enabled": False},
}


class BrowserError(RuntimeError):
    """A browser step failed or timed out; the message says what was awaited and what was seen."""


# --------------------------------------------------------------------------- chromium

def find_chromium() -> str | None:
    """Return the path of an executable Chromium, or ``None`` if there is none.

    ``MICROLAB_CHROMIUM`` (a path) wins, then :data:`CHROMIUM`, then ``chromium`` on PATH.
    """
    candidates = [os.environ.get("MICROLAB_CHROMIUM"), CHROMIUM, shutil.which("chromium")]
    for path in candidates:
        if path and os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def missing_chromium_message() -> str:
    """The one line a test run prints when there is no Chromium to test with."""
    return (f"Chromium not found at {CHROMIUM}: browser tests NOT run; "
            "install it with `apt-get install chromium` (.ci/run does)")


class _MissingChromiumNote:
    """A pytest plugin that ends the run's report with :func:`missing_chromium_message`."""

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_line(missing_chromium_message(), yellow=True, bold=True)


def require_chromium(config) -> str:
    """For pytest: the Chromium path, or skip the calling test (fail it under ``CI``).

    Without Chromium the test is skipped with :func:`missing_chromium_message` as reason,
    and that same single line closes the run's report, so nobody mistakes a run that did
    not open a browser for one that passed in it. CI (``CI`` set) installs Chromium
    first, so there a missing browser is a broken set-up: the test fails.
    """
    import pytest

    path = find_chromium()
    if path:
        return path
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(missing_chromium_message() + " (CI is set: .ci/run should have installed it)", pytrace=False)
    if not config.pluginmanager.has_plugin("microlab-missing-chromium"):
        config.pluginmanager.register(_MissingChromiumNote(), "microlab-missing-chromium")
    pytest.skip(missing_chromium_message())


@contextlib.contextmanager
def chromium(executable: str | None = None):
    """Launch headless Chromium through playwright; yield the ``Browser``, close it after.

    Raises :class:`BrowserError` when no Chromium is installed (see :func:`find_chromium`).
    """
    from playwright.sync_api import sync_playwright

    path = executable or find_chromium()
    if path is None:
        raise BrowserError(missing_chromium_message())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()


def block_network(context, allow_hosts=("127.0.0.1", "localhost")) -> list[str]:
    """Abort every request of a playwright ``BrowserContext`` that leaves this machine.

    ``file:``, ``data:`` and ``blob:`` URLs and the ``allow_hosts`` pass. Returns the list
    to which each blocked URL is appended, so a test can show what a page tried to fetch.
    """
    blocked: list[str] = []

    def route(r):
        url = r.request.url
        parts = urlsplit(url)
        if parts.scheme in ("file", "data", "blob") or parts.hostname in allow_hosts:
            r.continue_()
        else:
            blocked.append(url)
            r.abort("internetdisconnected")

    context.route("**/*", route)
    return blocked


# --------------------------------------------------------------------------- servers

def _descendants(pid: int) -> list[int]:
    """PIDs of every process below ``pid`` (children, grandchildren...), read from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # The command name is in parentheses and may hold spaces: the PPID follows ") S ".
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (dead, waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A local HTTP server process (JupyterLab, Voila) that a test or tool owns.

    Lifecycle: construct (nothing runs yet), ``start()`` launches the command in its own
    process group and waits until it answers HTTP, ``url(path)`` builds addresses,
    ``stop()`` ends the process group by the PID it recorded (SIGTERM, then SIGKILL after
    ``grace`` seconds). Use it as a context manager so ``stop()`` always runs. Its output
    goes to ``log_path``; errors quote the log's tail.
    """

    name = "server"

    def __init__(self, port: int | None = None, workdir: str | Path | None = None,
                 env: dict[str, str] | None = None):
        self.port = port or free_port()
        #: Variables set in the server's environment (and so its kernels'), e.g. ``PYTHONPATH``.
        self.extra_env = dict(env or {})
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"microlab-{self.name}-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.log_path = self.workdir / f"{self.name}.log"

    # Subclasses say what to run and where it answers.
    def command(self) -> list[str]:
        """The command line that starts the server on ``self.port``."""
        raise NotImplementedError

    ready_path = "/"

    @property
    def pid(self) -> int | None:
        """The server's PID once started, else ``None``."""
        return self.process.pid if self.process else None

    def url(self, path: str = "") -> str:
        """The full URL of ``path`` on this server."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def environment(self) -> dict[str, str]:
        """A copy of this process's environment with every Jupyter directory made private."""
        env = dict(os.environ)
        for var, sub in [("HOME", "home"), ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
            path = self.workdir / sub
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
        # The server must never open a browser window of its own.
        env.pop("BROWSER", None)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60.0) -> "Server":
        """Launch the server and wait (at most ``timeout`` s) until it answers HTTP."""
        if self.process is not None:
            raise BrowserError(f"{self.name} on port {self.port} was already started (PID {self.pid})")
        log = open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=self.environment(),
                                            cwd=self.workdir, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                problem = f"exited with code {self.process.returncode} before answering on port {self.port}"
            elif self._answers():
                return self
            elif time.monotonic() > deadline:
                problem = f"did not answer {self.url(self.ready_path)} within {timeout:g} s"
            else:
                time.sleep(0.2)
                continue
            message = f"{self.name} {problem}; its log ends with:\n{self.log_tail()}"
            self.stop()
            raise BrowserError(message)

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url(self.ready_path), timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answered, even if not with 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of the server's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def before_stop(self) -> None:
        """Hook: a polite shutdown step before the signals (JupyterLab ends its kernels)."""

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server by its PID, then any process it started; safe to call twice or before start.

        SIGTERM lets the server shut its kernels down; after ``grace`` seconds SIGKILL ends
        its process group. Kernels run in process groups of their own, so the server's
        descendants are noted first and any still alive at the end are killed by PID.
        """
        proc, self.process = self.process, None
        if proc is None:
            return
        children = _descendants(proc.pid)
        if proc.poll() is None:
            with contextlib.suppress(Exception):
                self.before_stop()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        # A signal is delivered asynchronously: return only once they are gone.
        deadline = time.monotonic() + grace
        while any(_running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class JupyterLab(Server):
    """JupyterLab serving ``root_dir`` on 127.0.0.1 with no token, for a browser to drive.

    The settings in :data:`LAB_SETTINGS` are written to a fresh user-settings directory;
    the workspace directory is fresh too. ``notebook_url(name)`` opens a notebook with
    ``?reset`` so no saved layout opens something else.
    """

    name = "jupyterlab"
    ready_path = "/api/status"

    def __init__(self, root_dir: str | Path, port: int | None = None, workdir: str | Path | None = None,
                 env: dict[str, str] | None = None):
        super().__init__(port=port, workdir=workdir, env=env)
        self.root_dir = Path(root_dir).resolve()
        if not self.root_dir.is_dir():
            raise BrowserError(f"JupyterLab root_dir {str(self.root_dir)!r} is not a directory")

    def command(self) -> list[str]:
        settings = self.workdir / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        workspaces = self.workdir / "lab-workspaces"
        workspaces.mkdir(exist_ok=True)
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", "--ServerApp.token=", "--ServerApp.password=",
               # No token, so no XSRF cookie either: let the REST calls that end kernels through.
               "--ServerApp.disable_check_xsrf=True",
               f"--ServerApp.root_dir={self.root_dir}", f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={workspaces}", "--LabApp.expose_app_in_browser=True"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    def notebook_url(self, name: str) -> str:
        """URL that opens notebook ``name`` (relative to ``root_dir``) in a reset workspace."""
        return self.url(f"lab/tree/{quote(str(name))}?reset")

    def kernels(self) -> list[dict]:
        """The running kernels, from the server's REST API."""
        with urllib.request.urlopen(self.url("api/kernels"), timeout=5) as r:
            return json.load(r)

    def close_notebook(self, name: str) -> int:
        """End the sessions (and so the kernels) of notebook ``name``; return how many."""
        with urllib.request.urlopen(self.url("api/sessions"), timeout=5) as r:
            sessions = [s for s in json.load(r) if s.get("path") == str(name)]
        for s in sessions:
            req = urllib.request.Request(self.url(f"api/sessions/{s['id']}"), method="DELETE")
            urllib.request.urlopen(req, timeout=10).close()
        return len(sessions)

    def shutdown_kernels(self) -> int:
        """Shut every running kernel down through the REST API; return how many there were."""
        kernels = self.kernels()
        for k in kernels:
            req = urllib.request.Request(self.url(f"api/kernels/{k['id']}"), method="DELETE")
            urllib.request.urlopen(req, timeout=10).close()
        return len(kernels)

    def before_stop(self) -> None:
        self.shutdown_kernels()


class Voila(Server):
    """Voila serving one notebook as a standalone app (no code cells shown) on 127.0.0.1.

    ``command()`` comes from :func:`tools.present.voila_command`, so a test runs exactly
    what ``make present`` runs.
    """

    name = "voila"
    ready_path = "/voila/static/"

    def __init__(self, notebook: str | Path, port: int | None = None, workdir: str | Path | None = None):
        super().__init__(port=port, workdir=workdir)
        self.notebook = Path(notebook).resolve()
        if not self.notebook.is_file():
            raise BrowserError(f"Voila notebook {str(self.notebook)!r} does not exist")

    def command(self) -> list[str]:
        from tools.present import voila_command

        return voila_command(self.notebook, self.port)


# --------------------------------------------------------------------------- waiting

def wait_for(page, js: str, arg=None, timeout: float = 30.0, what: str = "a condition",
             seen: str | None = None):
    """Poll the JavaScript function ``js`` (called with ``arg``) until it returns a truthy value.

    Returns that value. After ``timeout`` seconds raises :class:`BrowserError` naming
    ``what`` was awaited; ``seen`` (a JS function of ``arg``) describes the page instead.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        return page.wait_for_function(js, arg=arg, timeout=timeout * 1000, polling=200).json_value()
    except PlaywrightTimeout:
        detail = ""
        if seen:
            with contextlib.suppress(Exception):
                detail = f"; seen instead: {json.dumps(page.evaluate(seen, arg))[:1500]}"
        raise BrowserError(f"timed out after {timeout:g} s waiting for {what}{detail}") from None
