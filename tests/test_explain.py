"""`explain` and `score --explain`: why a completion gets its score, on the built-in rewards and
on rewards that time out, raise or are cut by the size cap; secrets never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grpo_rewards.cli import main

MATH_SET = """
[[rewards]]
use = "math.correct"
name = "correct"
params = { extractors = ["answer_tag", "boxed"] }

[[rewards]]
use = "xml.format"
name = "format"
weight = { schedule = "linear", start = 0.0, end = 0.5, steps = 100 }

[[rewards]]
use = "length.target"
name = "short"
weight = 0.25
when = "correct >= 1"
closed = -1
params = { target = 20, unit = "chars", form = "negative" }
"""


@pytest.fixture
def runner():
    return CliRunner()


def explain(runner, config: Path, completion: str, *args: str) -> dict:
    result = runner.invoke(main, ["explain", str(config), "--completion", completion, "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # the isolation notice goes to stderr


def write(tmp_path: Path, text: str, name: str = "set.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_wrong_answer_shows_what_was_read_the_gold_the_gate_and_the_weights(runner, registry, tmp_path):
    config = write(tmp_path, MATH_SET)
    got = explain(runner, config, "<think>6*7=42</think><answer>41</answer>", "--column", "answer=42", "--step", "10")
    correct, fmt, short = (got["rewards"][n] for n in ("correct", "format", "short"))
    assert correct["value"] == 0.0
    assert correct["read"] == {"extractor": "answer_tag", "read": "41", "gold": "42", "why": "differs from the gold answer"}
    assert (
        fmt["weight"] == pytest.approx(0.05)
        and fmt["read"]["found"] == "think answer"
        and fmt["contribution"] == pytest.approx(0.05)
    )
    assert short["read"]["length"] == 40 and short["value"] == -1.0
    assert short["gate"] == {
        "when": "correct >= 1",
        "open": False,
        "because": "correct = 0",
        "gives": -1.0,
        "closed_rule": "min(score, -1) (closed = -1)",
    }
    assert short["contribution"] == -0.25 and got["total"] == pytest.approx(-0.2)


def test_a_right_answer_in_the_box_names_the_boxed_extractor(runner, registry, tmp_path):
    config = write(tmp_path, MATH_SET)
    got = explain(runner, config, "so \\boxed{42}", "--column", "answer=#### 42")
    assert got["rewards"]["correct"]["read"]["extractor"] == "boxed" and got["rewards"]["correct"]["value"] == 1.0
    assert got["rewards"]["short"]["gate"]["open"] is True and got["rewards"]["short"]["gate"]["because"] == "correct = 1"
    assert got["rewards"]["format"]["weight"] == 0.5  # the end of the schedule without --step


def test_an_unreadable_gold_is_a_none_with_its_reason(runner, registry, tmp_path):
    config = write(tmp_path, '[[rewards]]\nuse = "math.correct"\n')
    got = explain(runner, config, "<answer>4</answer>", "--column", "answer=")
    item = got["rewards"]["math.correct"]
    assert item["value"] is None and item["why_none"] == "does not apply: the gold answer could not be read"
    assert got["total"] is None


def test_a_time_out_an_error_and_the_size_cap_are_named(runner, registry, tmp_path):
    config = write(
        tmp_path,
        '[[rewards]]\nuse = "test.sleepy"\n\n[[rewards]]\nuse = "test.boom"\n\n'
        '[[rewards]]\nuse = "test.chars"\nmax_input_chars = 5\n',
    )
    got = explain(runner, config, "sleep boom", "--traceback")
    assert got["rewards"]["test.sleepy"]["why_none"] == "timed out (time limit 0.2 s)"
    boom = got["rewards"]["test.boom"]
    assert boom["why_none"] == "raised: RuntimeError: exploded on purpose (at tests/sample_rewards.py:45 in boom)"
    assert "Traceback" in boom["traceback"] and "sample_rewards.py" in boom["traceback"]
    assert "longer than max_input_chars" in got["rewards"]["test.chars"]["why_none"]


def test_code_tests_reports_the_tests_passed_and_the_first_failure(runner, registry, tmp_path):
    config = write(tmp_path, '[[rewards]]\nuse = "code.tests"\nparams = { isolation = "rlimits" }\n')
    program = "```python\ndef f(x):\n    return x + 1\n```"
    got = explain(runner, config, program, "--column", "test=assert f(1) == 2\nassert f(2) == 4")
    item = got["rewards"]["code.tests"]
    assert item["value"] == 0.5 and item["read"]["passed"] == 1 and item["read"]["tests"] == 2
    assert item["read"]["first_failure"].startswith("test 2")
    none = explain(runner, config, "no code here", "--column", "test=assert f(1) == 2")["rewards"]["code.tests"]
    assert none["value"] == 0.0 and "no python program found" in none["read"]["why"]


SECRET_PLUGIN = """
from grpo_rewards import Param, hookimpl, reward


@reward("leaky.call", description="Fails with its key in the message.", params=[Param("api_key", str, "", "a key")])
def call(sample, api_key):
    raise RuntimeError(f"401 for key {api_key}")


@hookimpl
def register_rewards(register):
    register(call)
"""


def test_secrets_never_appear(runner, registry, tmp_path):
    write(tmp_path, SECRET_PLUGIN, "leaky.py")
    config = write(
        tmp_path, 'plugins = ["leaky.py"]\n\n[[rewards]]\nuse = "leaky.call"\nparams = { api_key = "sk-very-secret" }\n'
    )
    result = runner.invoke(main, ["explain", str(config), "--completion", "x", "--json", "--traceback"])
    assert result.exit_code == 0, result.output
    assert "sk-very-secret" not in result.output and "401 for key ***" in result.output


def test_missing_columns_are_named(runner, registry, tmp_path):
    config = write(tmp_path, MATH_SET)
    result = runner.invoke(main, ["explain", str(config), "--completion", "x"])
    assert result.exit_code == 2 and "correct needs 'answer'" in result.output


def test_the_table_view(runner, registry, tmp_path):
    config = write(tmp_path, MATH_SET)
    result = runner.invoke(main, ["explain", str(config), "--completion", "<answer>41</answer>", "--column", "answer=42"])
    assert result.exit_code == 0, result.output
    assert "closed: correct >= 1 (correct = 0)" in result.output
    assert "correct read: extractor = 'answer_tag', read = '41', gold = '42'" in result.output


def test_score_explain_adds_the_fields_to_each_row(runner, registry, tmp_path):
    config = write(tmp_path, MATH_SET)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps({"completion": "<answer>41</answer>", "answer": "42"})
        + "\n"
        + json.dumps({"completion": "<answer>42</answer>", "answer": "42"})
        + "\n"
    )
    output = tmp_path / "scored.jsonl"
    result = runner.invoke(main, ["score", str(config), "-i", str(rows), "-o", str(output), "--explain"])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in output.read_text().splitlines())
    assert first["explain"]["correct"]["read"]["read"] == "41" and first["explain"]["short"]["gate"]["open"] is False
    assert second["explain"]["correct"]["read"]["why"] == "equals the gold answer"
    plain = tmp_path / "plain.jsonl"
    runner.invoke(main, ["score", str(config), "-i", str(rows), "-o", str(plain)])
    assert "explain" not in json.loads(plain.read_text().splitlines()[0])  # only on request


def test_every_rule_based_built_in_reward_explains_the_score_that_score_gives(runner, registry, tmp_path):
    """explain is scoring plus reading: its values and total are exactly what `score` writes."""
    names = [
        n
        for n, spec in registry.rewards.items()
        if spec.plugin != "sample-rewards"
        and not n.startswith(("reward_model.", "judge.", "gym.", "code.tests"))  # no model, endpoint or sandbox
    ]
    config = write(tmp_path, "".join(f'[[rewards]]\nuse = "{n}"\n\n' for n in names))
    completion = "<think>6*7 = 42</think><answer>42</answer>"
    got = explain(runner, config, completion, "--column", "answer=42")
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"completion": completion, "answer": "42"}) + "\n")
    output = tmp_path / "scored.jsonl"
    assert runner.invoke(main, ["score", str(config), "-i", str(rows), "-o", str(output)]).exit_code == 0
    scored = json.loads(output.read_text())
    assert {n: got["rewards"][n]["value"] for n in names} == scored["rewards"]
    assert got["total"] == pytest.approx(scored["reward"])
    assert sum(item["contribution"] for item in got["rewards"].values()) == pytest.approx(got["total"])
