"""The reference reward server: the protocol, clear 4xx errors for malformed requests, the CLI."""

from __future__ import annotations

import http.client
import json

import pytest
from click.testing import CliRunner
from grpo_rewards.plugins.reward_model.server import make_server

from grpo_rewards import Row, parse_reward_set, score_rows
from grpo_rewards.cli import main

from .reward_model_support import running, serve_rewards_process


@pytest.fixture
def server(registry):
    reward_set = parse_reward_set(
        [
            {"use": "length.target", "name": "short", "weight": 0.5, "params": {"target": 10}},
            {"use": "test.gold", "name": "gold", "weight": 2.0},
        ]
    )
    with running(make_server(reward_set, max_rows=4, max_body_bytes=2000)) as srv:
        yield srv


def request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def post(server, payload) -> tuple[int, dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return request(server, "POST", "/score", body, {"Content-Type": "application/json"})


GOOD = {"prompts": ["q", "q"], "completions": ["42", "0123456789"], "columns": {"answer": ["42", "7"]}}


def test_scores_totals_one_reward_or_all_of_them(server):
    assert post(server, GOOD) == (200, {"scores": [0.5 * -8 + 2.0, 0.0]})
    assert post(server, {**GOOD, "reward": "gold"}) == (200, {"scores": [1.0, 0.0]})
    status, body = post(server, {**GOOD, "per_reward": True})
    assert status == 200 and body["rewards"] == {"short": [-8.0, 0.0], "gold": [1.0, 0.0]}


def test_chat_rows_are_scored_on_their_text(server):
    payload = {
        "prompts": [[{"role": "user", "content": "q"}]],
        "completions": [[{"role": "assistant", "content": "42"}]],
        "columns": {"answer": ["42"]},
    }
    assert post(server, payload) == (200, {"scores": [-2.0]})


def test_health_describes_the_reward_set(server):
    status, body = request(server, "GET", "/health")
    assert status == 200
    assert body == {
        "protocol": 1,
        "source": "<memory>",
        "rewards": ["short", "gold"],
        "weights": [0.5, 2.0],
        "columns": {"gold": ["answer"]},
    }


@pytest.mark.parametrize(
    "payload, status, message",
    [
        (b"{not json", 400, "request body is not valid JSON"),
        (b"\xff\xfe", 400, "not UTF-8"),
        ([1, 2], 400, "expected a JSON object"),
        ({"prompts": ["q"]}, 400, "'completions' must be a list"),
        ({**GOOD, "prompts": ["only one"]}, 400, "'prompts' must be a list as long as 'completions' (2)"),
        ({**GOOD, "completions": ["a", 3]}, 400, "completions[1] must be a string or a list of"),
        ({**GOOD, "columns": {"answer": ["42"]}}, 400, "column 'answer' must be a list with one value per row (2)"),
        ({**GOOD, "columns": []}, 400, "'columns' must be an object"),
        ({**GOOD, "columns": {}}, 400, "reward 'gold' needs column(s) 'answer' (the request's columns: none)"),
        ({**GOOD, "reward": "gould"}, 400, "unknown reward 'gould'; this server has 'short', 'gold'"),
        ({**GOOD, "reward": 3}, 400, "'reward' must be the name"),
        ({**GOOD, "per_reward": "yes"}, 400, "'per_reward' must be true or false"),
        ({**GOOD, "extra": 1}, 400, "unknown field(s) 'extra'"),
        ({"completions": ["a"] * 5}, 413, "5 rows in one request; this server takes at most 4"),
        ({"completions": ["a" * 3000]}, 413, "over this server's limit of 2000"),
    ],
)
def test_malformed_requests_get_a_clear_4xx(server, payload, status, message):
    got_status, body = post(server, payload)
    assert got_status == status and message in body["error"]


def test_wrong_paths_methods_and_missing_length(server):
    assert request(server, "GET", "/nowhere")[0] == 404
    status, body = request(server, "GET", "/score")
    assert status == 405 and "takes POST" in body["error"]
    assert request(server, "DELETE", "/score")[0] == 405
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.putrequest("POST", "/score")
    connection.endheaders()  # no Content-Length, no body
    response = connection.getresponse()
    assert response.status == 411 and "Content-Length" in json.loads(response.read())["error"]
    connection.close()


def test_a_broken_reward_is_a_null_score_not_a_server_error(registry):
    reward_set = parse_reward_set([{"use": "test.boom"}])
    with running(make_server(reward_set)) as srv:
        assert post(srv, {"completions": ["fine", "boom"]}) == (200, {"scores": [0.5, None]})


def test_serve_rewards_command_end_to_end(tmp_path):
    config = tmp_path / "rewards.toml"
    config.write_text('[[rewards]]\nuse = "length.target"\nweight = 2.0\nparams = { target = 5 }\n')
    with serve_rewards_process(config) as (url, _):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/score", body=json.dumps({"completions": ["abc", "abcdefgh"]}))
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (200, {"scores": [-4.0, -6.0]})
        connection.close()
    expected = score_rows(
        parse_reward_set([{"use": "length.target", "weight": 2.0, "params": {"target": 5}}]), [Row("abc"), Row("abcdefgh")]
    )
    assert expected.total == [-4.0, -6.0]


def test_serve_rewards_rejects_a_bad_config(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('[[rewards]]\nuse = "length.targt"\n')
    result = CliRunner().invoke(main, ["serve-rewards", str(config), "--port", "0"])
    assert result.exit_code == 2 and "did you mean 'length.target'" in result.output
