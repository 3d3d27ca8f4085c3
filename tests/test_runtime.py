"""The scoring runtime: the Scorer and its ScoreBatch, the executors' shared promises, async rewards
against a real loopback HTTP endpoint, de-duplication, and `score` on many rows."""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from grpo_rewards import RewardFunction, Sample, Scored, Scorer, parse_reward_set, reward
from grpo_rewards.cli import main as cli
from grpo_rewards.reward import AsyncRewardFunction, RewardSpec

from . import runtime_rewards as rr


def build(fn, name=None, **options) -> RewardFunction:
    declare = {k: options.pop(k) for k in ("batched", "timeout", "concurrency", "deterministic") if k in options}
    spec = reward(name or fn.__name__, description="test", **declare)(fn).reward_spec
    return spec.build(**options)


def samples(*completions: str) -> list[Sample]:
    return [Sample(c, "q") for c in completions]


# ---- the ScoreBatch ------------------------------------------------------------------------------
def test_a_batch_holds_values_statistics_gate_and_total(registry):
    reward_set = parse_reward_set(
        [
            {"use": "test.chars", "weight": 2.0},
            {"use": "test.boom", "weight": 1.0, "when": "test.chars >= 3", "closed": 0.0},
        ]
    )
    batch = Scorer(reward_set).score(samples("ab", "abcd", "boom"))
    assert batch.values == {"test.chars": [2.0, 4.0, 4.0], "test.boom": [0.5, 0.5, None]}
    assert batch.stats["test.boom"].errors == 1 and "exploded" in batch.stats["test.boom"].first_error
    assert batch.stats["test.chars"].rows == 3 and batch.stats["test.chars"].errors == 0
    assert batch.gate_open[:, 1].tolist() == [False, True, True]
    assert batch.total == [4.0, 8.5, 8.0]  # a closed gate gives min(0.5, closed 0); None adds nothing (TRL's nansum)


def test_two_batches_in_flight_keep_their_own_statistics(registry):
    scorer = Scorer(parse_reward_set([{"use": "test.boom"}]))
    first = scorer.submit(samples("boom", "boom!", "ok"))
    second = scorer.submit(samples("ok"))
    a, b = first.result(10), second.result(10)
    assert (a.stats["test.boom"].rows, a.stats["test.boom"].errors) == (3, 2)
    assert (b.stats["test.boom"].rows, b.stats["test.boom"].errors) == (1, 0)
    assert not hasattr(scorer.functions[0], "last_stats")


def test_scored_values_bring_details_and_usage():
    def judged(sample: Sample) -> Scored:
        return Scored(1.0, details={"read": sample.completion.upper()}, calls=1, tokens=7, cost=0.5)

    fn = RewardFunction(judged, {}, "judged")
    logged: dict[str, object] = {}
    batch = Scorer([fn]).score(samples("a", "b"), extras={"log_extra": logged.__setitem__})
    assert batch.values["judged"] == [1.0, 1.0]
    assert batch.details["judged"] == [{"read": "A"}, {"read": "B"}]
    stats = batch.stats["judged"]
    assert (stats.calls, stats.tokens, stats.cost) == (2, 14, 1.0)
    assert logged == {"judged/read": ["A", "B"]}  # TRL's log_extra gets the details as a column


# ---- executors: the same promises everywhere ---------------------------------------------------
@pytest.mark.parametrize("executor", ["inline", "threads", "process", "asyncio"])
def test_every_executor_counts_a_crash_a_timeout_and_a_base_exception_as_none(executor):
    fn = rr.async_hostile_row if executor == "asyncio" else rr.hostile_row
    built = build(fn, f"hostile.{executor}", timeout=0.5, executor=executor)
    run = built.run(samples("ok", "sysexit", "abc", "base", "spin", "nan", "last"))
    assert run.values == [2.0, None, 3.0, None, None, None, 4.0], run.stats.first_error
    assert (run.stats.errors, run.stats.timeouts, run.stats.nones) == (2, 1, 4)


@pytest.mark.parametrize("executor", ["inline", "threads", "process", "asyncio"])
def test_every_executor_keeps_the_size_cap(executor):
    fn = rr.async_hostile_row if executor == "asyncio" else rr.length
    built = build(fn, f"capped.{executor}", executor=executor, max_input_chars=5)
    run = built.run(samples("x" * 6, "x" * 5))
    assert run.values == [None, 5.0] and run.stats.oversized == 1 and run.stats.errors == 0


@pytest.mark.parametrize("completion", ["c-call", "exit", "segv"])
def test_a_batched_process_reward_loses_only_the_row_that_overran_or_crashed(completion):
    # issue 20 class 15: a batch in a worker process, one row in a long C call (or killing its
    # worker): on main 77be7b5 the whole batch was None, the correct rows included.
    fn = build(rr.batch_hostile, f"batch.{completion}", batched=True, timeout=1.0, isolation="process")
    run = fn.run(samples("ok", completion, "right"))
    assert run.values == [2.0, None, 5.0], run.stats.first_error
    assert run.stats.nones == 1 and run.stats.errors + run.stats.timeouts == 1


def test_isolation_is_the_older_name_of_the_process_executor():
    assert build(rr.length, "a", isolation="process").executor == "process"
    assert build(rr.length, "b").executor == "inline"
    assert build(rr.async_hostile_row, "c").executor == "asyncio"
    assert build(rr.length, "d", executor="threads").isolation == "inline"
    reward_set = parse_reward_set([{"use": "length.target", "params": {"target": 3}, "executor": "threads"}])
    assert reward_set.functions()[0].executor == "threads"


# ---- async def rewards ----------------------------------------------------------------------------
class Endpoint(BaseHTTPRequestHandler):
    """Scores a completion by its length after ``delay`` seconds; counts requests in flight."""

    delay = 0.2
    lock = threading.Lock()
    in_flight = 0
    most = 0

    def do_POST(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.in_flight += 1
            cls.most = max(cls.most, cls.in_flight)
        try:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            time.sleep(cls.delay)
            payload = json.dumps({"score": len(body["completion"])}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            with cls.lock:
                cls.in_flight -= 1

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def endpoint():
    Endpoint.in_flight = Endpoint.most = 0
    Endpoint.delay = 0.2
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/score"
    server.shutdown()
    server.server_close()


def test_an_async_http_reward_scores_every_row_with_bounded_concurrency(endpoint):
    spec = reward("http.len", description="test", concurrency=4, params=[])(rr.fetch_score).reward_spec
    spec = RewardSpec(**{**spec.__dict__, "params": _url_param()})
    fn = spec.build({"url": endpoint})
    assert isinstance(fn, AsyncRewardFunction) and fn.executor == "asyncio"
    completions = [f"{'x' * i}" for i in range(1, 13)]
    run = fn.run(samples(*completions))
    assert run.values == [float(i) for i in range(1, 13)], run.stats.first_error
    assert Endpoint.most == 4  # 12 rows, at most 4 requests at once, and they did overlap
    # TRL's way: gathered on an event loop of its own
    values = asyncio.run(fn(prompts=["q", "q"], completions=["ab", "abc"]))
    assert values == [2.0, 3.0]


def _url_param():
    from grpo_rewards import Param
    from grpo_rewards.params import ParamSet

    return ParamSet((Param("url", str, "", "endpoint"),))


def test_a_time_limit_cancels_the_awaiting_coroutine():
    cancelled = []

    async def waits(sample: Sample) -> float:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(sample.completion)
            raise
        return 1.0

    fn = RewardFunction(waits, {}, "waits", timeout=0.2)
    run = fn.run(samples("a", "b"))
    assert run.values == [None, None] and run.stats.timeouts == 2
    assert sorted(cancelled) == ["a", "b"] and "cancelled" in run.stats.first_error


def test_an_async_reward_that_blocks_the_event_loop_is_reported():
    fn = build(rr.blocks_the_loop, "blocker", timeout=5.0)
    run = fn.run(samples("a", "b"))
    assert run.values == [1.0, 1.0]
    assert run.stats.blocked == 2 and "blocked the event loop" in run.stats.first_error


def test_a_batched_async_reward():
    fn = build(rr.batch_async, "abatch", batched=True)
    assert fn.run(samples("a", "abc")).values == [1.0, 3.0]


def test_an_async_reward_scores_through_score_from_a_plugin_file(tmp_path, endpoint):
    (tmp_path / "http_rewards.py").write_text(
        "import asyncio\n"
        "from grpo_rewards import Param, Sample, hookimpl, reward\n"
        "from tests.runtime_rewards import fetch_score\n\n"
        "@reward('http.remote_len', description='async', params=[Param('url', str, '', 'endpoint')], concurrency=8)\n"
        "async def remote_len(sample: Sample, url: str) -> float:\n"
        "    return await fetch_score(sample, url)\n\n"
        "@hookimpl\n"
        "def register_rewards(register):\n"
        "    register(remote_len)\n"
    )
    config = tmp_path / "set.toml"
    config.write_text(f'plugins = ["http_rewards.py"]\n[[rewards]]\nuse = "http.remote_len"\nparams = {{ url = "{endpoint}" }}\n')
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"prompt": "q", "completion": "x" * i}) + "\n" for i in range(1, 9)))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["score", str(config), "-i", str(rows), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["reward"] for line in out.read_text().splitlines()] == [float(i) for i in range(1, 9)]
    assert Endpoint.most > 1


# ---- de-duplication -------------------------------------------------------------------------------
def test_identical_rows_are_scored_once_per_batch(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    monkeypatch.setenv(rr.CALLS_FILE_ENV, str(calls))
    group = [Sample("42", "q", {"answer": "42"}) for _ in range(6)] + [Sample("7", "q", {"answer": "42"})]
    group.append(Sample("42", "q", {"answer": "41"}))  # another column value: another row
    group.append(Sample("42", "q", {"answer": "42"}, completion_ids=[1, 2]))  # other token ids
    run = build(rr.counted, "counted").run(group)
    assert run.values == [2.0] * 6 + [1.0, 2.0, 2.0]
    assert calls.read_text().splitlines() == ["42", "7", "42", "42"] and run.stats.deduplicated == 5
    calls.unlink()
    again = build(rr.counted, "random", deterministic=False).run(group)
    assert len(calls.read_text().splitlines()) == len(group) and again.stats.deduplicated == 0


# ---- score on many rows ----------------------------------------------------------------------------
def test_score_writes_twenty_thousand_rows(tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "length.target"\nparams = { target = 5 }\n')
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"prompt": "q", "completion": f"row {i}"}) + "\n" for i in range(20_000)))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["score", str(config), "-i", str(rows), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 20_000 and json.loads(lines[-1])["reward"] == json.loads(lines[-1])["rewards"]["length.target"]


# ---- the documented example, through serve-rewards and the bench's scoring ---------------------
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "async_http_reward.py"


def example_set(tmp_path, url: str):
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    config = tmp_path / "set.toml"
    config.write_text(f'plugins = ["{EXAMPLE.name}"]\n[[rewards]]\nuse = "example.http_score"\nparams = {{ url = "{url}" }}\n')
    return config


def test_the_example_async_reward_answers_through_serve_rewards(tmp_path, endpoint):
    from .reward_model_support import serve_rewards_process

    with serve_rewards_process(example_set(tmp_path, endpoint)) as (url, _):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("POST", "/score", body=json.dumps({"completions": ["abc", "abcdefgh", "a"]}))
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"scores": [3.0, 8.0, 1.0]})
        connection.close()


def test_the_example_async_reward_scores_through_the_bench_engine(tmp_path, endpoint):
    from grpo_rewards import load_reward_set
    from grpo_rewards.bench.engine import make_row, score_timed

    reward_set = load_reward_set(example_set(tmp_path, endpoint))
    timed = score_timed(reward_set, [make_row("q", "x" * i, {}) for i in range(1, 5)])
    assert timed.result.values["example.http_score"] == [1.0, 2.0, 3.0, 4.0]
    assert len(timed.latency_ms["example.http_score"]) == 4


def test_an_async_reward_on_the_process_executor_keeps_the_same_promises():
    fn = build(rr.async_hostile_row, "async.process", timeout=0.5, executor="process")
    run = fn.run(samples("ok", "sysexit", "spin", "last"))
    assert run.values == [2.0, None, None, 4.0], run.stats.first_error
    assert (run.stats.errors, run.stats.timeouts) == (1, 1)
