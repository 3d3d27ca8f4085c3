"""The Ray executor on a real local Ray cluster (started once for the module, two CPUs): the same
values as in-process, a local plugin file and its extractor travelling to workers that cannot
read it, a worker killed mid-run costing only its rows, and the per-row time limit inside workers."""

from __future__ import annotations

import socket
import textwrap

import pytest
from click.testing import CliRunner

from grpo_rewards import Sample, Scorer
from grpo_rewards.cli import main as cli
from grpo_rewards.errors import ConfigError
from grpo_rewards.registry import get_registry
from grpo_rewards.reward import CallStats
from grpo_rewards.rewardset import reward_set_from_config
from grpo_rewards.runtime import Job, get_executor
from grpo_rewards.runtime.ray_executor import RayExecutor

# A plugin file that lives in a folder the workers never see: it is deleted once this process loaded it.
FAR_PLUGIN = """
import os
import time

from grpo_rewards import Sample, hookimpl, reward


def after_colon(text):
    # an extractor bound to math.correct's `extractors`: the answer is what follows the last 'A:'
    return text.rsplit("A:", 1)[1].strip() if "A:" in text else None


@reward("far.chars", description="characters; a marked row kills or stalls its worker", timeout=1.0)
def chars(sample: Sample) -> float:
    if "KILL" in sample.completion:
        os._exit(7)
    if "STALL" in sample.completion:
        time.sleep(30)
    return float(len(sample.completion))


@hookimpl
def register_rewards(register):
    register(chars)


@hookimpl
def register_extractors(register):
    register("far.after_colon", after_colon)
"""


def test_an_address_where_nothing_answers_fails_every_row_at_once_not_after_minutes():
    """First in the file: before the module's cluster is started in this process."""
    import ray

    assert not ray.is_initialized(), "this test must run before the module's cluster starts"
    with socket.socket() as probe:  # a loopback port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = {"rewards": [{"use": "length.target"}], "executor": "ray", "ray": {"address": f"127.0.0.1:{port}"}}
    executor = RayExecutor()  # its own: the process's shared one may be connected already
    (fn,) = reward_set_from_config(config, "c.toml").functions()
    stats = CallStats()
    values = executor.submit(Job(fn, [Sample("a", "q"), Sample("bb", "q")], stats)).result(60)
    assert values == [None, None] and stats.errors == 2
    assert f"nothing answers at Ray address '127.0.0.1:{port}'" in stats.first_error


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local Ray cluster for this module, and a registry holding the far plugin file (deleted)."""
    import ray

    folder = tmp_path_factory.mktemp("elsewhere")
    path = folder / "far_rewards.py"
    path.write_text(textwrap.dedent(FAR_PLUGIN))
    registry = get_registry(refresh=True)
    registry.load_file(path)
    path.unlink()  # from now on only the source this process loaded can reach a worker
    assert "far.chars" in registry.rewards and "far.after_colon" in registry.extractors
    get_executor("ray").connect({"address": "local", "num_cpus": 2})
    yield registry
    ray.shutdown()
    get_registry(refresh=True)


def rows(n: int, marked: dict[int, str] | None = None) -> list[Sample]:
    """Distinct math rows: every third one wrong, some answers only readable by the far extractor."""
    out = []
    for i in range(n):
        gold = str(i * 7)
        text = f"Work for {i}. A: {gold if i % 3 else i * 7 + 1}"
        if i % 5 == 0:
            text = f"so \\boxed{{{gold}}}"
        out.append(Sample(text + (marked or {}).get(i, ""), f"q{i}", {"answer": gold}))
    return out


ENTRIES = [
    {"use": "math.correct", "name": "correct", "weight": 2.0, "params": {"extractors": ["far.after_colon", "boxed"]}},
    {"use": "far.chars", "name": "chars", "weight": 0.01, "when": "correct >= 1", "closed": 0.0},
    {"use": "xml.format", "name": "format", "weight": 0.5},
]


def reward_set(executor: str | None = None, **ray):
    config = {"rewards": ENTRIES, **({"executor": executor} if executor else {}), **({"ray": ray} if ray else {})}
    return reward_set_from_config(config, "test.toml")


@pytest.mark.slow
def test_ray_gives_the_values_of_inline_with_shipped_plugin_and_extractor(cluster):
    samples = rows(60)
    inline = Scorer(reward_set()).score(samples)
    on_ray = Scorer(reward_set("ray", chunk_rows=8)).score(samples)
    assert [fn.executor for fn in reward_set("ray").functions()] == ["ray"] * 3
    assert on_ray.values == inline.values and on_ray.total == inline.total
    # right: the 12 boxed rows (i % 5 == 0) and the 32 others with i % 3 != 0, read by the far extractor
    assert sum(v == 1.0 for v in on_ray.values["correct"]) == 44
    for name in on_ray.names:
        assert on_ray.stats[name].rows == 60 and on_ray.stats[name].errors == 0, on_ray.stats[name].first_error


@pytest.mark.slow
def test_a_worker_killed_mid_run_costs_only_its_rows(cluster):
    samples = rows(40, {13: " KILL"})
    entries = [{"use": "far.chars", "name": "chars"}, ENTRIES[2]]
    config = {"rewards": entries, "executor": "ray", "ray": {"chunk_rows": 8}}
    batch = Scorer(reward_set_from_config(config, "kill.toml")).score(samples)
    chars = batch.values["chars"]
    assert [i for i, v in enumerate(chars) if v is None] == [13]  # its chunk ran again, row by row
    assert chars == [None if i == 13 else float(len(s.completion)) for i, s in enumerate(samples)]
    stats = batch.stats["chars"]
    assert (stats.rows, stats.errors, stats.nones, stats.timeouts) == (40, 1, 1, 0)
    assert "Ray worker" in stats.first_error and "on every try" in stats.first_error
    assert batch.stats["format"].errors == 0 and None not in batch.values["format"]


def test_the_time_limit_holds_per_row_inside_a_ray_worker(cluster):
    samples = rows(12, {4: " STALL"})
    batch = Scorer(reward_set("ray", chunk_rows=6)).score(samples)
    stats = batch.stats["chars"]
    assert batch.values["chars"][4] is None and stats.timeouts == 1 and stats.errors == 0
    assert all(v is not None for i, v in enumerate(batch.values["chars"]) if i != 4)


def test_score_takes_executor_ray(cluster, tmp_path):
    import json

    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "length.target"\n[rewards.params]\ntarget = 5\n')
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps({"completion": "x" * i}) + "\n" for i in range(9)))
    out = {}
    for executor in ("inline", "ray"):
        target = tmp_path / f"{executor}.jsonl"
        result = CliRunner().invoke(cli, ["score", str(config), "-i", str(source), "-o", str(target), "--executor", executor])
        assert result.exit_code == 0, result.output
        out[executor] = [json.loads(line)["reward"] for line in target.read_text().splitlines()]
    assert out["ray"] == out["inline"] and len(out["ray"]) == 9


PLAIN = [{"use": "length.target"}]


def test_ray_settings_are_checked_before_anything_starts():
    with pytest.raises(ConfigError) as caught:
        reward_set_from_config(
            {"rewards": PLAIN, "executor": "rey", "ray": {"address": "nowhere", "chunk_rows": 0, "cpus": 2}}, "c.toml"
        )
    text = str(caught.value)
    assert "key 'executor': expected one of 'inline', 'threads', 'process', 'asyncio', 'ray', got 'rey'" in text
    assert "'ray:host:port'" not in text and "expected 'local', 'auto', 'host:port' or 'ray://host:port', got 'nowhere'" in text
    assert "ray: key 'chunk_rows'" in text and "ray: key 'cpus': unknown key" in text
    with pytest.raises(ConfigError, match="sizes a local cluster only"):
        reward_set_from_config({"rewards": PLAIN, "ray": {"address": "auto", "num_cpus": 2}}, "c.toml")
    joined = reward_set_from_config({"rewards": PLAIN, "executor": "ray", "ray": {"address": "10.0.0.5:6379"}}, "c.toml")
    assert joined.functions()[0].executor_options == {"address": "10.0.0.5:6379"}


def test_a_trainer_config_takes_executor_and_ray_and_check_points_at_a_bad_key(tmp_path):
    from grpo_rewards.trainer.config import load_trainer_config

    config = tmp_path / "train.toml"
    config.write_text(
        'executor = "ray"\n[ray]\naddress = "auto"\nchunk_rows = 64\n'
        '[model]\nname = "builtin:smollm2"\n[data]\nsource = "builtin:gsm8k"\nprompt_column = "question"\n'
        '[[rewards]]\nuse = "length.target"\n[rewards.params]\ntarget = 5\n'
    )
    trained = load_trainer_config(config)
    (fn,) = trained.reward_set.functions()
    assert (fn.executor, fn.home_executor, fn.executor_options) == ("ray", "inline", {"address": "auto", "chunk_rows": 64})
    config.write_text('executor = "ray"\n[ray]\nnum_cpus = 1\n[[rewards]]\nuse = "length.target"\n')
    assert CliRunner().invoke(cli, ["check", str(config)]).exit_code == 0
    config.write_text('[ray]\nadress = "auto"\n[[rewards]]\nuse = "length.target"\nexecutor = "ray"\n')
    result = CliRunner().invoke(cli, ["check", str(config)])
    assert result.exit_code == 2 and "ray: key 'adress': unknown key" in result.output, result.output


def test_bench_refuses_an_unknown_executor_before_any_model_loads(tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "length.target"\n')
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "hi"}\n')
    result = CliRunner().invoke(cli, ["bench", str(config), "--prompts", str(prompts), "--executor", "rey"])
    assert result.exit_code == 2 and "key 'executor': expected one of" in result.output and "got 'rey'" in result.output
