"""Concurrent rewards: TRL treats them as async and gathers them, so slow rewards overlap; plus the
two small contract additions they rely on (chat structure on Sample, per-row failures)."""

from __future__ import annotations

import asyncio
import pickle
import threading

import pytest

from grpo_rewards import Sample, parse_reward_set
from grpo_rewards.reward import AsyncRewardFunction, RewardFunction, RewardSpec, conversation

pytestmark = pytest.mark.train
trl_utils = pytest.importorskip("trl.trainer.utils")

_partner = {"barrier": threading.Barrier(2), "timeout": 5.0}


def meet(samples: list[Sample]) -> list[float]:
    """Returns only once another reward is inside this function at the same time."""
    _partner["barrier"].wait(timeout=_partner["timeout"])
    return [1.0] * len(samples)


MEET = RewardSpec("test.meet", meet, "waits for a partner", batched=True, concurrent=True, default_timeout=None)


def test_trl_sees_concurrent_rewards_as_async_and_sync_ones_as_sync(registry):
    concurrent = MEET.build(name="a")
    plain = registry.get("length.target").build()
    assert isinstance(concurrent, AsyncRewardFunction)
    assert trl_utils.is_async_callable(concurrent) and not trl_utils.is_async_callable(plain)
    assert trl_utils.get_callable_name(concurrent) == "a"
    for name in ("reward_model.classifier", "reward_model.similarity", "reward_model.remote"):
        assert registry.get(name).concurrent


def test_one_concurrent_reward_makes_the_whole_set_async(registry):
    mixed = parse_reward_set([{"use": "length.target"}, {"use": "reward_model.remote"}]).functions()
    rules = parse_reward_set([{"use": "length.target"}, {"use": "xml.format"}]).functions()
    assert [trl_utils.is_async_callable(f) for f in mixed] == [True, True]
    assert [trl_utils.is_async_callable(f) for f in rules] == [False, False]


def test_gathered_rewards_run_at_the_same_time(monkeypatch):
    monkeypatch.setitem(_partner, "barrier", threading.Barrier(2))
    first, second = MEET.build(name="first"), MEET.build(name="second")

    async def gather_like_trl():  # what GRPOTrainer._calculate_rewards does with async rewards
        return await asyncio.gather(*(f(prompts=["p"], completions=["c"]) for f in (first, second)))

    assert asyncio.run(gather_like_trl()) == [[1.0], [1.0]]
    # called one after the other, the same reward waits in vain: the barrier breaks, a counted error
    lonely = RewardSpec("test.meet", meet, "", batched=True, default_timeout=None).build()
    monkeypatch.setitem(_partner, "timeout", 0.1)
    run = lonely.run_trl(prompts=["p"], completions=["c"])
    assert run.values == [None]
    assert run.stats.errors == 1 and "BrokenBarrierError" in run.stats.first_error


def test_async_reward_functions_pickle_and_keep_their_stats(monkeypatch):
    fn = MEET.build(name="x")
    clone = pickle.loads(pickle.dumps(fn))
    assert isinstance(clone, AsyncRewardFunction) and clone.__name__ == "x"
    barrier = threading.Barrier(2)
    monkeypatch.setitem(_partner, "barrier", barrier)
    threading.Thread(target=lambda: barrier.wait(timeout=5), daemon=True).start()
    run = clone.run_trl(prompts=["p", "q"], completions=["a", "b"])
    assert run.values == [1.0, 1.0]
    assert run.stats.rows == 2


def test_samples_keep_the_chat_structure():
    prompt = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    completion = [{"role": "assistant", "content": "A"}]
    assert conversation(prompt, completion) == prompt + completion
    assert conversation("U", completion) == [{"role": "user", "content": "U"}] + completion
    assert conversation("U", "A") is None
    seen = []
    fn = RewardFunction(lambda samples: seen.extend(samples) or [0.0] * len(samples), {}, "probe", batched=True)
    fn(prompts=[prompt, "plain"], completions=[completion, "text"])
    assert (seen[0].prompt, seen[0].completion, seen[0].messages) == ("U", "A", prompt + completion)
    assert (seen[1].raw_prompt, seen[1].messages) == ("plain", None)


def test_a_batched_reward_can_fail_single_rows():
    def partial(samples):
        return [1.0 if s.completion == "ok" else ValueError(f"cannot score {s.completion!r}") for s in samples]

    fn = RewardFunction(partial, {}, "partial", batched=True)
    run = fn.run_trl(prompts=["p"] * 3, completions=["ok", "bad", "worse"])
    assert run.values == [1.0, None, None]
    assert (run.stats.errors, run.stats.nones) == (2, 2)
    assert run.stats.first_error == "ValueError: cannot score 'bad'"
