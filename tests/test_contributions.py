"""Per-reward contributions against figures computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grpo_rewards.aggregation import Aggregation
from grpo_rewards.contributions import compute_contributions

UNSCALED = Aggregation("sum_then_normalize", "none")


def test_shares_zero_spread_and_none_by_hand():
    # Two groups of two completions, rewards a (weight 1) and b (weight 2).
    values = [
        [1.0, 0.5],  # group 1
        [0.0, 0.5],
        [1.0, None],  # group 2: b is None for one completion
        [1.0, 0.2],
    ]
    c = compute_contributions(values, [1.0, 2.0], group_size=2, names=["a", "b"], aggregation=UNSCALED)
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


def test_group_scaling_weighs_each_group_by_the_inverse_of_its_spread():
    # The same rows under TRL's default scale_rewards="group": g1 totals [2, 1] (Bessel std sqrt(.5)),
    # driven by a alone; g2 totals [1, 1.4] (std sqrt(.08)), driven by b alone. Each group's
    # advantages are +-(half range) / (std + 1e-4), so each group's energy is 2 * that squared.
    values = [[1.0, 0.5], [0.0, 0.5], [1.0, None], [1.0, 0.2]]
    c = compute_contributions(values, [1.0, 2.0], group_size=2, names=["a", "b"])
    g1 = 2 * (0.5 / (math.sqrt(0.5) + 1e-4)) ** 2
    g2 = 2 * (0.2 / (math.sqrt(0.08) + 1e-4)) ** 2
    assert c.share["a"] == pytest.approx(g1 / (g1 + g2))
    assert c.share["b"] == pytest.approx(g2 / (g1 + g2))
    # batch scaling divides every row by one std: the shares are the unscaled ones
    batch = compute_contributions(values, [1.0, 2.0], 2, ["a", "b"], Aggregation("sum_then_normalize", "batch"))
    assert batch.share["a"] == pytest.approx(0.25 / 0.29)


def test_gdpo_shares_decompose_the_standardised_sum_and_flag_amplified_rewards():
    # Two groups of two. a: [1, 0 | 1, 0] -> z = +-0.5/(sqrt(.5)+1e-4) in both groups.
    # tiny: [0.001, 0 | 0, 0] -> group 1 std sqrt(5e-7) = 7.07e-4 (>= 1e-4, < 0.01): amplified to
    # +-0.0005/(7.07e-4 + 1e-4) = +-0.6196; group 2 has no spread (z = 0, not amplified).
    # weights 1 and 0.1 -> R = [z + .06196, -z - .06196 | z, -z], batch mean 0; the batch std
    # only scales, so share_k = sum_i c_ik R_i / sum_i R_i^2.
    values = [[1.0, 0.001], [0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]
    c = compute_contributions(values, [1.0, 0.1], 2, ["a", "tiny"], Aggregation("normalize_then_sum"))
    z = 0.5 / (math.sqrt(0.5) + 1e-4)
    t = 0.1 * 0.0005 / (math.sqrt(5e-7) + 1e-4)
    energy = 2 * (z + t) ** 2 + 2 * z**2
    assert c.share["tiny"] == pytest.approx(2 * t * (z + t) / energy)
    assert c.share["a"] == pytest.approx((2 * z * (z + t) + 2 * z * z) / energy)
    assert c.amplified == {"a": 0.0, "tiny": 0.5}
    assert c.as_metrics()["rewards/tiny/amplified"] == 0.5
    # under sum-then-normalise the same term is a rounding error, and nothing is "amplified"
    plain = compute_contributions(values, [1.0, 0.1], 2, ["a", "tiny"])
    assert plain.share["tiny"] < 1e-3 and plain.amplified == {}


def test_a_closed_gate_gives_the_closed_value_and_is_counted():
    # short (in [0, 1]) is gated on correct >= 1: open in rows 0 and 2 only; closed, it gives min(score, 0) = 0.
    values = [[1.0, 0.2], [0.0, 0.9], [1.0, 0.6], [0.0, 0.1]]
    gate_open = np.array([[True, True], [True, False], [True, True], [True, False]])
    c = compute_contributions(
        values, [1.0, 1.0], 2, ["correct", "short"], UNSCALED, gate_open, gated=["short"], closed_values=[float("nan"), 0.0]
    )
    # totals [1.2, 0 | 1.6, 0]: per group Cov(short, r) = .01 (g1: .2 vs 0), .04 (g2); Var(r) .36 and .64
    assert c.share["short"] == pytest.approx((0.2 * 1.2 / 4 + 0.6 * 1.6 / 4) / (1.2**2 / 4 + 1.6**2 / 4))
    assert sum(c.share.values()) == pytest.approx(1.0)
    assert c.gated_rate == {"short": 0.5}
    assert "rewards/correct/gated_rate" not in c.as_metrics()
    assert c.none_rate["short"] == 0.0  # the raw score was there: a closed gate is not a None
