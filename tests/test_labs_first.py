"""Notebook 00's first widget: the same exchange, re-run at another latency or seed."""

import pytest

from microlab import Exponential, System, labs
from microlab.labs.first import FirstExchangeLab
from tests.conftest import Pinger, Ponger


def notebook_run(seed=1, mean=0.01):
    system = System(seed=seed, latency=Exponential(mean))
    system.add(Pinger(), Ponger())
    system.run()
    return system


def test_the_default_run_is_the_notebooks_first_run():
    lab = labs.first_exchange(Pinger, Ponger)
    assert lab.error is None
    assert lab.run.trace.digest() == notebook_run().trace.digest()
    assert lab.run.trace.digest()[:12] in lab.message.value
    assert len(lab.figures["sequence"].data) > 0


def test_the_sliders_rerun_the_exchange():
    lab = labs.first_exchange(Pinger, Ponger)
    first = lab.run.trace.digest()
    lab.controls["latency_ms"].value = 50
    assert lab.error is None and lab.run.trace.digest() == notebook_run(mean=0.05).trace.digest()
    assert "50 ms" in lab.figures["sequence"].layout.title.text
    slow_end = lab.run.now
    lab.controls["latency_ms"].value = 10
    assert lab.run.trace.digest() == first and lab.run.now < slow_end
    lab.controls["seed"].value = 2
    assert lab.run.trace.digest() == notebook_run(seed=2).trace.digest() != first


def test_it_asks_for_service_classes():
    with pytest.raises(TypeError, match="Ping, not Ping()"):
        FirstExchangeLab(Pinger())
    with pytest.raises(TypeError, match="needs the service classes"):
        FirstExchangeLab()
