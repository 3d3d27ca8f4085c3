"""serve-rewards on its event loop: async rewards awaited without a thread each, many clients at once,
/health while rows are costly, and requests on a kept-alive connection (the gate's one at a time)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest
from grpo_rewards.plugins.reward_model.server import make_server

from grpo_rewards.registry import get_registry
from grpo_rewards.rewardset import load_reward_set

from .reward_model_support import running

PLUGIN = """
import asyncio, threading, time
from grpo_rewards import Sample, hookimpl, reward

in_flight = [0, 0]  # now, most at once


@reward("serve.wait", description="async: waits the prompt's seconds; scores the most rows in flight at once",
        timeout=30.0, concurrency=128)
async def wait(sample: Sample) -> float:
    if threading.current_thread().name != "grpo-rewards-asyncio":
        return -1.0  # not awaited on the runtime's event loop
    in_flight[0] += 1
    in_flight[1] = max(in_flight)
    try:
        await asyncio.sleep(float(sample.prompt or 0))
    finally:
        in_flight[0] -= 1
    return float(in_flight[1])


@reward("serve.spin", description="sync and CPU-bound: spins for the prompt's seconds, holding the GIL", timeout=30.0)
def spin(sample: Sample) -> float:
    end = time.monotonic() + float(sample.prompt or 0)
    while time.monotonic() < end:
        pass
    return float(len(sample.completion))


@hookimpl
def register_rewards(register):
    register(wait)
    register(spin)
"""


@pytest.fixture
def reward_set(tmp_path):
    """``serve.wait`` or ``serve.spin`` from a plugin file of its own (a fresh module per test)."""
    (tmp_path / "serve_rewards_async.py").write_text(PLUGIN)

    def load(use: str, extra: str = ""):
        config = tmp_path / f"{use}.toml"
        config.write_text(f'plugins = ["serve_rewards_async.py"]\n[[rewards]]\nuse = "{use}"\n{extra}')
        return load_reward_set(config)

    yield load
    get_registry(refresh=True)


def post(address, payload: dict, timeout: float = 30.0) -> tuple[int, dict[str, str], dict]:
    connection = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        connection.request("POST", "/score", body=json.dumps(payload), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        connection.close()


def at_once(count: int, call) -> list:
    """``call()`` from ``count`` threads released together; each result, or the exception it raised."""
    barrier, results = threading.Barrier(count), [None] * count

    def one(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # an HTTP client that got no answer
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def health_within(address, seconds: float) -> tuple[int | None, float]:
    """GET /health, retried until a 200 or ``seconds``: the last status and when it came."""
    start, status = time.monotonic(), None
    while time.monotonic() - start < seconds:
        connection = http.client.HTTPConnection(*address, timeout=max(0.2, seconds - (time.monotonic() - start)))
        try:
            connection.request("GET", "/health")
            status = connection.getresponse().status
        except OSError:
            status = None
        finally:
            connection.close()
        if status == 200:
            break
    return status, time.monotonic() - start


def test_async_rows_are_awaited_on_the_runtimes_loop_all_requests_at_once(reward_set):
    """16 requests whose async row waits 1 s: each row is awaited on the runtime's event loop (not
    run by a thread of its own), and all 16 are in flight together."""
    with running(make_server(reward_set("serve.wait"), threads=16)) as server:
        results = at_once(16, lambda: post(server.server_address, {"prompts": ["1.0"], "completions": ["x"]}))
    assert all(not isinstance(r, Exception) and r[0] == 200 for r in results), results
    scores = [r[2]["scores"][0] for r in results]
    assert min(scores) > 0 and max(scores) == 16.0, scores


def test_64_simultaneous_clients_all_get_an_http_answer(reward_set):
    """Default limits (4 scoring places, 16 waiting, 64 connections), an async reward: every client
    gets 200 or 503 with Retry-After, never a reset or a hang; the first places are served."""
    with running(make_server(reward_set("serve.wait"))) as server:
        results = at_once(64, lambda: post(server.server_address, {"prompts": ["0.5"], "completions": ["x"]}))
    problems = [r for r in results if isinstance(r, Exception) or r[0] not in (200, 503)]
    assert not problems, problems
    busy = [r for r in results if r[0] == 503]
    assert all(r[1].get("retry-after") == "1" for r in busy)
    assert len(results) - len(busy) >= 4, [r[0] for r in results]


@pytest.mark.parametrize("use", ["serve.spin", "serve.wait"])
def test_health_answers_within_3_s_while_a_costly_row_runs(reward_set, use):
    """One scoring place, taken by a row that runs 4 s: a sync one spinning in a thread (holding the
    GIL in turns) or an async one waiting; /health is answered meanwhile."""
    with running(make_server(reward_set(use), threads=1, request_timeout=8.0)) as server:
        outcome: list = []
        worker = threading.Thread(
            target=lambda: outcome.append(post(server.server_address, {"prompts": ["4.0"], "completions": ["abc"]}))
        )
        worker.start()
        time.sleep(0.5)  # the row is running
        status, elapsed = health_within(server.server_address, 3.0)
        worker.join(30)
    assert status == 200, f"/health answered {status} after {elapsed:.1f} s"
    assert outcome and outcome[0][0] == 200 and outcome[0][2]["scores"][0] is not None


def _requests(count: int) -> bytes:
    body = json.dumps({"completions": ["abc"]}).encode()
    one = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    return one * count


def _read_answers(sock: socket.socket, count: int) -> list[bytes]:
    """``count`` whole answers from a connection (each has a Content-Length)."""
    data, answers = b"", []
    while len(answers) < count:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        while b"\r\n\r\n" in data:
            head, rest = data.split(b"\r\n\r\n", 1)
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            if len(rest) < length:
                break
            answers.append(head.split(b"\r\n")[0] + b" " + rest[:length])
            data = rest[length:]
    return answers


def test_kept_alive_and_pipelined_requests_are_answered_in_order(reward_set):
    """Two requests sent back to back on one connection, then a third after the answers: three 200s.
    The gate hands the server one request at a time; the pipelined one waits for the first answer."""
    with running(make_server(reward_set("serve.spin"), header_timeout=1.0)) as server:
        sock = socket.create_connection(server.server_address, timeout=10)
        try:
            sock.sendall(_requests(2))
            answers = _read_answers(sock, 2)
            sock.sendall(_requests(1))
            answers += _read_answers(sock, 1)
            assert answers == [b'HTTP/1.1 200 OK {"scores": [3.0]}'] * 3
            # the next request's header deadline counts from the last answer: an idle connection is dropped
            started = time.monotonic()
            sock.settimeout(5)
            try:
                assert sock.recv(1) == b""
            except ConnectionResetError:
                pass
            assert time.monotonic() - started < 2.5
        finally:
            sock.close()


def _exchange(address, data: bytes, wait: float = 5.0) -> tuple[bytes, float]:
    """Send raw bytes, read until the server closes (or ``wait``): what came back and when it closed."""
    sock = socket.create_connection(address, timeout=wait)
    start, raw = time.monotonic(), b""
    try:
        sock.sendall(data)
        while time.monotonic() - start < wait:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    except OSError:
        pass
    finally:
        sock.close()
    return raw, time.monotonic() - start


@pytest.mark.parametrize(
    "data, status, message",
    [
        (b"BREW /score HTTP/1.1\r\n\r\n", 405, b"method BREW is not supported"),
        (b"GET http://elsewhere/health HTTP/1.1\r\n\r\n", 400, b"malformed request line"),
        (b"GET /health HTTP/2.0\r\n\r\n", 505, b"HTTP/2.0 is not supported"),
        (b"GET /health\r\n\r\n", 400, b"malformed request line"),
    ],
)
def test_heads_uvicorn_would_refuse_in_plain_text_get_a_json_answer_from_the_gate(reward_set, data, status, message):
    with running(make_server(reward_set("serve.spin"))) as server:
        raw, _ = _exchange(server.server_address, data)
    assert raw.startswith(b"HTTP/1.1 %d " % status) and message in raw and raw.rstrip().endswith(b"}"), raw


def test_a_body_that_does_not_arrive_by_the_body_deadline_is_dropped(reward_set):
    """Its headers in time, then 10 of 100 announced bytes: the connection goes at the body deadline
    (from its accept), unanswered, and the scoring place is free again."""
    with running(make_server(reward_set("serve.spin"), threads=1, queue=0, body_timeout=1.0)) as server:
        raw, closed_after = _exchange(server.server_address, b"POST /score HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        assert raw == b"" and closed_after < 2.5
        assert post(server.server_address, {"completions": ["abc"]})[0] == 200


def test_async_rows_that_run_to_their_limit_all_end_within_the_request_deadline(reward_set):
    """8 async rows that each await past their 1 s limit, a 4 s request deadline: they are scored
    side by side (each is cancelled at its limit), so every row is answered, none 'unfinished'."""
    with running(make_server(reward_set("serve.wait", "timeout = 1.0\n"), request_timeout=4.0)) as server:
        status, _, body = post(server.server_address, {"prompts": ["30"] * 8, "completions": [f"x{i}" for i in range(8)]})
    assert status == 200 and body == {"scores": [None] * 8}


def test_health_answers_within_3_s_while_20_slow_header_connections_are_open(reward_set):
    """20 connections that keep sending a header byte now and then (well inside the header deadline):
    an authorised /health is answered within 3 s, on the first try."""
    with running(make_server(reward_set("serve.spin"), token="s3cret", header_timeout=30.0)) as server:
        attackers = [socket.create_connection(server.server_address) for _ in range(20)]
        try:
            for sock in attackers:
                sock.sendall(b"GET /health HTTP/1.1\r\nX-Slow: ")
            time.sleep(0.2)
            for sock in attackers:
                sock.sendall(b"a")
            connection = http.client.HTTPConnection(*server.server_address, timeout=3.0)
            started = time.monotonic()
            connection.request("GET", "/health", headers={"Authorization": "Bearer s3cret"})
            status = connection.getresponse().status
            elapsed = time.monotonic() - started
            connection.close()
        finally:
            for sock in attackers:
                sock.close()
    assert status == 200 and elapsed < 3.0, elapsed
