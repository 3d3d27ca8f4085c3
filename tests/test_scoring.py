"""The scoring engine: time limits that really interrupt, crashes counted not fatal, order kept."""

from __future__ import annotations

import threading
import time

import pytest

from grpo_rewards import RewardTimeout, Row, parse_reward_set, score_rows, time_limit
from grpo_rewards.timelimit import call_with_time_limit


def spin_forever():
    while True:
        pass


@pytest.mark.parametrize("body", [spin_forever, lambda: time.sleep(30)], ids=["spin", "sleep"])
def test_time_limit_interrupts_in_the_main_thread(body):
    with pytest.raises(RewardTimeout), time_limit(0.1):
        body()


def test_time_limit_interrupts_a_spinning_worker_thread():
    outcome = []

    def work():
        try:
            with time_limit(0.1):
                spin_forever()
        except RewardTimeout:
            outcome.append("timed out")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(10)
    assert not thread.is_alive() and outcome == ["timed out"]


def test_nested_limits_report_whose_deadline_fired():
    assert call_with_time_limit(5, lambda: call_with_time_limit(0.05, spin_forever, "inner"), "outer") == "inner"
    assert call_with_time_limit(0.1, lambda: call_with_time_limit(30, spin_forever, "inner"), "outer") == "outer"


def test_no_stray_timeout_after_the_block_ends():
    with time_limit(0.05):
        pass
    time.sleep(0.2)  # would raise here if a timeout leaked out of the finished block


def rows(*completions: str) -> list[Row]:
    return [Row(completion=c, prompt="p", columns={"answer": "ok"}) for c in completions]


def test_timeouts_and_errors_become_counted_nones(registry):
    reward_set = parse_reward_set([{"use": "test.sleepy"}, {"use": "test.spin"}, {"use": "test.boom"}, {"use": "test.gold"}])
    result = score_rows(reward_set, rows("fine", "sleep now", "spin please", "boom", "ok"))
    assert result.values["test.sleepy"] == [1.0, None, 1.0, 1.0, 1.0]
    assert result.values["test.spin"] == [1.0, 1.0, None, 1.0, 1.0]
    assert result.values["test.boom"] == [0.5, 0.5, 0.5, None, 0.5]
    assert result.values["test.gold"] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert (result.stats["test.sleepy"].timeouts, result.stats["test.sleepy"].errors) == (1, 0)
    assert result.stats["test.sleepy"].first_error == "timed out after 0.2s"
    assert (result.stats["test.boom"].errors, result.stats["test.boom"].nones) == (1, 1)
    assert result.stats["test.boom"].first_error == "RuntimeError: exploded on purpose (at tests/sample_rewards.py:45 in boom)"
    assert result.total == [2.5, 1.5, 1.5, 2.0, 3.5]  # a None adds nothing


def test_time_limit_holds_when_trl_calls_from_another_thread(registry):
    fn = parse_reward_set([{"use": "test.spin"}]).functions()[0]
    results = []
    thread = threading.Thread(target=lambda: results.append(fn.run_trl(prompts=["p", "p"], completions=["spin", "x"])))
    thread.start()
    thread.join(10)
    [run] = results
    assert run.values == [None, 1.0]
    assert run.stats.timeouts == 1


def test_weighted_total_follows_trl_none_handling(registry):
    reward_set = parse_reward_set([{"use": "test.gold", "weight": 2.0}, {"use": "test.chars", "weight": 0.5}])
    result = score_rows(reward_set, [Row("ok", columns={"answer": "ok"}), Row("abcd", columns={"answer": None})])
    assert result.values["test.gold"] == [1.0, None]
    assert result.total == [2.0 + 0.5 * 2, 0.5 * 4]


def test_batched_rewards_and_wrong_lengths(registry):
    reward_set = parse_reward_set([{"use": "test.batch_len"}])
    assert score_rows(reward_set, rows("a", "bbb")).values["test.batch_len"] == [1.0, 3.0]


def test_row_order_is_preserved_under_process_parallelism(registry):
    reward_set = parse_reward_set([{"use": "test.chars"}, {"use": "test.boom"}])
    completions = ["x" * (i % 37) + ("boom" if i % 11 == 0 else "") for i in range(300)]
    serial = score_rows(reward_set, rows(*completions))
    parallel = score_rows(reward_set, rows(*completions), workers=2, chunk_size=32)
    assert parallel.values == serial.values
    assert parallel.values["test.chars"] == [float(len(c)) for c in completions]
    assert parallel.stats["test.boom"].errors == serial.stats["test.boom"].errors == 28
    assert parallel.stats["test.boom"].rows == 300


def test_progress_callback_counts_every_row(registry):
    seen = []
    score_rows(parse_reward_set([{"use": "test.chars"}]), rows(*["a"] * 10), chunk_size=4, progress=seen.append)
    assert seen == [4, 4, 2]
