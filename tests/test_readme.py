"""The README's examples must run as printed."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_ten_line_example_runs_and_pays(capsys):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert len([l for l in code.splitlines() if l.strip()]) <= 16
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "paid 30" in out and "Charged" in out


def test_readme_opens_with_the_two_commands():
    text = README.read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    assert [line.split()[:2] for line in block.strip().splitlines()] == [["make", "course"], ["make", "test"]]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "make test" in ci


def test_every_python_example_in_the_readme_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 4
    for i, code in enumerate(blocks):
        exec(compile(code, f"README.md example {i + 1}", "exec"), {})
    out = capsys.readouterr().out
    assert "Consistent" in out and "refund_payment" in out and "'order-2': 'rejected'" in out


def test_the_course_map_lists_every_notebook():
    text = README.read_text()
    for path in sorted((README.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert f"(notebooks/{path.name})" in text, path.name
