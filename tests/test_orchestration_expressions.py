"""JavaScript in an embedded V8 (never Python eval) and jq, with errors that quote the expression."""

import pytest

from microlab.orchestration.expressions import ExpressionError, JavaScript, Jq, truthy


@pytest.fixture(scope="module")
def js():
    engine = JavaScript(timeout=0.5)
    yield engine
    engine.close()


def test_dollar_is_the_input_and_the_last_statement_is_the_value(js):
    assert js.evaluate("$.amount > 100 ? 'big' : 'small'", {"amount": 150}) == "big"
    assert js.evaluate("if ($.a.indexOf($.b) >= 0) { 'yes' } else { 'no' }", {"a": [1, 2], "b": 2}) == "yes"
    assert js.evaluate("({n: $.n * 2, list: [1, null]})", {"n": 21}) == {"n": 42, "list": [1, None]}
    assert js.evaluate("undefined", {}) is None


def test_a_lambda_body_returns_its_value(js):
    body = "var i = 10; if ($.v == 1) { return {i: i}; } return {i: i + 3};"
    assert js.function_body(body, {"v": 1}) == {"i": 10} and js.function_body(body, {"v": 2}) == {"i": 13}


def test_python_is_never_evaluated(js):
    # Python syntax is not JavaScript: the engine rejects it rather than running it.
    with pytest.raises(ExpressionError, match="SyntaxError"):
        js.evaluate("__import__('os').getcwd() if True else 1", {})


@pytest.mark.parametrize("source, error", [
    ("$.x +", "SyntaxError"),
    ("nosuchname + 1", "ReferenceError: nosuchname is not defined"),
    ("Math.random()", "unrepeatable"),
    ("new Date()", "wall clock"),
])
def test_errors_quote_the_expression_and_name_the_problem(js, source, error):
    with pytest.raises(ExpressionError) as info:
        js.evaluate(source, {"x": 1})
    assert repr(source) in str(info.value) and error in str(info.value)


def test_an_endless_loop_is_stopped_and_the_engine_still_works(js):
    with pytest.raises(ExpressionError, match="loop forever"):
        js.evaluate("while (true) {}", {})
    assert js.evaluate("1 + 1", {}) == 2


def test_jq_runs_queries_and_reports_bad_ones():
    jq = Jq()
    assert jq.run(".items | map(.n) | add", {"items": [{"n": 1}, {"n": 2}]}) == [3]
    assert jq.run(".[]", [1, 2]) == [1, 2]
    with pytest.raises(ExpressionError, match=r"the jq query '\.a \|\|\|' does not compile"):
        jq.run(".a |||", {})
    with pytest.raises(ExpressionError, match="failed: boom"):
        jq.run('error("boom")', {})


def test_truthy_reads_loop_conditions_as_conductor_does():
    assert [truthy(v) for v in (True, False, 1, 0, "true", "no", None, {})] == [
        True, False, True, False, True, False, False, False]


def test_expressions_keep_their_time_limit_inside_a_running_event_loop():
    # A Jupyter kernel runs an asyncio loop; mini-racer must not adopt it.
    import asyncio

    from microlab.orchestration.expressions import ExpressionError, JavaScript

    js = JavaScript(timeout=0.3)

    async def inside_a_kernel():
        assert js.evaluate("$.a > 1 ? 'big' : 'small'", {"a": 2}) == "big"
        with pytest.raises(ExpressionError, match="does it loop forever"):
            js.evaluate("while (true) {}", {})

    asyncio.run(inside_a_kernel())
    assert js.evaluate("$.a * 2", {"a": 4}) == 8
