"""Parameter wiring: ${workflow.input.x}, ${ref.output.y} with nested paths, variables."""

from types import SimpleNamespace

from microlab.orchestration.params import as_text, compile_template, dig, parse_path


def instance(**tasks):
    runs = {ref: SimpleNamespace(output=out, input={"in": ref}, status="COMPLETED", task_id=f"w.{ref}",
                                 attempt=2, reason=None, full_ref=ref)
            for ref, out in tasks.items()}
    return SimpleNamespace(input={"orderId": "o-7", "amount": 30, "items": [{"sku": "a"}, {"sku": "b"}]},
                           output={}, variables={"tries": 2}, id="order-1", correlation="c-7",
                           name="order", version=1, status="RUNNING", parent_id=None, created=0.5,
                           latest=runs, refs=runs)


def test_a_whole_expression_keeps_its_type_and_nested_paths_reach_into_outputs():
    inst = instance(charge={"response": {"body": {"ids": ["ch-1", "ch-2"]}}})
    t = compile_template({"amount": "${workflow.input.amount}",
                          "second": "${charge.output.response.body.ids[1]}",
                          "sku": "${workflow.input.items[0].sku}",
                          "all": "${workflow.input}", "tries": "${workflow.variables.tries}",
                          "fixed": 3, "nested": {"list": ["${workflow.workflowId}", 1]}})
    assert t.resolve(inst, "order-1.3") == {
        "amount": 30, "second": "ch-2", "sku": "a", "all": inst.input, "tries": 2, "fixed": 3,
        "nested": {"list": ["order-1", 1]}}
    assert t.refs == [("$.second", "charge")] and t.faults == [] and not t.constant


def test_an_expression_inside_text_is_replaced_by_its_text():
    inst = instance(charge={"ok": True})
    t = compile_template("${workflow.input.orderId}-charge:${charge.output.ok}:${charge.output.none}")
    assert t.resolve(inst, None) == "o-7-charge:true:null"


def test_missing_values_are_none_and_task_fields_are_readable():
    inst = instance(reserve={"id": 1})
    t = compile_template({"a": "${nothere.output.x}", "b": "${reserve.output.id.deeper}",
                          "c": "${reserve.retryCount}", "d": "${reserve.input.in}",
                          "e": "${CPEWF_TASK_ID}", "f": "${workflow.input.items[9].sku}"})
    assert t.resolve(inst, "w.9") == {"a": None, "b": None, "c": 1, "d": "reserve", "e": "w.9", "f": None}


def test_constants_give_a_fresh_top_level_dict_each_time():
    t = compile_template({"a": 1})
    first = t.resolve(None, None)
    first["a"] = 2
    assert t.constant and t.resolve(None, None) == {"a": 1}


def test_escaped_dollar_brace_stays_literal():
    assert compile_template("cost: $${price}").resolve(None, None) == "cost: ${price}"


def test_faults_name_the_path_and_what_is_wrong():
    t = compile_template({"x": "${workflow.inptu.a}", "y": "${t1}", "z": {"w": "${t2.outptu}"}}, "$.tasks[0]")
    messages = dict(t.faults)
    assert "a workflow has no field 'inptu'" in messages["$.tasks[0].x"]
    assert "must name a field of task 't1'" in messages["$.tasks[0].y"]
    assert "a task has no field 'outptu'" in messages["$.tasks[0].z.w"]


def test_path_helpers():
    assert parse_path("a.b[0]['c d']") == ["a", "b", 0, "c d"]
    assert dig({"a": [{"b": 1}]}, ["a", 0, "b"]) == 1 and dig({"a": 1}, ["a", "b"]) is None
    assert as_text(None) == "null" and as_text({"b": 1, "a": 2}) == '{"a":2,"b":1}' and as_text(2.0) == "2.0"
