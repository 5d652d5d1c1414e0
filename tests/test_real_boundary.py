"""The simulator never imports the real-infrastructure subpackage ``microlab.real``."""

import pkgutil
import subprocess
import sys

import microlab


def _simulator_modules():
    """Every module of microlab outside microlab.real."""
    names = []
    for info in pkgutil.walk_packages(microlab.__path__, "microlab."):
        if info.name == "microlab.real" or info.name.startswith("microlab.real."):
            continue
        if info.name == "microlab.__main__":
            continue
        names.append(info.name)
    return names


def test_the_simulator_does_not_import_microlab_real():
    modules = _simulator_modules()
    assert "microlab.kernel" in modules and "microlab.orchestration.orchestrator" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'microlab.real' or m.startswith('microlab.real.'))\n"
        "print(','.join(leaked))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"simulator modules import {out.stdout.strip()}"
