"""The verl adapter loaded and called by verl's own code (verl 0.9.1, installed by `make setup`
without its GPU stack: requirements-verl.txt): ``get_custom_reward_fn`` / ``load_reward_manager``
from the trainer's config, the reward loop's ``RewardLoopWorker`` with its ``naive`` manager (sync
and async functions), the legacy ``batch`` manager's list shape, verl loading our file by path,
and verl's Ray ``RewardLoopManager`` on a real local cluster (each worker loads the set once)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

verl = pytest.importorskip("verl", reason="verl is not installed (make setup installs requirements-verl.txt)")
pytest.importorskip("torch", reason="verl's DataProto needs torch (the [train] extra)")

import grpo_rewards.plugins.verl as adapter  # noqa: E402
from verl.trainer.ppo.reward import extract_reward, get_custom_reward_fn, load_reward_manager  # noqa: E402

from tests.verl_support import VERL_VERSION, byte_tokenizer, data_proto, verl_config, write_set  # noqa: E402

RIGHT = "<think>8 rows of 9</think><answer>72</answer>"
WRONG = "<think>8 rows of 9</think><answer>73</answer>"
KEYS = ["score", "rewards/correct", "rewards/format", "grpo_rewards/no_total", "grpo_rewards/problem"]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return byte_tokenizer(tmp_path_factory.mktemp("tokenizer"))


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir)


def rows():
    info = {"question": "8 rows of 9?", "answer": "8 * 9 = 72 #### 72"}  # verl's gsm8k layout: ground_truth wins
    return [
        {"solution": RIGHT, "ground_truth": "72", "extra_info": info},
        {"solution": WRONG, "ground_truth": "72", "extra_info": info},
        {"solution": "72", "ground_truth": "72", "extra_info": info},
        {"solution": RIGHT, "ground_truth": ["72"], "extra_info": info},  # a bad gold: counted, no crash
    ]


def worker_scores(config, tokenizer, data):
    """verl's RewardLoopWorker (without Ray around it) scoring a chunk as compute_score_batch does."""
    from verl.experimental.reward_loop.reward_loop import RewardLoopWorker

    worker = RewardLoopWorker(config)
    return worker.loop.run_until_complete(worker.compute_score_batch(data))


def test_the_installed_verl_is_the_one_the_adapter_was_read_against():
    assert verl.__version__ == VERL_VERSION  # a new verl: reread its reward code, then move the pin


@pytest.mark.parametrize("name", ["compute_score", "compute_score_async"])
def test_verl_reward_loop_worker_loads_and_calls_the_adapter(tmp_path, tokenizer_dir, tokenizer, name):
    config = verl_config(tokenizer_dir, {"reward_set": str(write_set(tmp_path))}, name=name)
    outputs = worker_scores(config, tokenizer, data_proto(tokenizer, rows()))
    scores = [o["reward_score"] for o in outputs]
    infos = [o["reward_extra_info"] for o in outputs]
    assert scores == [1.5, 0.5, 0.0, 0.0]  # right+format, format only, neither, bad gold -> none_score
    assert [list(i) for i in infos] == [KEYS] * 4  # the same keys on every row: verl reads row 0's
    assert infos[2]["rewards/correct"] == 0.0 and infos[2]["grpo_rewards/no_total"] == 0.0
    assert infos[3]["grpo_rewards/no_total"] == 1.0 and infos[3]["rewards/correct"] is None
    assert "ground_truth is a list" in infos[3]["grpo_rewards/problem"]


def test_the_reward_loop_sees_an_async_function_and_awaits_it(tmp_path, tokenizer_dir, tokenizer):
    config = verl_config(tokenizer_dir, {"reward_set": str(write_set(tmp_path))}, name="compute_score_async")
    manager = load_reward_manager(config, tokenizer)
    assert manager.is_async_reward_score  # verl checks iscoroutinefunction through its partial
    sync = load_reward_manager(verl_config(tokenizer_dir, {"reward_set": str(write_set(tmp_path))}), tokenizer)
    assert not sync.is_async_reward_score


def test_the_async_function_gathers_a_chunk_into_one_batch(tmp_path, tokenizer_dir, tokenizer, monkeypatch):
    log = tmp_path / "probe.log"
    monkeypatch.setenv("VERL_PROBE_LOG", str(log))
    config = verl_config(
        tokenizer_dir, {"reward_set": str(write_set(tmp_path, probe=True)), "batch_window": 0.5}, name="compute_score_async"
    )
    many = [{"solution": f"<think>t</think><answer>{i}</answer>", "ground_truth": "3"} for i in range(12)]
    outputs = worker_scores(config, tokenizer, data_proto(tokenizer, many))
    assert [o["reward_score"] for o in outputs] == [1.5 if i == 3 else 0.5 for i in range(12)]
    sizes = [int(line.split()[2]) for line in log.read_text().splitlines() if line.startswith("batch")]
    assert sum(sizes) == 12 and len(sizes) < 12  # rows verl sent one by one reached the reward together


def test_reward_kwargs_reach_the_adapter_and_a_typo_is_refused(tmp_path, tokenizer_dir, tokenizer):
    path = str(write_set(tmp_path))
    fn = get_custom_reward_fn(verl_config(tokenizer_dir, {"reward_set": path, "none_score": -1.0}))
    out = fn(data_source="gsm8k", solution_str=RIGHT, ground_truth=None, extra_info={})
    assert out["score"] == -1.0 and out["grpo_rewards/no_total"] == 1.0
    typo = get_custom_reward_fn(verl_config(tokenizer_dir, {"reward_set": path, "ground_truth_colum": "answer"}))
    with pytest.raises(ValueError, match="did you mean 'ground_truth_column'"):
        typo(data_source="gsm8k", solution_str=RIGHT, ground_truth="72", extra_info={})


def test_verl_loads_the_adapter_by_file_path_and_shares_the_loaded_set(tmp_path, tokenizer_dir):
    kwargs = {"reward_set": str(write_set(tmp_path))}
    by_file = get_custom_reward_fn(verl_config(tokenizer_dir, kwargs, path=adapter.__file__))
    assert by_file(data_source="gsm8k", solution_str=RIGHT, ground_truth="72", extra_info={})["score"] == 1.5
    assert adapter.load(**kwargs) is adapter.load(**dict(kwargs))  # one set per process, however loaded


def test_the_legacy_batch_manager_calls_it_with_lists(tmp_path, tokenizer_dir, tokenizer):
    from verl.workers.reward_manager import BatchRewardManager

    fn = get_custom_reward_fn(verl_config(tokenizer_dir, {"reward_set": str(write_set(tmp_path))}))
    manager = BatchRewardManager(tokenizer, num_examine=0, compute_score=fn)
    data = data_proto(tokenizer, rows())
    out = manager(data, return_dict=True)
    assert data.batch["acc"].tolist() == [1.5, 0.5, 0.0, 0.0]
    assert out["reward_extra_info"]["rewards/correct"] == [1.0, 0.0, 0.0, None]
    assert out["reward_tensor"].sum(dim=-1).tolist() == [1.5, 0.5, 0.0, 0.0]


@pytest.mark.parametrize("fill", [None, 0.0])
def test_verl_gdpo_estimator_reads_the_per_reward_keys(tmp_path, tokenizer_dir, tokenizer, fill):
    """verl's GDPO advantage normalises each key of algorithm.gdpo_reward_keys within its group,
    reading them as float32: a None there is NaN and spreads over the whole batch, so GDPO needs
    none_reward_value set to a number."""
    import numpy as np
    import torch
    from verl.trainer.ppo.core_algos import compute_gdpo_outcome_advantage

    kwargs = {"reward_set": str(write_set(tmp_path))} | ({} if fill is None else {"none_reward_value": fill})
    data = data_proto(tokenizer, rows())
    infos = [o["reward_extra_info"] for o in worker_scores(verl_config(tokenizer_dir, kwargs), tokenizer, data)]
    non_tensor = {key: np.array([info[key] for info in infos]) for key in infos[0]}  # as RewardLoopManager does
    prompt_length = data.batch["prompts"].size(1)
    advantages, _ = compute_gdpo_outcome_advantage(
        token_level_rewards=torch.zeros_like(data.batch["responses"], dtype=torch.float32),
        response_mask=data.batch["attention_mask"][:, prompt_length:].float(),
        index=np.array(["q"] * 4, dtype=object),
        config={"gdpo_reward_keys": ["rewards/correct", "rewards/format"]},
        non_tensor_batch=non_tensor,
        batch={"prompts": data.batch["prompts"], "attention_mask": data.batch["attention_mask"]},
    )
    if fill is None:
        assert torch.isnan(advantages).all()  # the bad-gold row's None poisons every row
    else:
        per_row = advantages.sum(dim=-1)
        assert torch.isfinite(advantages).all() and per_row[0] > per_row[1] > per_row[2]


def probe_lines(log, kind):
    return [line.split()[1:] for line in log.read_text().splitlines() if line.startswith(kind)]


def stop_workers(ray, manager):
    """Kill a RewardLoopManager's actors and wait until their names are free for the next one."""
    import time

    for worker in manager.reward_loop_workers:
        ray.kill(worker, no_restart=True)
    deadline = time.monotonic() + 60
    for i in range(len(manager.reward_loop_workers)):
        while time.monotonic() < deadline:
            try:
                ray.get_actor(f"reward_loop_worker_{i}")
            except ValueError:
                break
            time.sleep(0.2)


def set_loads(log: Path) -> Counter[str]:
    """Loads of the set in the processes that scored with it (the probe's plugin file is also
    imported by math.correct's own worker processes, which score no probe batch)."""
    scoring = {pid for pid, _ in probe_lines(log, "batch")}
    return Counter(pid for (pid,) in probe_lines(log, "load") if pid in scoring)


@pytest.mark.slow
def test_verl_ray_reward_loop_loads_the_set_once_per_worker(tmp_path, tokenizer_dir, tokenizer, monkeypatch):
    """verl's RewardLoopManager on a real local Ray cluster. With the naive manager and the async
    function: two RewardLoopWorker actors, each loading the reward set once however many batches it
    scores. With the remote manager (sync function, verl's own RewardComputeWorker actor per
    worker): the set is loaded once, in that actor. verl assembles rm_scores and every row's extra
    info (good and bad rows mixed) without a KeyError; the driver never loads the set."""
    ray = pytest.importorskip("ray")
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    log = tmp_path / "probe.log"
    monkeypatch.setenv("VERL_PROBE_LOG", str(log))
    kwargs = {"reward_set": str(write_set(tmp_path, probe=True))}
    keys = [*KEYS[:3], "rewards/probe", *KEYS[3:]]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"VERL_PROBE_LOG": str(log)}})
    try:
        for manager_name, function, workers in (("naive", "compute_score_async", 2), ("remote", "compute_score", 1)):
            manager = RewardLoopManager(verl_config(tokenizer_dir, kwargs, name=function, manager=manager_name, workers=workers))
            for _ in range(2):
                reward_tensor, extra = extract_reward(manager.compute_rm_score(data_proto(tokenizer, rows())))
                assert reward_tensor.sum(dim=-1).tolist() == [1.5, 0.5, 0.0, 0.0]
                assert list(extra) == keys and extra["grpo_rewards/no_total"].tolist() == [0.0, 0.0, 0.0, 1.0]
            stop_workers(ray, manager)
            if manager_name == "naive":
                naive_loads = set_loads(log)
                assert len(naive_loads) == 2 and set(naive_loads.values()) == {1}, naive_loads
    finally:
        ray.shutdown()
    loads = set_loads(log)
    remote = set(loads) - set(naive_loads)
    assert len(remote) == 1 and set(loads.values()) == {1}, loads  # verl's compute actor: one more load
    every_load = Counter(pid for (pid,) in probe_lines(log, "load"))
    assert set(every_load.values()) == {1} and str(os.getpid()) not in every_load  # the driver never loaded it
