"""Exercise checks of notebook 07: right answers pass, typical wrong ones get the intended hint."""

from microlab.exercises import ch07
from microlab.flows import FRAUD_CHECK, ORDER, FlowStep

TAX = FlowStep("tax", "compute_tax", "void_tax", "TaxComputed", "TaxFailed", "TaxVoided")


def test_impact_measures_any_change_under_both_patterns():
    imp = ch07.impact(ORDER.insert(FRAUD_CHECK, after="payment"))
    assert imp["orchestration"].changed_workflows == ["order_workflow"]
    assert sorted(imp["choreography"].changed_services) == ["inventory", "order", "payment", "shipping"]
    rows = ch07.impact_rows({"add loyalty": ORDER.with_listener("loyalty")})
    assert rows == [{"change": "add loyalty", "pattern": "orchestration", "changed": ["workflow order_workflow"]},
                    {"change": "add loyalty", "pattern": "choreography", "changed": []}]


def test_free_change_accepts_any_listener_and_rejects_a_step():
    assert ch07.check_free_change(ORDER.with_listener("loyalty")).passed
    assert ch07.check_free_change(ORDER.with_listener("analytics").with_listener("audit")).passed
    same = ch07.check_free_change(ORDER)
    assert not same.passed and "nothing changed" in same.message
    step = ch07.check_free_change(ORDER.insert(TAX, after="inventory"))
    assert not step.passed and "edits 3 existing services: inventory, order, payment" in step.message
    assert "BusinessFlow" in ch07.check_free_change("loyalty").message


def test_insertion_needs_a_middle_step_and_a_right_prediction():
    assert ch07.check_insertion(ORDER.insert(TAX, after="inventory"), 3).passed
    assert ch07.check_insertion(ORDER.insert(FRAUD_CHECK, after="payment"), 4).passed
    wrong = ch07.check_insertion(ORDER.insert(TAX, after="inventory"), 4)
    assert not wrong.passed and "fewer existing services changed" in wrong.message
    last = ch07.check_insertion(ORDER.insert(TAX, after="shipping"), 4)
    assert not last.passed and "is the last step" in last.message
    listener = ch07.check_insertion(ORDER.with_listener("loyalty"), 0)
    assert not listener.passed and "insert exactly one new step" in listener.message
    assert "whole number" in ch07.check_insertion(ORDER.insert(TAX, after="inventory"), "3").message


def test_split_accepts_the_smallest_count_of_small_definitions():
    assert ch07.check_split(3).passed
    big = ch07.check_split(4)
    assert not big.passed and "more than 7" in big.message
    many = ch07.check_split(2)
    assert not many.passed and "13 definitions" in many.message
    assert "whole number" in ch07.check_split(0).message


def test_the_growth_section_does_not_run_the_answer_of_7_3():
    import re

    from tests.course_text import before_exercises

    code = "\n".join(before_exercises("07_change_and_growth", "code"))
    ks = {int(k) for k in re.findall(r"split_every=(\d+)", code)}
    assert ks and not any(ch07.check_split(k).passed for k in ks)
    assert ch07.check_split(3).passed   # the answer exists; the chapter just does not show it
    from microlab.labs.change import change_lab

    shown = change_lab().controls["split_every"].value   # nor does the lab, before the slider moves
    assert not ch07.check_split(shown).passed
