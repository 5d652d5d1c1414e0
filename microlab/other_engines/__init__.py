"""The course's order saga written for other engines: Step Functions and BPMN (chapter 13).

Each module turns :data:`microlab.flows.ORDER`, the course's one definition of the saga,
into another engine's document, and checks such a document as far as a library can:

- :mod:`.asl`: an Amazon States Language state machine (AWS Step Functions), checked
  against a JSON schema of the part of the language it uses, and for dangling and
  unreachable states;
- :mod:`.bpmn`: a BPMN 2.0 process for Camunda 8 (Zeebe), checked against the BPMN 2.0
  XML schema that SpiffWorkflow ships;
- :mod:`.compare`: what each engine makes explicit (compensation, retries, timeouts,
  versioning), with its source.

These documents are written out and checked, not run: microlab has no Step Functions
or Zeebe to run them on (the README's "Where microlab simplifies" says so). The Temporal
version runs for real (:mod:`microlab.real.temporal_saga`), and Conductor's is
``microlab/data/workflows/order_fulfillment.json``.
"""

from pathlib import Path

#: Where the documents generated from :data:`microlab.flows.ORDER` are shipped (a test
#: holds them equal to what the generators write now).
DOCUMENTS_DIR = Path(__file__).resolve().parent.parent / "data" / "engines"


def shipped(name: str) -> str:
    """The text of a shipped document: ``"order_fulfillment.asl.json"`` or ``"order_fulfillment.bpmn"``."""
    path = DOCUMENTS_DIR / name
    if not path.exists():
        known = sorted(p.name for p in DOCUMENTS_DIR.iterdir())
        raise FileNotFoundError(f"no document called {name!r}; there are: {', '.join(known)}")
    return path.read_text()


def temporal_workflow(name: str = "OrderSaga") -> str:
    """The source of the Temporal workflow class ``name`` in ``microlab/real/temporal_saga.py``,
    read as text (so that showing it loads neither the SDK nor ``microlab.real``)."""
    import ast

    path = Path(__file__).resolve().parent.parent / "real" / "temporal_saga.py"
    text = path.read_text()
    for node in ast.parse(text).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            start = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            return "\n".join(text.splitlines()[start - 1:node.end_lineno])
    raise KeyError(f"no class {name!r} in {path.name}")


__all__ = ["DOCUMENTS_DIR", "shipped", "temporal_workflow"]
