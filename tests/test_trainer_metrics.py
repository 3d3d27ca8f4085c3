"""The per-reward contribution metrics against a hand-computed example (no model needed)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from grpo_rewards.trainer.metrics import RewardMetrics, call_stats_rows

from grpo_rewards.reward import CallStats

NAN = float("nan")

# Two groups of two completions, rewards a (weight 1) and b (weight 0.5), b None once.
#   a = [1, 0 | 2, 2]      b = [None, 4 | 2, 0]
#   weighted: a [1, 0 | 2, 2], b [0, 2 | 1, 0] (None -> 0, as TRL's nansum), total [1, 2 | 3, 2]
#   group 1: total centred [-.5, .5]; a centred [.5, -.5]; b centred [-1, 1]
#            Cov(a, r) = -.25, Cov(b, r) = .5, Var(r) = .25
#   group 2: total centred [.5, -.5]; a has no spread; b centred [.5, -.5]
#            Cov(a, r) = 0, Cov(b, r) = .25, Var(r) = .25
#   share a = -.25 / .5 = -0.5, share b = .75 / .5 = 1.5 (they sum to 1)
#   zero spread: a in group 2; b in group 1 (only one score present) -> 0.5 each
#   weighted mean: a = 5/4 = 1.25; b = mean(2, 1, 0) over the present scores = 1.0
VALUES = np.array([[1, NAN], [0, 4], [2, 2], [2, 0]], dtype=float)
# rows, nones, errors, timeouts, seconds per reward (already summed over processes)
STATS = np.array([[4, 0, 0, 0, 0.008], [4, 1, 1, 0, 0.2]])


def test_hand_computed_contributions_with_none_and_zero_spread():
    metrics = RewardMetrics(["a", "b"], [1.0, 0.5], group_size=2, correlation_steps=5)
    metrics.add(VALUES, STATS)
    out = metrics.flush(step=1)
    expected = {
        "rewards/a/weighted_mean": 1.25,
        "rewards/b/weighted_mean": 1.0,
        "rewards/a/share": -0.5,
        "rewards/b/share": 1.5,
        "rewards/a/zero_spread": 0.5,
        "rewards/b/zero_spread": 0.5,
        "rewards/a/none_rate": 0.0,
        "rewards/b/none_rate": 0.25,
        "rewards/a/error_rate": 0.0,
        "rewards/b/error_rate": 0.25,
        "rewards/a/timeout_rate": 0.0,
        "rewards/b/timeout_rate": 0.0,
        "rewards/a/latency_ms": 2.0,
        "rewards/b/latency_ms": 50.0,
        "rewards/a/weight": 1.0,
        "rewards/b/weight": 0.5,
    }
    assert out.keys() == expected.keys()  # no correlation at step 1 (every 5 steps)
    for key, value in expected.items():
        assert out[key] == pytest.approx(value), key
    assert not metrics.pending
    assert metrics.flush(step=2) == {}


def test_a_logging_window_pools_its_batches_and_correlation_comes_every_n_steps():
    metrics = RewardMetrics(["a", "b"], [1.0, 0.5], group_size=2, correlation_steps=2)
    metrics.add(VALUES[:2], STATS / 2)
    metrics.add(VALUES[2:], STATS / 2)
    pooled = metrics.flush(step=1)
    assert pooled["rewards/a/share"] == pytest.approx(-0.5)  # ratio of sums over both batches
    assert pooled["rewards/b/latency_ms"] == pytest.approx(50.0)
    assert "rewards/corr/a~b" not in pooled
    metrics.add(VALUES, STATS)
    at_two = metrics.flush(step=2)
    # correlation over all rows since the last one: a and b where both present, twice over
    a = np.array([0, 2, 2, 0, 2, 2], dtype=float)
    b = np.array([4, 2, 0, 4, 2, 0], dtype=float)
    assert at_two["rewards/corr/a~b"] == pytest.approx(np.corrcoef(a, b)[0, 1])


def test_no_spread_anywhere_gives_an_undefined_share_not_a_crash():
    metrics = RewardMetrics(["a"], [1.0], group_size=2)
    metrics.add(np.array([[1.0], [1.0]]), np.array([[2, 0, 0, 0, 0.0]]))
    out = metrics.flush(step=1)
    assert math.isnan(out["rewards/a/share"])
    assert out["rewards/a/zero_spread"] == 1.0


def test_call_stats_of_our_rewards_and_of_plain_callables():
    # our reward's statistics come from the step's ScoreBatch; a plain callable has none
    table, timed = call_stats_rows([CallStats(rows=8, nones=2, errors=1, timeouts=1, seconds=0.5), None], rows=8)
    assert table == [[8.0, 2.0, 1.0, 1.0, 0.5, 0.0, 0.0, 0.0], [8.0] + [0.0] * 7]
    assert timed == [True, False]
    metrics = RewardMetrics(["scored", "plain"], [1.0, 1.0], group_size=4)
    metrics.add(np.zeros((8, 2)), np.array(table), timed)
    out = metrics.flush(step=1)
    assert out["rewards/scored/latency_ms"] == pytest.approx(62.5)
    assert out["rewards/scored/timeout_rate"] == pytest.approx(0.125)
    assert math.isnan(out["rewards/plain/latency_ms"])  # unknown, not zero


def test_batches_at_different_weights_and_a_gate_pool_into_one_window():
    # batch 1 at weights (1, .5), batch 2 at (1, 0): the shares pool both; the logged weight is the last
    metrics = RewardMetrics(["a", "b"], [1.0, 0.5], group_size=2, gated=["b"])
    gate = np.array([[True, False], [True, True], [True, True], [True, True]])
    metrics.add(VALUES, STATS, weights=[1.0, 0.5], gate_open=gate)
    metrics.add(VALUES, STATS, weights=[1.0, 0.0], gate_open=gate)
    out = metrics.flush(step=1)
    assert out["rewards/b/weight"] == 0.0 and out["rewards/a/weight"] == 1.0
    assert out["rewards/b/gated_rate"] == 0.25 and "rewards/a/gated_rate" not in out
    from grpo_rewards.aggregation import compute_advantages, share_terms

    gated = np.where(gate, VALUES, np.nan)
    one = share_terms(compute_advantages(gated, [1.0, 0.5], 2))
    two = share_terms(compute_advantages(gated, [1.0, 0.0], 2))
    assert out["rewards/b/share"] == pytest.approx((one[0][1] + two[0][1]) / (one[1] + two[1]))


def test_a_judges_calls_tokens_and_cost_are_summed_over_the_window():
    first, _ = call_stats_rows([CallStats(rows=4, calls=6, tokens=1200, cost=0.5), None], rows=4)
    second, _ = call_stats_rows([CallStats(rows=4, calls=2, tokens=300, cost=0.25), None], rows=4)
    metrics = RewardMetrics(["judge", "plain"], [1.0, 1.0], group_size=2)
    metrics.add(np.zeros((4, 2)), np.array(first))
    metrics.add(np.zeros((4, 2)), np.array(second))
    out = metrics.flush(step=1)
    assert (out["rewards/judge/calls"], out["rewards/judge/tokens"], out["rewards/judge/cost"]) == (8.0, 1500.0, 0.75)
    assert "rewards/plain/calls" not in out  # a reward that reports no usage logs none
