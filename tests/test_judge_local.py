"""The three judges with a real model behind the endpoint: the tiny random Llama of
tests/trainer_support.py served over loopback HTTP by the server of ``grpo-rewards judge serve``
(started by the test on a thread; the slow test runs the command in its own process and kills it
mid-run), and in-process with ``base_url = "local"``. Verdicts parse
because the server decodes only the allowed verdict lines (``guided_choice``); the same strict
parser reads them. Also: the response cache, de-duplication at temperature > 0, ``score`` and
``bench`` from the command line, an endpoint that dies mid-run, and the API key kept out of reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from click.testing import CliRunner  # noqa: E402
from grpo_rewards.plugins.judge import cache  # noqa: E402
from grpo_rewards.plugins.judge.local_model import LocalModel, LocalModelError, locate  # noqa: E402
from grpo_rewards.plugins.judge.local_server import LocalServer, stop_local_servers  # noqa: E402
from grpo_rewards.plugins.judge.verdict import verdict_payload  # noqa: E402

from grpo_rewards import parse_reward_set  # noqa: E402
from grpo_rewards.cli import main as cli  # noqa: E402
from grpo_rewards.scoring import Row, score_rows  # noqa: E402
from tests.trainer_support import build_tiny_model  # noqa: E402

SECRET = "sk-local-judge-test-9f8e7d6c5b4a"
QUESTION = "A box holds 8 rows of 9. How many?"
TEXTS = ["The answer is 72.", "After checking each step, the answer is 73.", "72 or 73", "The answer is 72."]
RUBRIC = ["units=2: states the units", "steps: shows the steps"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return str(build_tiny_model(tmp_path_factory.mktemp("judge-model") / "tiny"))


def start_server(model: str) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "grpo_rewards", "judge", "serve", model, "--port", "0", "--device", "cpu"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+/v1)", line)
        if found:
            return proc, found.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("grpo-rewards judge serve did not start")


@pytest.fixture(scope="module")
def served(tiny):
    """The server of ``judge serve`` on a thread of the test (the same app; the slow tests run the command)."""
    server = LocalServer(LocalModel(tiny, "cpu"), tiny).start()
    yield server.base_url
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield


@pytest.fixture(scope="module", autouse=True)
def _stop_in_process_servers():
    yield
    stop_local_servers()


def judge_entry(use: str, base_url: str, model: str, **params):
    base = {"base_url": base_url, "model": model, "retries": 0, "deadline": 60.0, "device": "cpu"}
    if base_url != "local":
        base["guided"] = "choice"  # a remote endpoint is guided only when asked: vLLM and our server honour it
    if use == "judge.rubric":
        base["criteria"] = RUBRIC
    if use == "judge.group":
        base.update(group_size=4, scale_max=3)  # 4^4 = 256 allowed verdict lines
    return {"use": use, "params": {**base, **params}}


def score(entries, texts=TEXTS):
    reward_set = parse_reward_set(entries)
    return score_rows(reward_set, [Row(t, QUESTION, {"answer": "72"}) for t in texts])


@pytest.mark.parametrize("where", ["served", "local"])
def test_the_three_judges_give_parsed_verdicts_from_a_real_model(where, served, tiny):
    base_url = served if where == "served" else "local"
    uses = ["judge.reference", "judge.rubric", "judge.group"]
    result = score([judge_entry(use, base_url, tiny) for use in uses])
    for use in uses:
        values, stats, details = result.values[use], result.stats[use], result.details[use]
        assert all(v is not None and 0.0 <= v <= 1.0 for v in values), (use, values, details)
        assert stats.nones == 0 and stats.errors == 0, stats.first_error
        assert all(d["unparsed"] == 0 for d in details)
        assert stats.calls > 0 and stats.tokens > stats.calls * 100  # the real prompt is hundreds of tokens
    rubric = result.details["judge.rubric"]
    assert all(set(d) >= {"units", "steps"} and 1 <= d["units"] <= 5 for d in rubric)
    assert result.stats["judge.reference"].calls == 2 * 3  # both orders; the repeated row was judged once
    assert result.stats["judge.reference"].deduplicated == 1
    assert result.stats["judge.group"].calls == 2  # one group, two orders


def test_the_yes_probability_comes_from_the_models_own_logprobs(served, tiny):
    result = score([judge_entry("judge.reference", served, tiny, score="probability")], TEXTS[:2])
    values, details = result.values["judge.reference"], result.details["judge.reference"]
    assert all(0.0 < v < 1.0 for v in values)  # a random model is never certain: not a 0/1 verdict
    assert [d["p_yes"] for d in details] == values


def test_unguided_the_tiny_model_writes_no_verdict_and_each_row_is_a_counted_none(served, tiny):
    result = score([judge_entry("judge.reference", served, tiny, guided="off", max_tokens=12, orders="answer_first")], TEXTS[:2])
    assert result.values["judge.reference"] == [None, None]
    assert result.stats["judge.reference"].nones == 2 and result.stats["judge.reference"].calls == 2
    assert {d["why"] for d in result.details["judge.reference"]} <= {"no_verdict", "malformed_verdict"}


def test_the_cache_answers_a_verdict_already_read_without_a_call(served, tiny):
    entry = [judge_entry("judge.rubric", served, tiny)]
    first = score(entry)
    again = score(entry)
    assert first.stats["judge.rubric"].calls == 3 and again.stats["judge.rubric"].calls == 0
    assert again.values == first.values
    assert [d["cached"] for d in again.details["judge.rubric"]] == [1] * 4
    assert cache.STATS["hits"] == 3


def test_a_sampling_judge_is_neither_deduplicated_nor_cached(served, tiny):
    entry = [judge_entry("judge.rubric", served, tiny, temperature=1.0)]
    first = score(entry)
    again = score(entry)
    for result in (first, again):
        stats = result.stats["judge.rubric"]
        assert stats.deduplicated == 0 and stats.calls == 4  # the two copies of a row are two draws
    assert cache.STATS == {"hits": 0, "misses": 0}
    forced = score([judge_entry("judge.rubric", served, tiny, temperature=1.0, cache="on")] * 1)
    assert forced.stats["judge.rubric"].calls == 4  # 'on' caches the draws; none was cached before


@pytest.mark.slow  # starts `grpo-rewards judge serve` in a process of its own (torch imports: 10-30 s)
def test_the_endpoint_dying_mid_run_gives_counted_nones(tiny):
    proc, url = start_server(tiny)
    try:
        entry = [judge_entry("judge.reference", url, tiny, orders="answer_first", cache="off")]
        before = score(entry, TEXTS[:2])
        assert before.stats["judge.reference"].nones == 0
    finally:
        proc.kill()
        proc.wait()
    after = score(entry, TEXTS[:2])
    stats = after.stats["judge.reference"]
    assert after.values["judge.reference"] == [None, None] and stats.errors == 2
    assert "transport error" in stats.first_error


def write_judges(tmp_path, served, tiny):
    """The three judges in one reward set (reference and group served, rubric in-process) and four rows."""
    entries = ""
    for use, url in (("judge.reference", served), ("judge.rubric", "local"), ("judge.group", served)):
        params = judge_entry(use, url, tiny, api_key_env="LOCAL_JUDGE_KEY")["params"]
        entries += f'[[rewards]]\nuse = "{use}"\nweight = 1\n[rewards.params]\n'
        entries += "".join(f"{k} = {json.dumps(v)}\n" for k, v in params.items()) + "\n"
    config = tmp_path / "judges.toml"
    config.write_text(entries + "[bench]\nbuiltin_probes = []\n")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"prompt": QUESTION, "completion": t, "answer": "72"}) + "\n" for t in TEXTS))
    return config, rows


JUDGES = ("judge.reference", "judge.rubric", "judge.group")


def test_score_from_the_command_line_keeps_the_key_out(tmp_path, served, tiny, monkeypatch):
    monkeypatch.setenv("LOCAL_JUDGE_KEY", SECRET)
    config, rows = write_judges(tmp_path, served, tiny)
    scored = tmp_path / "scored.jsonl"
    result = CliRunner().invoke(cli, ["score", str(config), "-i", str(rows), "-o", str(scored), "--explain"])
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in scored.read_text().splitlines()]
    for use in JUDGES:
        assert all(0.0 <= row["rewards"][use] <= 1.0 for row in out), out[0]
    assert SECRET not in result.output + scored.read_text()


@pytest.mark.slow  # the bench's attack section scores every injection class with the real model: about a minute
def test_bench_scores_the_three_judges_and_keeps_the_key_out(tmp_path, served, tiny, monkeypatch):
    monkeypatch.setenv("LOCAL_JUDGE_KEY", SECRET)
    config, rows = write_judges(tmp_path, served, tiny)
    report = tmp_path / "bench"
    result = CliRunner().invoke(
        cli, ["bench", str(config), "--prompts", str(rows), "-o", str(report), "--no-plots", "--overwrite"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((report / "report.json").read_text())
    for use in JUDGES:
        figures = data["per_reward"][use]
        assert figures["scored"] == 4 and figures["none_rate"] == 0.0 and 0.0 <= figures["mean"] <= 1.0, use
    assert SECRET not in result.output + "".join(p.read_text() for p in report.rglob("*") if p.is_file())


def test_the_server_refuses_malformed_requests_saying_which_field(served, tiny):
    import httpx

    bad = [
        ({"model": "other", "messages": [{"role": "user", "content": "x"}]}, "'model'"),
        ({"model": tiny, "messages": []}, "'messages'"),
        ({"model": tiny, "messages": [{"role": "user", "content": "x"}], "guided_choice": ["a"] * 5000}, "'guided_choice'"),
        ({"model": tiny, "messages": [{"role": "user", "content": "x"}], "max_tokens": 10**6}, "'max_tokens'"),
        ({"model": tiny, "messages": [{"role": "user", "content": "x"}], "logprobs": True, "top_logprobs": 99}, "'top_logprobs'"),
    ]
    for body, field in bad:
        response = httpx.post(served + "/chat/completions", json=body, timeout=30)
        assert response.status_code == 400 and field in response.json()["error"]["message"], body


def test_a_choice_is_always_one_of_the_choices_and_reads_strictly(tiny):
    model = LocalModel(tiny, "cpu")
    lines = [f"VERDICT 0a1b2c3d4e5f: {json.dumps({'a': i, 'b': j})}" for i in range(3) for j in range(3)]
    messages = [{"role": "user", "content": "Grade it."}]
    for temperature, seed in ((0.0, None), (1.5, 1), (1.5, 2), (1.5, 3)):
        answer = model.answer(messages, max_tokens=4, temperature=temperature, choices=lines, seed=seed)
        assert answer.text in lines
        assert json.loads(verdict_payload(answer.text, "0a1b2c3d4e5f", "FEEDFACECAFEBEEF"))["a"] in (0, 1, 2)
    prefixes = model.answer(messages, max_tokens=4, temperature=0.0, choices=["1", "10", "100"])
    assert prefixes.text in ("1", "10", "100")  # a choice that is a prefix of another can still be chosen


def test_a_bad_local_model_name_is_refused_before_anything_loads():
    for name in ("builtin:gpt9", "./no/such/folder", "a/b/c"):
        with pytest.raises(LocalModelError):
            locate(name)
    result = CliRunner().invoke(cli, ["judge", "serve", "builtin:gpt9", "--port", "0"])
    assert result.exit_code == 1 and "unknown built-in model" in result.output
