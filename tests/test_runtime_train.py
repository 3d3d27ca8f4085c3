"""An ``async def`` HTTP reward in a real training run (tiny random Llama, loopback endpoint): the
step's rewards go through the Scorer together and its statistics reach the logs."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from grpo_rewards.trainer.run import train  # noqa: E402

from tests.test_runtime import Endpoint, endpoint  # noqa: E402, F401  (the loopback endpoint fixture)
from tests.trainer_support import PLUGIN_SOURCE, build_tiny_model, write_run_files  # noqa: E402

pytestmark = pytest.mark.train

ASYNC_REWARD = """

import httpx


@reward("tiny.http_len", description="Length, asked of a loopback endpoint.", concurrency=16,
        params=[Param("url", str, "", "the endpoint")])
async def http_len(sample: Sample, url: str) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(url, json={"completion": sample.completion})
    return float(response.json()["score"])
"""


def test_an_async_http_reward_trains_with_the_others(tmp_path, endpoint):  # noqa: F811
    Endpoint.delay = 0.05
    config = write_run_files(
        tmp_path,
        build_tiny_model(tmp_path / "model"),
        rewards=f'[[rewards]]\nuse = "tiny.chars"\nname = "chars"\n\n'
        f'[[rewards]]\nuse = "tiny.http_len"\nname = "http"\nweight = 0.1\nparams = {{ url = "{endpoint}" }}\n',
        grpo="max_steps = 2",
    )
    source = PLUGIN_SOURCE.replace(
        "for fn in (chars, label, rank, rank_fails, interrupt):",
        "for fn in (chars, label, rank, rank_fails, interrupt, http_len):",
    )
    (tmp_path / "tiny_rewards.py").write_text(source.replace("@hookimpl", ASYNC_REWARD + "\n\n@hookimpl"), encoding="utf-8")
    train(config)
    records = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "rewards/http/mean" in r]
    assert steps, records[-1]
    for record in steps:
        assert record["rewards/http/error_rate"] == 0.0 and record["rewards/http/none_rate"] == 0.0
        assert record["rewards/http/mean"] == pytest.approx(10 * record["rewards/chars/mean"])  # both the length
    assert Endpoint.most > 1  # rows of one step were in flight together
