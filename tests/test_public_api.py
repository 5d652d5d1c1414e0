"""Every subpackage's public surface is its ``__all__``, and the README's "Public API" lists it."""

import importlib
import inspect
import pkgutil
import re
import types
from pathlib import Path

import pytest

import microlab

README = Path(__file__).resolve().parent.parent / "README.md"
PACKAGES = ["microlab", "microlab.orchestration", "microlab.choreography", "microlab.scenarios",
            "microlab.viz", "microlab.analysis", "microlab.labs", "microlab.exercises", "microlab.real"]


def _readme_table() -> dict:
    section = README.read_text().split("## Public API", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`microlab"):
            rows[cells[0].strip("`")] = re.findall(r"`([A-Za-z_][A-Za-z_0-9]*)`", cells[2])
    return rows


def test_the_readme_lists_every_subpackage_and_exactly_its_all():
    table = _readme_table()
    assert sorted(table) == sorted(PACKAGES)
    for name in PACKAGES:
        module = importlib.import_module(name)
        assert table[name] == list(module.__all__), f"README's Public API row for {name} differs from its __all__"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_in_all_exists_once_and_is_documented(name):
    module = importlib.import_module(name)
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{name}.__all__ repeats a name"
    for attr in names:
        obj = getattr(module, attr)   # raises if __all__ names something that is not there
        if inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, types.ModuleType):
            assert (obj.__doc__ or "").strip(), f"{name}.{attr} has no docstring"


@pytest.mark.parametrize("name", [p for p in PACKAGES if p != "microlab.real"])
def test_no_package_attribute_hides_one_of_its_modules(name):
    # `from .x import x` would make pkg.x a function and `import pkg.x` hand back that function.
    package = importlib.import_module(name)
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{name}.{info.name}")
        assert isinstance(getattr(package, info.name), types.ModuleType), f"{name}.{info.name} is not the module"


def test_execution_is_the_module_and_still_calls_as_the_function():
    import microlab.orchestration.execution as execution_module
    from microlab.orchestration import execution
    from microlab.orchestration.execution import execution as function
    assert isinstance(execution_module, types.ModuleType) and execution is execution_module
    assert inspect.signature(execution) == inspect.signature(function)
    from microlab.orchestration import Orchestrator, saga
    from microlab.orchestration.toys import saga_services
    system = microlab.System(seed=1)
    orchestrator = system.add(Orchestrator())
    system.add(*saga_services())
    orchestrator.register(saga("s", inputs=["orderId"]).step("reserve_inventory").build())
    orchestrator.start("s", {"orderId": 1}, correlation="order-1")
    system.run()
    assert execution(system, "order-1").status == function(system, "order-1").status == "COMPLETED"
