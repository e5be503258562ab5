"""The world's weighted draws within groups."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shopstream.generator import world
from shopstream.generator.world import WeightedGroups

weight = st.one_of(st.just(0.0), st.floats(1e-6, 1e6, allow_nan=False, allow_infinity=False))
weights = st.lists(weight, min_size=1, max_size=300).filter(lambda w: sum(w) > 0)


@settings(max_examples=200, deadline=None)
@given(weights=weights, seed=st.integers(0, 2**32 - 1))
def test_guided_search_finds_what_a_binary_search_finds(weights: list[float], seed: int) -> None:
    groups = WeightedGroups.of(np.zeros(len(weights), np.int64), np.array(weights), 1)
    rng = np.random.default_rng(seed)
    total = groups.cdf[-1]
    # anywhere in the range, its ends, and exactly on every cumulative weight
    weight = np.concatenate([rng.random(500) * total, [0.0, total], groups.cdf])
    expected = np.searchsorted(groups.cdf, weight, side="right") - 1
    assert groups._position(weight).tolist() == expected.tolist()


def test_draws_follow_the_weights_within_each_group() -> None:
    # group 0: members 0 (weight 1) and 2 (weight 3); group 1: member 1; group 2: none
    groups = WeightedGroups.of(np.array([0, 1, 0]), np.array([1.0, 5.0, 3.0]), 3)
    rng = np.random.default_rng(1)
    drawn = groups.draw(rng, np.zeros(40_000, np.int64))
    assert set(np.unique(drawn).tolist()) == {0, 2}
    assert abs(np.mean(drawn == 2) - 0.75) < 0.01
    assert groups.draw(rng, np.array([1, 2])).tolist() == [1, -1]


def test_the_guide_is_the_same_built_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    groups, weights = rng.integers(0, 4, 1_000), rng.lognormal(0, 2, 1_000)
    whole = WeightedGroups.of(groups, weights, 4)
    monkeypatch.setattr(world, "_GUIDE_BLOCK", 7)
    blocks = WeightedGroups.of(groups, weights, 4)
    assert blocks.guide.tolist() == whole.guide.tolist()
    assert blocks.steps == whole.steps
