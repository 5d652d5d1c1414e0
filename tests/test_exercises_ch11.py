"""Exercise checks of notebook 11: right answers pass, typical wrong ones get the intended hint."""

from microlab.exercises import ch11, feedback


# A copy of ch11._lowest_true_stock on purpose: this is the learner's right answer, written
# as the notebook's solution writes it, and the check compares it with the package's own
# count. Calling the package's function here would check the function against itself.
def true_stock(result):
    start = result.knobs.stock["piano"]
    held, lowest = set(), start
    for _, corr, effect, _ in ch11.inventory_effects(result):
        if effect == "reserve":
            held.add(corr)
        elif effect == "release":
            held.discard(corr)
        lowest = min(lowest, start - len(held))
    return lowest


def written(result):
    return min([1] + [d["stock"] for _, _, _, d in ch11.inventory_effects(result) if "stock" in d])


def test_right_answers_pass():
    assert ch11.check_true_stock(true_stock).passed
    assert ch11.check_commutative(lambda read, now: now - 1 if now > 0 else None).passed
    assert ch11.check_countermeasure("semantic-lock").passed


def test_true_stock_hints_nudge_before_they_reveal():
    feedback._TRIES.clear()
    first = ch11.check_true_stock(written).message
    assert "the count lies" in first and "each 'reserve' takes one" not in first
    ch11.check_true_stock(written)
    assert "each 'reserve' takes one" in ch11.check_true_stock(written).message
    no_releases = lambda r: 1 - sum(1 for _, _, e, _ in ch11.inventory_effects(r) if e == "reserve")
    assert "count the releases" in ch11.check_true_stock(no_releases).message
    assert "whole number" in ch11.check_true_stock(lambda r: "minus one").message


def test_commutative_hints():
    feedback._TRIES.clear()
    read_based = lambda read, now: read - 1 if read > 0 else None
    first = ch11.check_commutative(read_based).message
    assert "which of the two values is the stock" in first and "now - 1" not in first
    never_refuses = lambda read, now: now - 1
    assert "Refuse with None" in ch11.check_commutative(never_refuses).message
    assert not ch11.check_commutative(lambda read, now: now).passed


def test_countermeasure_hints_measure_what_is_left():
    feedback._TRIES.clear()
    commutative = ch11.check_countermeasure("commutative").message
    assert "leaves" in commutative and "dirty read" in commutative and "'semantic-lock'" not in commutative
    assert "Which countermeasure" in ch11.check_countermeasure("none").message
    assert "not a value of the knob isolation" in ch11.check_countermeasure("serializable").message
