"""serve-rewards as OpenRLHF's remote reward (``--reward.remote_url http://host:port/openrlhf``).

Pinned to OpenRLHF 0.11.2. Its package installs with ``pip install --no-deps openrlhf==0.11.2``
(``make setup`` does; its full dependencies want GPUs), and the module that calls a remote reward,
``openrlhf/utils/agent.py``, needs only aiohttp: the first test loads that very module (bypassing
``openrlhf/utils/__init__.py``, which imports torch, transformers and pylatexenc for other tools)
and scores through its own ``SingleTurnAgentExecutor._fetch_rewards_via_http``. The other tests
restate the contract read from that file (a POST of ``{"query", "prompts", "labels"}`` lists; an
answer with ``rewards``, ``scores`` and ``extra_logs``, every value a number) with a plain client.
"""

from __future__ import annotations

import asyncio
import http.client
import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest
from grpo_rewards.plugins.reward_model.openrlhf import Mapping, decode, plan
from grpo_rewards.plugins.reward_model.server import make_server

from grpo_rewards import parse_reward_set

from .reward_model_support import running, serve_rewards_process

OPENRLHF_VERSION = "0.11.2"
PROMPT = "<|im_start|>user\nWhat is 6 * 7?<|im_end|>\n<|im_start|>assistant\n"  # as OpenRLHF templated it


def openrlhf_agent() -> types.ModuleType:
    """OpenRLHF's own ``openrlhf.utils.agent`` module, loaded without the package's heavy ``__init__``."""
    spec = importlib.util.find_spec("openrlhf")
    if spec is None or spec.submodule_search_locations is None:
        pytest.skip(f"openrlhf is not installed (make setup installs {OPENRLHF_VERSION} with --no-deps)")
    from importlib.metadata import version

    assert version("openrlhf") == OPENRLHF_VERSION, "the contract below was read from this version"
    if "openrlhf.utils.agent" not in sys.modules:
        utils = types.ModuleType("openrlhf.utils")
        utils.__path__ = [str(Path(next(iter(spec.submodule_search_locations))) / "utils")]
        sys.modules.setdefault("openrlhf.utils", utils)
    return importlib.import_module("openrlhf.utils.agent")


@pytest.fixture
def math_server():
    """math.correct (0 or 1, reads the column 'answer') and xml.format (0 to 1), weights 1 and 0.5."""
    reward_set = parse_reward_set([{"use": "math.correct", "weight": 1.0}, {"use": "xml.format", "weight": 0.5}])
    with running(make_server(reward_set)) as server:
        yield server


def openrlhf_url(server) -> str:
    host, port = server.server_address
    return f"http://{host}:{port}/openrlhf"


def test_openrlhfs_own_client_scores_through_serve_rewards(math_server):
    agent = openrlhf_agent()
    executor = agent.SingleTurnAgentExecutor(openrlhf_url(math_server))
    assert executor.reward_func is None  # a URL, not a reward file: the HTTP path
    right = PROMPT + "<think>6 * 7 = 42</think><answer>\\boxed{42}</answer><|im_end|>"
    wrong = PROMPT + "<think>6 * 7 = 48</think><answer>\\boxed{48}</answer><|im_end|>"
    answers = asyncio.run(executor._fetch_rewards_via_http([right, wrong], [PROMPT, PROMPT], ["42", "42"]))
    assert len(answers) == 1  # one server: one request for both queries
    (answer,) = answers
    assert answer["rewards"] == answer["scores"] == [1.0 + 0.5, 0.0 + 0.5]
    assert answer["extra_logs"]["math.correct"] == [1.0, 0.0]
    assert answer["extra_logs"]["math.correct/scored"] == [1.0, 1.0]


def post(server, payload, path: str = "/openrlhf") -> tuple[int, dict]:
    connection = http.client.HTTPConnection(*server.server_address, timeout=30)
    try:
        connection.request("POST", path, body=json.dumps(payload), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_the_contract_a_query_that_is_not_its_prompt_plus_a_response_is_never_scored(math_server):
    """The prompt's own text must not be paid for: a query that does not start with its prompt (a
    truncated prompt) gets the null reward, the lowest the set can give (0 here), logged as unscored."""
    gold_in_prompt = "What is 6 * 7? The answer is \\boxed{42}"
    status, body = post(math_server, {"query": [gold_in_prompt], "prompts": ["Question: " + gold_in_prompt], "labels": ["42"]})
    assert status == 200
    assert body == {
        "rewards": [0.0],
        "scores": [0.0],
        "extra_logs": {"math.correct": [0.0], "math.correct/scored": [0.0], "xml.format": [0.0], "xml.format/scored": [0.0]},
    }


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"query": "one text"}, "'query' must be a list of strings"),
        ({"query": ["a", "b"], "prompts": ["a"]}, "'prompts' must be a list of 2 strings"),
        ({"query": ["a"], "labels": []}, "'labels' must be a list of 1 values"),
        ({"query": ["a"], "labels": [[1, 2]]}, "labels[0] must be a string, a number or an object"),
        ({"query": ["a"], "reward": "x"}, "unknown field(s) 'reward'"),
    ],
)
def test_the_contract_other_shapes_get_a_clear_400(math_server, payload, message):
    status, body = post(math_server, payload)
    assert status == 400 and message in body["error"], body


def test_labels_fill_a_chosen_column_or_several_columns_from_an_object(registry):
    reward_set = parse_reward_set(
        [{"use": "test.gold", "name": "first"}, {"use": "test.gold", "name": "second", "params": {"gold_column": "alt"}}]
    )
    one_column = Mapping(label_column="answer", null_reward=-1.0)
    with running(make_server(reward_set, openrlhf=one_column)) as server:
        status, body = post(server, {"query": ["Q: 7"], "prompts": ["Q: "], "labels": ["7"]})
        assert status == 200 and body["extra_logs"]["first"] == [1.0] and body["extra_logs"]["second/scored"] == [0.0]
        status, body = post(
            server, {"query": ["Q: 7", "Q: 8"], "prompts": ["Q: "] * 2, "labels": [{"answer": "7", "alt": "7"}] * 2}
        )
        assert status == 200 and body["rewards"] == [2.0, 0.0]
    with running(make_server(reward_set, openrlhf=Mapping(null_reward=-1.0))) as server:
        status, body = post(server, {"query": ["Q: 7"], "prompts": ["Q: "], "labels": ["7"]})
        assert status == 400 and "reads columns 'alt', 'answer'" in body["error"]


def test_a_set_unbounded_below_needs_an_explicit_null_reward(registry):
    reward_set = parse_reward_set([{"use": "length.target", "params": {"target": 3}}])
    assert plan(Mapping(), reward_set).problem is not None
    with running(make_server(reward_set)) as server:
        status, body = post(server, {"query": ["Q: abc"], "prompts": ["Q: "]})
        assert status == 400 and "--openrlhf-null-reward" in body["error"]
        assert post(server, {"completions": ["abc"]}, path="/score") == (200, {"scores": [0.0]})  # /score is unaffected
    with running(make_server(reward_set, openrlhf=Mapping(null_reward=-100.0))) as server:
        status, body = post(
            server, {"query": ["Q: abc<|im_end|><|endoftext|>", "abc"], "prompts": ["Q: ", "Q: "], "labels": ["", ""]}
        )
        assert status == 200 and body["rewards"] == [0.0, -100.0]  # end markers cut off; the second is no response


def test_end_markers_are_cut_only_at_the_very_end():
    reward_set = parse_reward_set([{"use": "xml.format"}])
    chosen = plan(Mapping(), reward_set)
    decoded = decode(
        json.dumps({"query": ["P<|im_end|>x</s>", "P</s></s><eos>"], "prompts": ["P", "P"]}).encode(), 10, chosen, set()
    )
    assert [s.completion for s in decoded.samples] == ["<|im_end|>x", ""]


@pytest.mark.slow
def test_the_documented_command_line_serves_openrlhf():
    """docs/openrlhf.md's command, in a real process, called by OpenRLHF's own client."""
    agent = openrlhf_agent()
    example = Path(__file__).parent.parent / "examples" / "openrlhf-math.toml"
    with serve_rewards_process(example) as (url, process):
        banner = process.stdout.readline()
        assert "OpenRLHF: --reward.remote_url" in banner and "labels -> column answer" in banner, banner
        executor = agent.SingleTurnAgentExecutor(url.removesuffix("/score") + "/openrlhf")
        query = PROMPT + "<think>6 * 7 = 42</think>\n<answer>42</answer><|im_end|>"
        (answer,) = asyncio.run(executor._fetch_rewards_via_http([query], [PROMPT], ["42"]))
    assert answer["rewards"] == [1.0 + 0.2]
