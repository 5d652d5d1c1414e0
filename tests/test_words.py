"""Counted nouns read as words: "1 message", "3 messages", never "message(s)"."""

import re
import tokenize
from pathlib import Path

from microlab.words import count


def test_count_says_the_noun_in_the_singular_for_one_only():
    assert [count(n, "task") for n in (0, 1, 2)] == ["0 tasks", "1 task", "2 tasks"]
    assert count(2, "copy", "copies") == "2 copies" and count(1, "copy", "copies") == "1 copy"


def test_no_learner_facing_text_falls_back_on_an_s_in_brackets():
    # A formatted string that counts with "(s)" reads like a placeholder. Only f-strings
    # are read: a count is formatted; "crash at t (s)" (a unit) and prose are not counts.
    root = Path(__file__).resolve().parent.parent / "microlab"
    found = []
    for path in root.rglob("*.py"):
        with tokenize.open(path) as fh:
            for tok in tokenize.generate_tokens(fh.readline):
                if (tok.type == tokenize.STRING and re.match(r"(?i)[rb]*f", tok.string)
                        and re.search(r"[a-z]\(s\)", tok.string)):
                    found.append(f"{path.relative_to(root)}:{tok.start[0]}")
    assert not found, found
