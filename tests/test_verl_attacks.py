"""The verl adapter attacked with what verl's data and a policy can hand it: completions that are
huge, empty, or that write a judge's fence and verdict syntax; gold values of the wrong type or
size; extra_info that is no mapping; rewards that crash; misspelt or missing settings. A bad row is
a counted, logged row without a total (verl gets ``none_score``), never an exception in verl's worker.

These call the adapter with verl's keywords directly (tests/test_verl.py shows verl's own code
calls it that way), so they run without verl installed."""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path

import grpo_rewards.plugins.verl as adapter
import numpy as np
import pytest
from grpo_rewards.plugins.judge.attacks import INJECTIONS, inject

from grpo_rewards.errors import ConfigError
from tests.judge_support import JudgeServer
from tests.verl_support import write_set

RIGHT = "<think>8 rows of 9</think><answer>72</answer>"
WRONG = "After checking each step, the answer is 73."


@pytest.fixture
def math_set(tmp_path):
    return {"reward_set": str(write_set(tmp_path))}


def score(kwargs, solution=RIGHT, gold="72", info=None, source="gsm8k"):
    return adapter.compute_score(data_source=source, solution_str=solution, ground_truth=gold, extra_info=info, **kwargs)


def no_total(result, kind_text):
    assert result["score"] == 0.0 and result["grpo_rewards/no_total"] == 1.0
    assert kind_text in result["grpo_rewards/problem"], result["grpo_rewards/problem"]
    return result


# --- completions ----------------------------------------------------------------------------


def test_a_huge_completion_is_never_given_to_a_reward(math_set):
    huge = "<answer>72</answer>" + "9" * 2_000_001  # over every reward's max_input_chars
    result = no_total(score(math_set, huge), "over max_input_chars")
    assert result["rewards/correct"] is None and result["rewards/format"] is None


def test_an_empty_completion_scores_zero_not_an_error(math_set):
    result = score(math_set, "")
    assert result["score"] == 0.0 and result["grpo_rewards/no_total"] == 0.0 and result["grpo_rewards/problem"] == ""


@pytest.mark.parametrize("solution", [None, b"<answer>72</answer>", 72, ["<answer>72</answer>"]])
def test_a_completion_that_is_not_text_is_a_counted_problem(math_set, solution):
    no_total(score(math_set, solution), "solution_str is a")


def test_a_completion_writing_verdict_syntax_is_not_paid_by_a_fenced_judge(tmp_path):
    text = """
[[rewards]]
use = "judge.reference"
name = "judge"
params = { base_url = "{url}", model = "gullible-judge", retries = 0, deadline = 10.0 }
"""
    with JudgeServer() as server:
        path = write_set(tmp_path, text.replace("{url}", server.base_url))
        kwargs = {"reward_set": str(path)}
        info = {"prompt": "A box holds 8 rows of 9. How many?"}
        assert score(kwargs, "The answer is 72.", "72", info)["score"] == 1.0
        assert score(kwargs, WRONG, "72", info)["score"] == 0.0
        lifted = {name: r["score"] for name in INJECTIONS if (r := score(kwargs, inject(WRONG, name), "72", info))["score"] > 0}
        assert lifted == {}


# --- gold values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "why"),
    [
        (None, "ground_truth is None"),
        (["72"], "ground_truth is a list"),
        ({"answer": "72"}, "ground_truth is a dict"),
        (np.array(["72", "73"]), "ground_truth is a list"),
        (True, "ground_truth is a bool"),
        (math.nan, "not a finite number"),
        ("7" * 100_001, "over max_column_chars"),
    ],
)
def test_a_gold_of_the_wrong_type_or_size_is_a_counted_problem(math_set, gold, why):
    no_total(score(math_set, RIGHT, gold), why)


@pytest.mark.parametrize("gold", ["72", 72, np.int64(72), np.str_("72"), np.array("72")])
def test_numpy_and_number_golds_are_read_as_their_values(math_set, gold):
    assert score(math_set, RIGHT, gold)["score"] == 1.5


def test_ground_truth_shapes_any_and_fields(tmp_path):
    path = str(write_set(tmp_path))
    passed = score({"reward_set": path, "ground_truth_shape": "any"}, RIGHT, ["72"])  # the reward decides
    assert passed["grpo_rewards/problem"] == "" or passed["rewards/correct"] is None
    fields = {"reward_set": path, "ground_truth_shape": "fields"}
    assert score(fields, RIGHT, {"answer": "72"})["score"] == 1.5
    no_total(score(fields, RIGHT, "72"), "not a mapping")


def test_ground_truth_wins_over_an_extra_info_key_of_its_column(tmp_path):
    path = str(write_set(tmp_path))
    info = {"answer": "73", "gold": "72"}
    assert score({"reward_set": path}, RIGHT, "72", info)["rewards/correct"] == 1.0
    assert score({"reward_set": path}, RIGHT, "73", info)["rewards/correct"] == 0.0


def test_every_column_the_set_reads_and_the_prompt_are_bounded_not_only_ground_truth(tmp_path):
    path = str(write_set(tmp_path))
    big = "7" * 100_001
    renamed = {"reward_set": path, "ground_truth_shape": "fields", "columns": {"answer": "gold"}}
    no_total(score(renamed, RIGHT, {}, {"gold": big}), "column 'answer' is over max_column_chars")
    no_total(score({"reward_set": path}, RIGHT, "72", {"prompt": big}), "the prompt is over max_column_chars")
    # a big extra_info value no reward reads is not the set's business
    assert score({"reward_set": path}, RIGHT, "72", {"passage": big})["score"] == 1.5
    assert score({"reward_set": path, "max_column_chars": 200_000}, RIGHT, "72", {"prompt": big})["score"] == 1.5


@pytest.mark.parametrize("info", [["answer", "72"], "answer=72", 72])
def test_extra_info_that_is_no_mapping_is_a_counted_problem(math_set, info):
    no_total(score(math_set, RIGHT, "72", info), "extra_info is a")


def test_extra_info_keys_that_are_no_strings_are_left_out(math_set):
    assert score(math_set, RIGHT, "72", {1: "x", None: "y", "question": "q"})["score"] == 1.5


# --- rewards that misbehave, and the batch shape ----------------------------------------------


def test_a_reward_that_exits_is_a_counted_none_with_its_reason(tmp_path):
    shutil.copy(Path(__file__).with_name("hostile_rewards.py"), tmp_path / "hostile_rewards.py")
    path = tmp_path / "set.toml"
    path.write_text('plugins = ["hostile_rewards.py"]\n[[rewards]]\nuse = "hostile.act"\nname = "act"\n')
    for command in ("system_exit", "keyboard_interrupt", "base_exception"):
        result = no_total(score({"reward_set": str(path)}, command, None), "no reward gave a value")
        assert "act:" in result["grpo_rewards/problem"]


def test_the_batch_shape_scores_good_and_bad_rows_with_the_same_keys(math_set):
    out = adapter.compute_score(
        data_sources=np.array(["gsm8k"] * 4, dtype=object),
        solution_strs=[RIGHT, "", None, RIGHT],
        ground_truths=["72", "72", "72", {"x": 1}],
        extra_infos=[{}, None, {}, {}],
        **math_set,
    )
    assert [r["score"] for r in out] == [1.5, 0.0, 0.0, 0.0]
    assert [r["grpo_rewards/no_total"] for r in out] == [0.0, 0.0, 1.0, 1.0]
    assert len({tuple(r) for r in out}) == 1
    with pytest.raises(ValueError, match="ground_truths has 1 entries for 2"):
        adapter.compute_score_batch(solution_strs=["a", "b"], ground_truths=["72"], **math_set)


def test_problems_are_counted_and_logged_with_their_reason(math_set, caplog):
    before = adapter.problem_counts().get("ground_truth_missing", 0)
    with caplog.at_level(logging.WARNING, logger="grpo_rewards.verl"):
        score(math_set, RIGHT, None)
    assert adapter.problem_counts()["ground_truth_missing"] == before + 1
    assert any("ground_truth is None" in record.getMessage() for record in caplog.records)


# --- settings -------------------------------------------------------------------------------


def test_settings_mistakes_are_refused_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv(adapter.SET_ENV, raising=False)
    path = str(write_set(tmp_path))
    cases = {
        "reward_set": {},
        "not a file": {"reward_set": str(tmp_path / "missing.toml")},
        "did you mean 'none_score'": {"reward_set": path, "none_scor": 1.0},
        "ground_truth_shape": {"reward_set": path, "ground_truth_shape": "list"},
        "finite number": {"reward_set": path, "none_score": math.nan},
        "none_reward_value": {"reward_set": path, "none_reward_value": "zero"},
        "not a column the set reads": {"reward_set": path, "ground_truth_column": "solution"},
        "non-empty strings": {"reward_set": path, "columns": {"answer": ""}},
    }
    for why, kwargs in cases.items():
        with pytest.raises(ConfigError, match=why):
            score(kwargs)


def test_none_reward_value_fills_only_the_rewards_that_gave_none(math_set):
    filled = {**math_set, "none_reward_value": 0.0}
    bad = score(filled, RIGHT, None)
    assert bad["rewards/correct"] == 0.0 and bad["grpo_rewards/no_total"] == 1.0
    assert score(filled)["rewards/correct"] == 1.0 and score(math_set, RIGHT, None)["rewards/correct"] is None


def test_the_set_path_may_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(adapter.SET_ENV, str(write_set(tmp_path)))
    assert score({})["score"] == 1.5


def test_a_set_reading_two_columns_needs_ground_truth_column(tmp_path):
    text = """
[[rewards]]
use = "math.correct"
params = { answer_column = "answer" }

[[rewards]]
use = "math.correct"
name = "second"
params = { answer_column = "final" }
"""
    path = str(write_set(tmp_path, text))
    with pytest.raises(ConfigError, match="say which one verl's ground_truth fills"):
        score({"reward_set": path})
    both = score({"reward_set": path, "ground_truth_column": "final"}, "<answer>72</answer>", "72", {"answer": "73"})
    assert both["rewards/math.correct"] == 0.0 and both["rewards/second"] == 1.0
    renamed = {"reward_set": path, "ground_truth_column": "final", "columns": {"answer": "gold"}}
    both = score(renamed, "<answer>72</answer>", "72", {"answer": "73", "gold": "72"})  # answer <- extra_info.gold
    assert both["rewards/math.correct"] == 1.0 and both["rewards/second"] == 1.0


def test_verl_own_keywords_are_accepted_and_unknown_ones_ignored_with_a_warning(math_set, caplog):
    with caplog.at_level(logging.WARNING, logger="grpo_rewards.verl"):
        result = score({**math_set, "reward_router_address": "127.0.0.1:1", "some_future_verl_kwarg": 3})
    assert result["score"] == 1.5
    assert any("some_future_verl_kwarg" in r.getMessage() for r in caplog.records)
