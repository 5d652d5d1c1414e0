"""Counted nouns in what learners read: "1 message", "3 messages", never "message(s)".

One helper for every message, hint and lab note that counts something, so that none of
them falls back on a "(s)" that reads like a placeholder.
"""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural unless ``n`` is 1: ``count(3, "task")`` is
    ``"3 tasks"``; ``plural`` for a noun whose plural is not ``noun + "s"``
    (``count(2, "copy", "copies")``)."""
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


__all__ = ["count"]
