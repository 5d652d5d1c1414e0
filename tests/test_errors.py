"""The shared "did you mean" helper every misspelt-name error uses."""

import pathlib

from microlab.errors import UnknownServiceError, closest, did_you_mean


def test_did_you_mean_continues_a_clause_or_follows_a_sentence():
    assert did_you_mean("paymnet", ["payment", "stock"]) == "; did you mean 'payment'?"
    assert did_you_mean("paymnet", ["payment"], sentence=True) == " Did you mean 'payment'?"


def test_did_you_mean_says_otherwise_when_nothing_is_close():
    assert did_you_mean("zzz", ["payment"]) == ""
    assert did_you_mean("zzz", ["payment"], otherwise=".") == "."
    assert closest("zzz", ["payment"]) is None
    assert closest(3, ["3x", "payment"]) == "3x"  # non-strings are compared as text


def test_unknown_service_error_uses_the_helper():
    err = UnknownServiceError("shiping", ["shipping", "payment"])
    assert "no service is called 'shiping'; did you mean 'shipping'?" in str(err)


def test_no_module_calls_difflib_but_errors():
    root = pathlib.Path(__file__).resolve().parents[1] / "microlab"
    callers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py")
                     if "get_close_matches" in p.read_text() and p.name != "errors.py")
    assert callers == [], f"use microlab.errors.did_you_mean instead of difflib in {callers}"
