"""microlab.viz.workflow: a workflow definition as a graph, and the path an execution took."""

import time

import pytest

from microlab import System, scenarios
from microlab.errors import DefinitionError
from microlab.orchestration import (Orchestrator, ToyWorker, execution, saga, simple, terminate,
                                    workflow)
from microlab.orchestration import model as m
from microlab.viz import style, workflow_diagram
from microlab.viz.workflow import STATUS_STYLES, layout

GREEN, RED, GREY = style.GREEN, style.VERMILLION, style.LIGHT_GREY


def node(fig, ref):
    """(trace, index) of the node whose label names ``ref``."""
    for t in fig.data:
        if t.mode == "markers+text":
            for i, text in enumerate(t.text):
                if text.split("<br>")[0] in (f"<b>{ref}</b>", ref):
                    return t, i
    raise AssertionError(f"no node {ref}")


def colour_of(fig, ref):
    return node(fig, ref)[0].marker.color


def text_of(fig, ref):
    t, i = node(fig, ref)
    return t.text[i]


def hover_of(fig, ref):
    t, i = node(fig, ref)
    return t.hovertext[i]


def refs(fig, status):
    """Node names in the trace of status category ``status``."""
    return {text.split("<br>")[0].replace("<b>", "").replace("</b>", "")
            for t in fig.data if t.legendgroup == f"status-{status}" for text in t.text}


def node_count(fig):
    return sum(len(t.x) for t in fig.data if t.mode == "markers+text")


def run(*defs, fail=(), input=None, correlation="tx"):
    system = System(seed=1, latency=0.01)
    names = {t.name for wf in defs for _, t in wf.walk() if t.type == m.SIMPLE}
    orchestrator = system.add(Orchestrator(task_routes={n: "w" for n in names}))
    worker = system.add(ToyWorker("w"))
    for name in fail:
        worker.fail(name, times=100)
    orchestrator.register(*defs)
    orchestrator.start(defs[0].name, input or {}, correlation=correlation)
    system.run()
    return system, execution(system, correlation)


ORDER = (saga("order", inputs=["orderId"])
         .step("reserve", compensate="release", retries=1, retry_delay=1)
         .step("charge", compensate="refund", retries=1, retry_delay=1)
         .step("ship").build())


def test_the_failed_task_is_red_the_path_to_it_green_and_the_rest_not_reached():
    system, ex = run(*ORDER.workflows, fail=["charge"])
    fig = workflow_diagram(ORDER, ex)
    assert node_count(fig) == 3 + 2            # every task of the definition, plus start and end
    assert colour_of(fig, "reserve") == GREEN and colour_of(fig, "start") == GREEN
    assert colour_of(fig, "charge") == RED
    assert colour_of(fig, "ship") == GREY
    assert colour_of(fig, "end") == RED        # the workflow FAILED
    taken = [t for t in fig.data if t.legendgroup == "edge-taken-flow"]
    assert taken and taken[0].line.color == GREEN
    # start -> reserve -> charge are taken: two polylines ending at rows 1 and 2.
    ends = [y for y, nxt in zip(taken[0].y, list(taken[0].y[1:]) + [None]) if y is not None and nxt is None]
    assert ends == [-1, -2]
    assert "2 attempts" in text_of(fig, "charge")
    hover = hover_of(fig, "charge")
    assert "FAILED" in hover and "attempt 2" in hover and "reason:" in hover
    # Conductor's status, and that compensation ran: the orchestrator's own words.
    assert fig.layout.title.text.endswith(": FAILED, compensation ran")


def test_a_saga_draws_its_compensation_for_a_failure_execution_and_both_side_by_side():
    system, ex = run(*ORDER.workflows, fail=["charge"])
    comp = workflow_diagram(ORDER, ex.failure_workflow)
    assert "order_compensation" in comp.layout.title.text
    assert colour_of(comp, "release") == GREEN          # reserve completed: it is undone
    assert colour_of(comp, "refund") == STATUS_STYLES["not_taken"][0]   # charge never completed
    both = workflow_diagram(ORDER, ex, failure_workflow=True)
    assert both.layout.xaxis2.domain[0] > both.layout.xaxis.domain[1]
    assert {t.xaxis for t in both.data if t.mode == "markers+text"} == {"x", "x2"}
    texts = [a.text for a in both.layout.annotations]
    assert any("failure workflow order_compensation" in t for t in texts)


def test_switch_branches_side_by_side_the_untaken_one_greyed_and_the_case_labelled():
    wf = (workflow("route", inputs=["kind"])
          .switch("pick", on="${workflow.input.kind}", cases={"fast": [simple("express")]},
                  default=[simple("standard"), simple("pack")])
          .simple("notify").build())
    system, ex = run(wf, input={"kind": "fast"})
    fig = workflow_diagram(wf, ex)
    lay = layout(wf)
    assert lay.nodes["express"].row == lay.nodes["standard"].row == lay.nodes["pick"].row + 1
    assert lay.nodes["express"].x < lay.nodes["pick"].x < lay.nodes["standard"].x
    assert lay.nodes["notify"].row == lay.nodes["pack"].row + 1
    assert colour_of(fig, "express") == GREEN and colour_of(fig, "notify") == GREEN
    assert colour_of(fig, "standard") == STATUS_STYLES["not_taken"][0]
    assert "pick took 'fast'" in hover_of(fig, "standard")
    labels = {a.text: a.font.color for a in fig.layout.annotations}
    assert labels == {"fast": GREEN, "default": style.GREY}


def test_fork_edges_fan_out_to_every_branch_and_join_at_the_join():
    wf = workflow("fan").fork([simple("a1"), simple("a2")], [simple("b1")], ref="f").simple("after").build()
    lay = layout(wf)
    pairs = [(e.src, e.dst, e.kind) for e in lay.edges]
    assert ("f", "a1", "fork") in pairs and ("f", "b1", "fork") in pairs
    assert ("a2", "f_join", "flow") in pairs and ("b1", "f_join", "flow") in pairs
    assert lay.nodes["a1"].row == lay.nodes["b1"].row and lay.nodes["a1"].x != lay.nodes["b1"].x
    assert lay.nodes["f_join"].x == lay.nodes["f"].x and lay.nodes["f_join"].row == lay.nodes["a2"].row + 1
    # b1's edge runs straight down its own column before it turns to the join: no node in its way.
    [down] = [e for e in lay.edges if e.src == "b1"]
    assert down.points[1] == (lay.nodes["b1"].x, lay.nodes["a2"].row)
    system, ex = run(wf)
    fig = workflow_diagram(wf, ex)
    assert node_count(fig) == 6 + 2           # f, a1, a2, b1, f_join, after; start and end
    assert refs(fig, "completed") == {"start", "end", "f", "a1", "a2", "b1", "f_join", "after"}


def test_a_loop_is_boxed_with_an_arrow_back_and_a_terminate_leads_to_the_end():
    wf = (workflow("loopy")
          .do_while("again", condition=3, body=[simple("poll")])
          .switch("stop", on="${workflow.input.stop}", cases={"yes": [terminate("halt")]})
          .simple("last").build())
    lay = layout(wf)
    [(ref, left, right, top, bottom)] = lay.loops
    assert ref == "again" and left < lay.nodes["poll"].x < right and top < lay.nodes["poll"].row <= bottom
    [back] = [e for e in lay.edges if e.kind == "loop"]
    assert back.points[-1] == (lay.nodes["again"].x, lay.nodes["again"].row)
    [end] = [e for e in lay.edges if e.kind == "terminate"]
    assert end.src == "halt" and end.dst == "__end__"
    assert not [e for e in lay.edges if e.src == "halt" and e.kind != "terminate"]
    system, ex = run(wf, input={"stop": "yes"})
    fig = workflow_diagram(wf, ex)
    assert "3 iterations" in text_of(fig, "again")
    assert [t for t in fig.data if t.legendgroup == "edge-taken-loop"]
    assert [t for t in fig.data if t.legendgroup == "edge-taken-end"]
    assert colour_of(fig, "last") == GREY       # terminated before it


def test_a_definition_alone_and_conductor_json_give_the_same_drawing():
    fig = workflow_diagram(ORDER.workflow)
    again = workflow_diagram(ORDER.workflow.to_conductor())
    assert fig.to_json() == again.to_json()
    assert "the definition" in fig.layout.title.text
    assert {t.legendgroup for t in fig.data if t.mode == "markers+text"} == {"status-definition"}
    assert fig.layout.legend.title.text and not fig.layout.xaxis.visible


def test_the_same_seed_gives_the_same_figure_json():
    a = scenarios.order_saga("orchestration", orders=3, failure={"payment": 0.5}, seed=3)
    b = scenarios.order_saga("orchestration", orders=3, failure={"payment": 0.5}, seed=3)
    from microlab.scenarios.orchestrated import workflow_for
    saga_a = workflow_for(a.flow, a.knobs)
    fa = workflow_diagram(saga_a, execution(a.system, "order-3"), failure_workflow=True)
    fb = workflow_diagram(workflow_for(b.flow, b.knobs), execution(b.system, "order-3"), failure_workflow=True)
    assert fa.to_json() == fb.to_json()


def test_bad_input_says_what_to_pass():
    system, ex = run(*ORDER.workflows, fail=["charge"])
    other = workflow("other").simple("x").build()
    with pytest.raises(ValueError, match="execution is of workflow 'order'.*definition is 'other'"):
        workflow_diagram(other, ex)
    with pytest.raises(TypeError, match="WorkflowDef, a Conductor JSON dict or a Saga"):
        workflow_diagram("order")
    with pytest.raises(TypeError, match="list of 2 definitions"):
        workflow_diagram(ORDER.to_conductor())
    with pytest.raises(TypeError, match="failure_workflow=True .* not a Saga"):
        workflow_diagram(ORDER.workflow, ex, failure_workflow=True)
    broken = ORDER.workflow.to_conductor()
    broken["tasks"][0].pop("taskReferenceName")
    with pytest.raises(DefinitionError, match=r"\$.tasks\[0\].taskReferenceName"):
        workflow_diagram(broken)
    with pytest.raises(TypeError, match="execution must be an Execution"):
        workflow_diagram(ORDER, ex.to_dict())


def test_a_twenty_task_workflow_builds_quickly():
    builder = workflow("big")
    for i in range(6):
        builder.simple(f"step_{i}")
    builder.switch("pick", on="${workflow.input.k}", cases={"a": [simple("a1"), simple("a2")]},
                   default=[simple("d1")])
    builder.fork([simple("f1"), simple("f2")], [simple("g1")], ref="f")
    builder.do_while("loop", condition=2, body=[simple("l1"), simple("l2")])
    for i in range(3):
        builder.simple(f"tail_{i}")
    wf = builder.build()
    assert sum(1 for _ in wf.walk()) >= 20
    workflow_diagram(wf)                    # warm up plotly's validators
    start = time.perf_counter()
    fig = workflow_diagram(wf)
    elapsed = time.perf_counter() - start
    assert node_count(fig) == sum(1 for _ in wf.walk()) + 2
    print(f"20-task workflow diagram: {elapsed * 1000:.1f} ms")   # measured, not asserted (shared machine)


def test_a_wide_workflow_fits_the_output_area_with_its_legend_underneath():
    # Three switch cases side by side and a fork: with the legend on the right it would be
    # wider than JupyterLab's output area, and the legend would be clipped.
    from microlab.viz.workflow import MAX_WIDTH
    wide = (workflow("checkout", inputs=["method"])
            .switch("pay_by", on="${workflow.input.method}",
                    cases={"card": [simple("charge_card", service="payment")],
                           "invoice": [simple("send_invoice", service="billing")]})
            .fork([simple("email", service="notify")], [simple("sms", service="notify")], ref="tell")
            .build())
    fig = workflow_diagram(wide)
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yanchor == "top"
    assert fig.layout.width is None or fig.layout.width <= MAX_WIDTH
    narrow = workflow_diagram(workflow("one").simple("a").build())
    assert narrow.layout.legend.orientation != "h"   # one column: the legend stays on the right
    assert narrow.layout.width is None


def test_a_two_panel_saga_is_capped_at_the_output_width():
    from microlab.viz.workflow import MAX_WIDTH
    run = scenarios.order_saga("orchestration", orders=3, failure={"payment": 0.6}, seed=1)
    comp = [c for c in run.correlations if run.outcomes[c] == "compensated"]
    assert comp, "seed 1 with 60% payment failures compensates an order"
    ex = execution(run.system, comp[0])
    orchestrator = run.system.services["orchestrator"]
    main = orchestrator.registry.find(ex.name).definition
    fig = workflow_diagram(main, ex, failure_workflow=orchestrator.registry.find(main.failure_workflow).definition)
    assert fig.layout.width <= MAX_WIDTH
    assert len(fig.layout.title.text) <= 80 and fig.layout.title.text.endswith("FAILED, compensation ran")
    assert str(orchestrator.progress(comp[0])).split(": ")[0].endswith("FAILED, compensation ran")


def test_the_legend_names_colours_status_and_shapes_task_type_without_calling_tasks_commands():
    # Workers poll for their tasks (chapter 02): a SIMPLE task is no command pushed to a service,
    # and the colour group is the status alone (the shapes have their own group title).
    system, ex = run(*ORDER.workflows, fail=["charge"])
    fig = workflow_diagram(ORDER, ex)
    assert fig.layout.legend.title.text == "status (colour)"
    names = [t.name for t in fig.data if t.legendgroup == "types"]
    assert "SIMPLE: done by a service's worker" in names
    assert not any("command" in n for n in names)
    groups = [t.legendgrouptitle.text for t in fig.data if t.legendgroup == "types" and t.legendgrouptitle.text]
    assert groups == ["task type (shape)"]
