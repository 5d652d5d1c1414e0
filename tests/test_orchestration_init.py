"""The package docstring's example runs as printed."""

import re

import microlab.orchestration as orchestration


def test_the_package_example_runs_and_compensates(capsys):
    code = re.search(r"::\n\n(.*?)\n\n[A-Z]", orchestration.__doc__, re.S).group(1)
    exec(compile("\n".join(line[4:] for line in code.splitlines()), "orchestration/__init__", "exec"), {})
    out = capsys.readouterr().out
    assert "workflow order_saga v1: order_saga-1, correlation order-7" in out
    assert "(failure workflow)" in out and "release_inventory" in out


def test_the_public_names_are_exported():
    for name in orchestration.__all__:
        assert getattr(orchestration, name).__doc__, name
