"""Declared workflow inputs that a start request leaves out.

Conductor lets a workflow start without an input its definition declares
(``inputParameters``): ``${workflow.input.x}`` then reads null. microlab keeps that, and
the orchestrator warns once per workflow, because a learner who forgot an input sees
only ``None`` flowing through the wiring.
"""

from __future__ import annotations


class MissingInputWarning(UserWarning):
    """A workflow was started without an input its definition declares (it reads None)."""


def missing_inputs(declared, given: dict) -> list[str]:
    """The declared input names absent from ``given`` (pure: no warning, no state)."""
    return [name for name in declared or [] if isinstance(name, str) and name not in given]


def missing_input_message(workflow: str, missing: list[str], given: dict) -> str:
    """The teaching sentence for a start that left declared inputs out."""
    plural = len(missing) > 1
    return (f"workflow {workflow!r} declares input{'s' if plural else ''} "
            f"{', '.join(map(repr, missing))} but was started without {'them' if plural else 'it'}; "
            f"${{workflow.input.{missing[0]}}} reads None (as in Conductor). "
            f"Started with: {', '.join(map(repr, given)) or 'no input'}. (Said once per workflow.)")
