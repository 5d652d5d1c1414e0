"""Every unreadable input to the command line gets one clear line and a non-zero exit."""

import io
import json
import math

import pytest

from microlab import System
from microlab.cli import main
from microlab.distributions import Constant, Exponential
from microlab.orchestration import Orchestrator, ToyWorker, execution, wait, workflow
from microlab.orchestration import model as m
from microlab.orchestration.conductor import load_task_defs, load_workflows
from microlab.orchestration.tasks import parse_duration
from microlab.orchestration.toyrun import ToyRunError, run_toy
from microlab.orchestration.toys import workflow_file

SAGA = str(workflow_file("order_fulfillment"))


def cli(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def nested_forks(n: int) -> str:
    task = '{"name": "s", "taskReferenceName": "s", "type": "SIMPLE"}'
    for i in range(n):
        task = ('{"name": "f", "taskReferenceName": "f%d", "type": "FORK_JOIN", "forkTasks": [[%s]]}'
                % (i, task))
    return '{"name": "deep", "version": 1, "tasks": [%s]}' % task


# -- files --------------------------------------------------------------------------------------

def test_a_file_that_is_not_utf8_names_the_byte(tmp_path, capsys):
    bad = tmp_path / "wf.json"
    bad.write_bytes(b'{"name": "caf\xe9"}')
    status, out, _ = cli(capsys, "run", str(bad))
    assert status == 2
    assert f"{bad} is not UTF-8 text: byte 0xe9 at line 1 (offset 13); save it as UTF-8" in out


def test_a_directory_is_not_a_workflow_file(tmp_path, capsys):
    status, out, _ = cli(capsys, "validate", str(tmp_path))
    assert status == 1 and f"{tmp_path} is a directory, not a JSON file" in out


def test_an_unreadable_task_defs_file_is_named_not_the_workflow(tmp_path, capsys):
    bad = tmp_path / "defs.json"
    bad.write_bytes(b"[\xff]")
    status, out, _ = cli(capsys, "run", SAGA, "--task-defs", str(bad))
    assert status == 2
    assert out.startswith(f"{bad}: invalid (1 fault)") and "is not UTF-8 text: byte 0xff" in out
    status, out, _ = cli(capsys, "validate", SAGA, "--task-defs", str(tmp_path))
    assert status == 1 and f"{tmp_path}: invalid" in out and "is a directory" in out


def test_fork_joins_nested_400_deep_get_a_clear_error_at_the_documented_depth(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text(nested_forks(400))
    status, out, _ = cli(capsys, "validate", str(deep))
    assert status == 1 and "nests lists and objects deeper than 200 levels" in out


def test_nan_in_a_json_file_is_refused():
    with pytest.raises(Exception, match="NaN is not a JSON number"):
        load_workflows('{"name": "w", "tasks": [], "timeoutSeconds": NaN}')


# -- --input ------------------------------------------------------------------------------------

def test_input_from_a_file_carries_more_than_the_argument_limit(tmp_path, capsys):
    big = {"orderId": "o-1", "blob": "x" * 300_000}  # over Linux's 128 KiB per argument
    path = tmp_path / "in.json"
    path.write_text(json.dumps(big))
    status, out, _ = cli(capsys, "run", SAGA, "--input", f"@{path}", "--json")
    assert status == 0 and json.loads(out)["input"]["blob"] == big["blob"]


def test_input_from_standard_input(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"orderId": "o-9"}')))
    status, out, _ = cli(capsys, "run", SAGA, "--input", "-", "--json")
    assert status == 0 and json.loads(out)["output"]["orderId"] == "o-9"


@pytest.mark.parametrize("value, message", [
    ("@", "--input @: name the file"),
    ("@/no/such/file.json", "--input @/no/such/file.json: no such file"),
    ("NaN", "NaN is not a JSON number"),
    ('{"a": Infinity}', "Infinity is not a JSON number"),
    ("[" * 300 + "]" * 300, "deeper than 200 levels"),
    ("", "--input: empty"),
])
def test_bad_input_options_say_what_is_wrong(capsys, value, message):
    status, _, err = cli(capsys, "run", SAGA, "--input", value)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


# -- numbers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["inf", "nan", "-1"])
def test_latency_must_be_finite_and_not_negative(capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["run", SAGA, "--latency", value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --latency" in err and repr(value) in err


def test_run_toy_refuses_a_non_finite_latency():
    with pytest.raises(ToyRunError, match="latency must be a finite number of seconds >= 0, got nan"):
        run_toy(load_workflows(SAGA), {}, latency=float("nan"))


@pytest.mark.parametrize("make", [lambda: Exponential(math.inf), lambda: Exponential(math.nan),
                                  lambda: Constant(math.inf)])
def test_distributions_refuse_non_finite_parameters(make):
    with pytest.raises(ValueError, match="finite"):
        make()


@pytest.mark.parametrize("duration", [math.nan, math.inf, "9" * 400 + "s"])
def test_a_wait_with_a_non_finite_duration_fails_validation_naming_the_field(duration):
    with pytest.raises(Exception) as info:
        workflow("w").add(wait("pause", duration)).build()
    assert "inputParameters.duration" in str(info.value) and "finite" in str(info.value)


def test_a_wait_duration_resolved_at_run_time_that_is_not_finite_fails_the_task():
    wf = workflow("w").add(wait("pause", "${workflow.input.d}")).build()
    system = System(seed=1)
    orchestrator = system.add(Orchestrator())
    orchestrator.register(wf)
    orchestrator.start("w", {"d": math.inf}, correlation="tx")
    system.run()
    ex = execution(system, "tx")
    assert ex.status == m.FAILED and "a duration must be a finite number of seconds" in ex.reason
    assert math.isfinite(system.sim.now)


def test_a_task_def_number_that_is_not_finite_is_refused_by_name():
    with pytest.raises(Exception, match=r"retryDelaySeconds must be a finite number of seconds, got inf"):
        load_task_defs([{"name": "t", "retryDelaySeconds": math.inf}])


def test_parse_duration_bounds():
    assert parse_duration("1m 30s") == 90
    with pytest.raises(ValueError, match="more than 1e\\+09 s"):
        parse_duration(2e9)
