"""reward_model.remote against real servers on 127.0.0.1: the reference server, and stubs that are
slow, answer garbage, fail then recover, or die mid-run. Every failure must end as counted Nones,
within the call's bounds."""

from __future__ import annotations

import json

import pytest
from grpo_rewards.plugins.reward_model.server import make_server

from grpo_rewards import Row, parse_reward_set, score_rows

from .reward_model_support import StubServer, echo_lengths, running, serve_rewards_process

ROWS = [
    Row("42", "What is 6*7?", {"answer": "42"}),
    Row("41", "What is 6*7?", {"answer": "42"}),
    Row("x" * 60, "Say something long", {"answer": "7"}),
]


def local_set():
    return parse_reward_set(
        [
            {"use": "length.target", "weight": 0.5, "params": {"target": 10}},
            {"use": "test.gold", "name": "gold", "weight": 2.0},
        ]
    )


def remote_fn(url: str, **params):
    entry = {
        "use": "reward_model.remote",
        "name": "remote",
        "params": {"url": url, "retries": 1, "backoff": 0.01, "request_timeout": 5.0, **params},
    }
    return parse_reward_set([entry]).functions()[0]


def call(fn, rows=ROWS, **columns):
    columns = columns or {"answer": [r.columns.get("answer") for r in rows]}
    return call_run(fn, rows, **columns).values


def call_run(fn, rows=ROWS, **columns):
    columns = columns or {"answer": [r.columns.get("answer") for r in rows]}
    return fn.run_trl(prompts=[r.prompt for r in rows], completions=[r.completion for r in rows], **columns)


def test_remote_scores_equal_the_same_reward_set_in_process(registry):
    expected = score_rows(local_set(), ROWS)
    with running(make_server(local_set())) as server:
        total = call(remote_fn(server.url, columns=["answer"], batch_size=2))
        gold = call(remote_fn(server.url, columns=["answer"], reward="gold"))
    assert total == expected.total == [0.5 * -8 + 2.0, 0.5 * -8, 0.5 * -50]
    assert gold == expected.values["gold"] == [1.0, 0.0, 0.0]


def test_chat_rows_travel_as_messages(registry):
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "6*7?"}]
    completion = [{"role": "assistant", "content": "42"}]
    with running(StubServer(echo_lengths)) as stub:
        values = remote_fn(stub.url).score(prompts=[prompt], completions=[completion])
    assert values == [2.0]
    assert stub.requests[0]["body"] == {"prompts": [prompt], "completions": [completion], "columns": {}}


def test_server_null_scores_are_nones_not_errors():
    with running(StubServer(lambda h, b: (200, b'{"scores": [1.5, null]}'))) as stub:
        fn = remote_fn(stub.url)
        run = call_run(fn, ROWS[:2])
        assert run.values == [1.5, None]
    assert (run.stats.nones, run.stats.errors) == (1, 0)


def test_a_failing_request_is_retried_until_it_succeeds():
    def flaky(handler, body):
        if len(handler.server.requests) <= 2:
            return 503, b'{"error": "busy"}'
        return echo_lengths(handler, body)

    with running(StubServer(flaky)) as stub:
        fn = remote_fn(stub.url, retries=3)
        run = call_run(fn)
        assert run.values == [2.0, 2.0, 60.0]
    assert len(stub.requests) == 3 and run.stats.errors == 0


def test_retries_exhausted_give_counted_nones():
    with running(StubServer(lambda h, b: (503, b'{"error": "down for maintenance"}'))) as stub:
        fn = remote_fn(stub.url, retries=2)
        run = call_run(fn)
        assert run.values == [None, None, None]
    assert len(stub.requests) == 3
    assert (run.stats.nones, run.stats.errors) == (3, 3)
    assert "HTTP 503" in run.stats.first_error and "down for maintenance" in run.stats.first_error


def test_a_slow_server_times_out_per_request_and_is_retried():
    def slow(handler, body):
        handler.server.release.wait(10)
        return echo_lengths(handler, body)

    with running(StubServer(slow)) as stub:
        fn = remote_fn(stub.url, request_timeout=0.2, retries=1)
        run = call_run(fn)
        assert run.values == [None, None, None]
        assert len(stub.requests) == 2
    assert run.stats.errors == 3 and "timed out" in run.stats.first_error


def test_the_whole_call_is_bounded_by_total_timeout():
    def stuck(handler, body):
        handler.server.release.wait(10)
        return echo_lengths(handler, body)

    with running(StubServer(stuck)) as stub:
        fn = remote_fn(stub.url, request_timeout=30.0, total_timeout=0.3, batch_size=1)
        run = call_run(fn)
        assert run.values == [None, None, None]
    assert run.stats.errors == 3 and "no answer within total_timeout=0.3s" in run.stats.first_error


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<html>oops</html>", "malformed response, not JSON"),
        (b'{"scores": [1.0]}', "1 scores for 3 rows"),
        (b'{"score": [1, 2, 3]}', "expected an object with a 'scores' list"),
        (b'{"scores": [1, "2", 3]}', "score '2' is not a number"),
    ],
)
def test_malformed_responses_are_counted_errors_without_retries(body, message):
    with running(StubServer(lambda h, b: (200, body))) as stub:
        fn = remote_fn(stub.url, retries=2)
        run = call_run(fn)
        assert run.values == [None, None, None]
    assert len(stub.requests) == 1 and run.stats.errors == 3 and message in run.stats.first_error


def test_a_server_that_dies_mid_run_degrades_to_nones(tmp_path):
    config = tmp_path / "rewards.toml"
    config.write_text('[[rewards]]\nuse = "length.target"\nparams = { target = 10 }\n')
    with serve_rewards_process(config) as (url, process):
        fn = remote_fn(url)
        first = call_run(fn)
        assert first.values == [-8.0, -8.0, -50.0]
        process.kill()  # dies with its connections, as a crashed or pre-empted server does
        process.wait(10)
        run = call_run(fn)
        assert run.values == [None, None, None]
    assert run.stats.errors == 3 and "failed after 1 retries" in run.stats.first_error
    assert (first.stats.rows + run.stats.rows, first.stats.nones + run.stats.nones) == (6, 3)


def test_a_connection_dropped_mid_request_is_retried_then_counted():
    with running(StubServer(lambda h, b: None)) as stub:
        fn = remote_fn(stub.url, retries=2)
        run = call_run(fn)
        assert run.values == [None, None, None]
    assert len(stub.requests) == 3 and run.stats.errors == 3


def test_client_errors_are_not_retried_and_explain_themselves(registry):
    server = make_server(local_set())
    with running(server):
        fn = remote_fn(server.url, retries=3)  # forgot columns=["answer"]
        run = call_run(fn)
        assert run.values == [None, None, None]
    assert "HTTP 400" in run.stats.first_error and "needs column(s) 'answer'" in run.stats.first_error


def test_concurrency_limit_and_batching():
    def slow_echo(handler, body):
        handler.server.release.wait(0.05)
        return echo_lengths(handler, body)

    rows = [Row("y" * k, "p") for k in range(1, 9)]
    with running(StubServer(slow_echo)) as stub:
        values = remote_fn(stub.url, batch_size=1, max_concurrency=2).score(
            prompts=[r.prompt for r in rows], completions=[r.completion for r in rows]
        )
    assert values == [float(k) for k in range(1, 9)]
    assert len(stub.requests) == 8 and 1 <= stub.max_in_flight <= 2


def test_bearer_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("GRPO_TEST_TOKEN", "s3cret")
    with running(StubServer(echo_lengths)) as stub:
        assert call(remote_fn(stub.url, api_key_env="GRPO_TEST_TOKEN"), ROWS[:1]) == [2.0]
        monkeypatch.delenv("GRPO_TEST_TOKEN")
        fn = remote_fn(stub.url, api_key_env="GRPO_TEST_TOKEN")
        run = call_run(fn, ROWS[:1])
        assert run.values == [None]
    assert stub.requests[0]["headers"]["Authorization"] == "Bearer s3cret"
    assert len(stub.requests) == 1 and "GRPO_TEST_TOKEN, which is not set" in run.stats.first_error


def test_columns_are_sent_by_name():
    with running(StubServer(echo_lengths)) as stub:
        call(remote_fn(stub.url, columns=["answer", "level"]), ROWS[:2], answer=["42", "42"], level=[1, 2], other=["not", "sent"])
    assert stub.requests[0]["body"]["columns"] == {"answer": ["42", "42"], "level": [1, 2]}
    assert json.dumps(stub.requests[0]["body"]["prompts"]) == json.dumps([r.prompt for r in ROWS[:2]])


def test_abandoned_requests_do_not_hold_up_the_process_exit():
    script = """
import socket
from grpo_rewards import parse_reward_set
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()  # accepts connections, never answers
url = f"http://127.0.0.1:{listener.getsockname()[1]}/score"
fn = parse_reward_set([{"use": "reward_model.remote", "params": {
    "url": url, "request_timeout": 600.0, "total_timeout": 0.3}}]).functions()[0]
run = fn.run_trl(prompts=["p"], completions=["c"])
print(run.values, run.stats.errors)
"""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[None]", "1"]
