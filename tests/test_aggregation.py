"""The one total and advantage function, by hand for each TRL aggregation mode; schedules; gates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grpo_rewards.aggregation import Aggregation, compute_advantages, weighted_total
from grpo_rewards.gates import GateSyntaxError, evaluate, find_cycle, names_in, parse_gate
from grpo_rewards.schedules import ScheduleError, parse_schedule

NAN = float("nan")


def test_weighted_total_leaves_all_none_rows_out():
    m = np.array([[1.0, NAN], [NAN, NAN], [0.5, 2.0]])
    total = weighted_total(m, [2.0, -1.0])
    assert total[0] == 2.0 and math.isnan(total[1]) and total[2] == -1.0


def test_sum_then_normalize_group_by_hand_with_an_unscorable_row():
    # group 1: totals [1, NaN, 3] -> baseline 2 over the scorable rows, Bessel std sqrt(2)
    # group 2: totals [5, 5, 5] -> no spread: advantage 0
    m = np.array([[1.0], [NAN], [3.0], [5.0], [5.0], [5.0]])
    a = compute_advantages(m, [1.0], 3)
    s = math.sqrt(2) + 1e-4
    assert a.advantages == pytest.approx([-1 / s, 0.0, 1 / s, 0, 0, 0])
    assert a.unscorable.tolist() == [False, True, False, False, False, False]
    assert a.components.sum(axis=1) == pytest.approx(a.advantages)


def test_scale_none_and_batch_by_hand():
    m = np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 1.0], [2.0, 3.0]])  # totals with w=(1, .5): 1, 0 | 2.5, 3.5
    none = compute_advantages(m, [1.0, 0.5], 2, Aggregation("sum_then_normalize", "none"))
    assert none.advantages == pytest.approx([0.5, -0.5, -0.5, 0.5])
    batch = compute_advantages(m, [1.0, 0.5], 2, Aggregation("sum_then_normalize", "batch"))
    totals = np.array([1.0, 0.0, 2.5, 3.5])
    assert batch.advantages == pytest.approx(none.advantages / (totals.std(ddof=1) + 1e-4))
    # components: group 2 is driven by the second reward alone (the first has no spread)
    assert none.components[2:].tolist() == [[0.0, -0.5], [0.0, 0.5]]


def test_gdpo_by_hand_none_is_left_out_of_its_reward_group_statistics():
    # one group of three; a = [1, 0, NaN], b = [2, 2, 2] (no spread: z = 0 everywhere)
    m = np.array([[1.0, 2.0], [0.0, 2.0], [NAN, 2.0]])
    a = compute_advantages(m, [1.0, 1.0], 3, Aggregation("normalize_then_sum", "none"))
    z = 0.5 / (math.sqrt(0.5) + 1e-4)
    r = np.array([z, -z, 0.0])  # the None adds nothing to row 3's sum
    expected = (r - r.mean()) / (r.std(ddof=1) + 1e-4)
    assert a.advantages == pytest.approx(expected)
    assert a.components.sum(axis=1) == pytest.approx(a.advantages)
    assert a.reward_std[0, 1] == 0.0


def test_a_single_scorable_row_in_a_group_gets_no_advantage():
    m = np.array([[NAN], [4.0]])
    for agg in (Aggregation(), Aggregation("sum_then_normalize", "none"), Aggregation("normalize_then_sum")):
        assert compute_advantages(m, [1.0], 2, agg).advantages.tolist() == [0.0, 0.0]


def test_aggregation_settings_are_checked_and_read_as_trl_reads_them():
    assert Aggregation.from_grpo({"scale_rewards": False}) == Aggregation("sum_then_normalize", "none")
    assert Aggregation.from_grpo({"multi_objective_aggregation": "normalize_then_sum"}).label == "normalize_then_sum"
    with pytest.raises(ValueError, match="scale_rewards must be one of"):
        Aggregation(scale_rewards="grp")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ({"schedule": "linear", "start": 0.0, "end": 0.5, "steps": 200}, {0: 0.0, 100: 0.25, 200: 0.5, 999: 0.5}),
        ({"schedule": "cosine", "start": 1.0, "end": 0.0, "steps": 10}, {0: 1.0, 5: 0.5, 10: 0.0}),
        ({"schedule": "warmup", "end": 2.0, "steps": 4}, {0: 0.0, 1: 0.5, 4: 2.0}),
        ({"schedule": "piecewise", "points": [[10, 1.0], [20, 3.0], [30, 3.0]]}, {0: 1.0, 15: 2.0, 25: 3.0, 40: 3.0}),
    ],
)
def test_schedules_by_hand(raw, expected):
    schedule = parse_schedule(raw)
    for step, weight in expected.items():
        assert schedule.at(step) == pytest.approx(weight), step
    assert schedule.at(None) == list(expected.values())[-1]  # None: the end of the schedule


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"schedule": "exponential", "steps": 3}, "schedule"),
        ({"schedule": "linear", "start": 0, "end": 1, "steps": 0}, "steps"),
        ({"schedule": "linear", "start": 0, "end": 1, "steps": 5, "stop": 1}, "stop"),
        ({"schedule": "warmup", "start": 0, "end": 1, "steps": 5}, "start"),
        ({"schedule": "piecewise", "points": [[5, 1], [5, 2]]}, "points[1]"),
        ({"schedule": "linear", "start": float("nan"), "end": 1, "steps": 5}, "start"),
    ],
)
def test_bad_schedules_name_the_key(raw, key):
    with pytest.raises(ScheduleError) as info:
        parse_schedule(raw)
    assert info.value.key == key


def test_gates_three_valued_by_hand():
    cols = {"correct": np.array([1.0, 0.0, NAN, 1.0]), "format": np.array([0.5, 1.0, 1.0, NAN])}
    gate = parse_gate("correct >= 1 and not (format < 0.5)")
    assert names_in(gate) == ["correct", "format"]
    # row 3: correct true but format unknown -> unknown -> closed; row 2: correct unknown -> closed
    assert evaluate(gate, cols, 4).tolist() == [True, False, False, False]
    assert evaluate(parse_gate("correct >= 1 or format > 0.9"), cols, 4).tolist() == [True, True, True, True]
    assert evaluate(parse_gate("not correct == 0"), cols, 4).tolist() == [True, False, False, True]
    assert evaluate(parse_gate("0.5 < format"), cols, 4).tolist() == [False, True, True, False]


@pytest.mark.parametrize(
    "text, message",
    [
        ("correct >=", "ends too early"),
        ("correct", "ends too early"),
        ("correct >= 1 and", "ends too early"),
        ("1 < 2", "compares two numbers"),
        ("__import__('os')", "unexpected"),
        ("correct >= 1)", "unexpected ')'"),
        ("(" * 40 + "correct > 1" + ")" * 40, "nests deeper"),
        ("a > 1 or " * 30 + "a > 1", "characters long"),
        ("correct => 1", "unexpected '=> 1' at character 8"),
    ],
)
def test_bad_gates_are_refused(text, message):
    with pytest.raises(GateSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_gate(text)


def test_cycles_are_found():
    assert find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": ["b"], "b": [], "c": ["a", "b"]}) is None
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
