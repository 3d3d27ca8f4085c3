"""Per-reward contributions against figures computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grpo_rewards.contributions import compute_contributions


def test_shares_zero_spread_and_none_by_hand():
    # Two groups of two completions, rewards a (weight 1) and b (weight 2).
    values = [
        [1.0, 0.5],   # group 1
        [0.0, 0.5],
        [1.0, None],  # group 2: b is None for one completion
        [1.0, 0.2],
    ]
    c = compute_contributions(values, [1.0, 2.0], group_size=2, names=["a", "b"])
    # Totals (None counts 0 as in TRL's nansum): g1 = [2, 1], g2 = [1, 1.4].
    # g1: Cov(a, r) = 0.25, Cov(2b, r) = 0, Var(r) = 0.25.
    # g2: Cov(a, r) = 0,    Cov(2b, r) = Var(2b) = 0.04, Var(r) = 0.04.
    assert c.share["a"] == pytest.approx(0.25 / 0.29)
    assert c.share["b"] == pytest.approx(0.04 / 0.29)
    assert sum(c.share.values()) == pytest.approx(1.0)
    assert c.zero_spread == {"a": 0.5, "b": 1.0}  # b: equal in g1, a single value in g2
    assert c.none_rate == {"a": 0.0, "b": 0.25}
    assert c.weighted_mean["a"] == pytest.approx(0.75)
    assert c.weighted_mean["b"] == pytest.approx(2 * 1.2 / 3)
    assert c.total_zero_spread == 0.0
    assert c.as_metrics()["rewards/b/share"] == pytest.approx(0.04 / 0.29)


def test_no_spread_anywhere_gives_undefined_shares():
    c = compute_contributions([[1.0], [1.0], [0.0], [0.0]], [1.0], group_size=2, names=["flat"])
    assert math.isnan(c.share["flat"])
    assert c.zero_spread == {"flat": 1.0} and c.total_zero_spread == 1.0


def test_opposed_rewards_show_negative_correlation_and_share():
    a = np.array([1.0, 0.0, 1.0, 0.0])
    values = np.stack([a, 1 - a], axis=1)
    c = compute_contributions(values, [1.0, 0.5], group_size=4, names=["format", "length"])
    assert c.correlation[0, 1] == pytest.approx(-1.0)
    assert c.share["length"] < 0 < c.share["format"]  # a tug of war: length pulls against the total
    assert c.correlation_pairs() == {"rewards/corr/format~length": pytest.approx(-1.0)}


def test_rows_must_split_into_groups():
    with pytest.raises(ValueError, match="do not split into groups of 4"):
        compute_contributions([[1.0]] * 6, [1.0], group_size=4, names=["a"])
