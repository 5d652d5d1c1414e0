"""tools/course.py: `make course` as root adds --allow-root with a warning, keeps the token, ships no news."""

import json
import subprocess
import sys

from tools import course


def test_root_gets_allow_root_and_everyone_keeps_the_token():
    as_root = course.lab_command(8888, root=True)
    as_user = course.lab_command(8888, root=False)
    assert "--allow-root" in as_root and "--allow-root" not in as_user
    for cmd in (as_root, as_user):
        assert "--ip=127.0.0.1" in cmd
        assert not any("token" in part.lower() or "password" in part.lower() for part in cmd)


def test_dry_run_prints_the_command_and_the_one_line_warning_as_root(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import sys; from tools import course; "
                           "course.is_root = lambda: True; course.install_overrides = lambda: None; "
                           "sys.exit(course.main(['--dry-run', '--port', '9999']))"],
                          capture_output=True, text=True, timeout=60, cwd=course.REPO)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == course.ROOT_WARNING
    assert "--port=9999" in done.stdout and "--allow-root" in done.stdout


def test_the_news_pop_up_is_off_in_the_shipped_overrides_and_merged_with_others(tmp_path):
    target = tmp_path / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}))
    course.install_overrides(tmp_path)
    merged = json.loads(target.read_text())
    assert merged["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert merged["@jupyterlab/apputils-extension:themes"]["theme"] == "JupyterLab Dark"
