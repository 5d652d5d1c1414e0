"""Latency and work-time distributions."""

import random
import statistics

import pytest

from microlab.distributions import Constant, Exponential, LogNormal, Uniform, as_distribution


@pytest.mark.parametrize("dist", [Constant(0.5), Uniform(0.2, 0.8), Exponential(0.5), LogNormal(0.4, 0.5)])
def test_sample_mean_is_close_to_the_stated_mean(dist):
    rng = random.Random(1)
    samples = [dist.sample(rng) for _ in range(20_000)]
    assert min(samples) >= 0
    assert statistics.fmean(samples) == pytest.approx(dist.mean, rel=0.05)


def test_same_generator_state_gives_same_samples():
    a = [Exponential(1).sample(random.Random(5)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_as_distribution_accepts_numbers_and_none_and_rejects_the_rest():
    assert as_distribution(0.3) == Constant(0.3)
    assert as_distribution(None) is None
    with pytest.raises(TypeError, match="work_time must be"):
        as_distribution("fast", "work_time")


@pytest.mark.parametrize("make", [lambda: Exponential(0), lambda: Uniform(2, 1),
                                  lambda: Constant(-1), lambda: LogNormal(-1)])
def test_bad_parameters_are_rejected(make):
    with pytest.raises(ValueError):
        make()
