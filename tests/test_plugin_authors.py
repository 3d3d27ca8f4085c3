"""Writing a correctness plugin, as the README's worked example does (examples/letter_answer.py):
its scores and the attacks it must refuse, extractor lists received as callables (here and in a
worker process), a plugin's error named with its file and line, `rewards NAME` showing everything
a reward declares, a plugin that failed to load named by `check`, and wrong-answer probes in the
reward's declared answer domain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grpo_rewards import Row, load_reward_set, score_rows
from grpo_rewards.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def example(tmp_path, registry) -> Path:
    for name in ("letter_answer.py", "letter-answer.toml", "letter-answer-rows.jsonl"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    return tmp_path / "letter-answer.toml"


def correct(config: Path, completions: list[str], gold: str = "C", **entry: str) -> list[float | None]:
    reward_set = load_reward_set(config)
    result = score_rows(reward_set, [Row(c, "Pick one: A) 1 B) 2 C) 3 D) 4", {"answer": gold}) for c in completions])
    return result.values["correct"]


def test_the_example_pays_the_gold_letter_in_each_form_it_reads(example):
    right = ["<answer>C</answer>", "<answer>(c)</answer>", "So the answer is C.", "Answer: [C]", "The correct answer is (C)!"]
    assert correct(example, right) == [1.0] * len(right)
    assert correct(example, ["<answer>B</answer>"], gold="Answer: (B)") == [1.0]  # the gold as its gold_reader reads it


@pytest.mark.parametrize(
    "completion",
    [
        "<answer>C or D</answer>",  # hedges, three ways
        "The answer is C or D.",
        "The answer is C, not D.",
        "<answer>C) or D)</answer>",
        "<answer>E</answer>",  # not an option of this question (letters = ABCD)
        "the answer is c",  # a lower-case letter after the marker could be an article: no answer
        "the answer is a guess",
        "<think>The answer is C.</think> The answer is D.",  # the gold in the reasoning, another after it
        "A B C D",  # every letter, no statement
        "",
    ],
)
def test_the_example_refuses_what_a_policy_could_drift_into(example, completion):
    assert correct(example, [completion]) == [0.0]


def test_a_missing_gold_is_a_none_with_its_reason(example):
    result = CliRunner().invoke(
        main, ["explain", str(example), "--completion", "<answer>C</answer>", "--column", "answer=maybe", "--json"]
    )
    assert result.exit_code == 0, result.output
    item = json.loads(result.stdout)["rewards"]["correct"]
    assert item["value"] is None and item["why_none"] == "does not apply: no gold letter in column 'answer'"


def test_explain_names_the_plugins_own_extractor(example):
    result = CliRunner().invoke(
        main, ["explain", str(example), "--completion", "Hmm. The answer is (B).", "--column", "answer=C", "--json"]
    )
    read = json.loads(result.stdout)["rewards"]["correct"]["read"]
    assert read == {"extractor": "choice_letter", "read": "(B)", "gold": "C", "why": "another letter"}


def test_extractor_lists_arrive_as_callables_in_a_worker_process_too(example):
    text = example.read_text().replace('name = "correct"', 'name = "correct"\nexecutor = "process"')
    example.write_text(text)
    assert correct(example, ["<answer>C</answer>", "The answer is D."]) == [1.0, 0.0]


def test_refs_are_names_and_callables(registry):
    refs = registry.refs("extractor", ["boxed", "answer_tag"])
    assert refs == ["boxed", "answer_tag"] and json.dumps(refs) == '["boxed", "answer_tag"]'
    assert [extract("x <answer>7</answer>") for extract in refs] == [None, "7"]
    assert [name for name, _ in refs.items()] == ["boxed", "answer_tag"] and refs.entries[1] is refs[1].entry


NAIVE_PLUGIN = """
from grpo_rewards import Param, hookimpl, reward


@reward("naive.correct", kind="correctness", description="x",
        params=[Param("extractors", list, ["answer_tag"], "x", refers_to="extractor")])
def naive(sample, extractors):
    return float(extractors[0].upper_is_not_a_method(sample.completion))


@hookimpl
def register_rewards(register):
    register(naive)
"""


def test_a_plugins_error_names_the_plugin_and_the_line(registry, tmp_path):
    (tmp_path / "naive.py").write_text(NAIVE_PLUGIN)
    config = tmp_path / "set.toml"
    config.write_text('plugins = ["naive.py"]\n\n[[rewards]]\nuse = "naive.correct"\n')
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"prompt": "p", "completion": "<answer>1</answer>"}\n')
    result = CliRunner().invoke(main, ["score", str(config), "-i", str(rows), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert "naive.correct (plugin local:naive.py): first error: AttributeError" in result.output
    assert "(at naive.py:8 in naive)" in result.output


def test_rewards_name_shows_everything_declared(example):
    result = CliRunner().invoke(main, ["rewards", "letters.correct", "--config", str(example), "--json"])
    assert result.exit_code == 0, result.output
    [spec] = json.loads(result.stdout)
    assert spec["kind"] == "correctness" and spec["reads_columns"] == ["answer"] and spec["value_range"] == [0.0, 1.0]
    assert spec["answer_domain"].startswith("choices:") and spec["gold_reader"] == "gold_letter (letter_answer.py)"
    assert (spec["isolation"], spec["executor"], spec["deterministic"], spec["requires"]) == ("inline", "inline", True, [])
    params = {p["name"]: p for p in spec["params"]}
    assert params["extractors"]["refers_to"] == "extractor" and params["wrong_score"]["role"] == "wrong_score"
    assert params["answer_column"]["column"] is True
    table = CliRunner().invoke(main, ["rewards", "letters.correct", "--config", str(example)])
    assert "choices: a multiple-choice letter" in table.output and "role wrong_score" in table.output


def test_rewards_name_shows_what_a_built_in_requires(registry):
    result = CliRunner().invoke(main, ["rewards", "judge.rubric", "--json"])
    [spec] = json.loads(result.stdout)
    assert spec["requires"] == ["httpx (installed)"] and spec["executor"] == "asyncio" and spec["kind"] == "content"
    listing = CliRunner().invoke(main, ["rewards"])
    assert "[max_penalty, 0]" in listing.output  # rich markup would eat it


def test_rewards_name_of_a_reward_that_failed_to_register(registry, tmp_path):
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    config = tmp_path / "set.toml"
    config.write_text('plugins = ["broken.py"]\n\n[[rewards]]\nuse = "broken.correct"\n')
    result = CliRunner().invoke(main, ["rewards", "broken.correct", "--config", str(config)])
    assert result.exit_code == 2 and "failed to load" in result.output and "not_a_module_anywhere" in result.output


def test_check_names_the_plugin_a_missing_reward_may_be_in(registry, tmp_path):
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    config = tmp_path / "set.toml"
    config.write_text('plugins = ["broken.py"]\n\n[[rewards]]\nuse = "broken.correct"\n')
    result = CliRunner().invoke(main, ["check", str(config)])
    assert result.exit_code == 2
    assert "unknown reward 'broken.correct'; it may be in a plugin that failed to load: plugin 'local:broken.py'" in result.output
    assert "ModuleNotFoundError: No module named 'not_a_module_anywhere'" in result.output
    assert "known rewards:" not in result.output


def test_check_names_a_hook_that_raised(registry, tmp_path):
    (tmp_path / "raising.py").write_text(
        "from grpo_rewards import hookimpl\n\n@hookimpl\ndef register_rewards(register):\n    raise RuntimeError('no config')\n"
    )
    config = tmp_path / "set.toml"
    config.write_text('plugins = ["raising.py"]\n\n[[rewards]]\nuse = "raising.x"\n')
    result = CliRunner().invoke(main, ["check", str(config)])
    assert result.exit_code == 2 and "register_rewards failed: RuntimeError: no config" in result.output


def test_attack_pays_nothing_on_the_example(example):
    result = CliRunner().invoke(
        main, ["attack", str(example), "--prompts", str(example.parent / "letter-answer-rows.jsonl"), "--quick", "--json"]
    )
    assert result.exit_code == 0, result.output
    classes = json.loads(result.stdout)["rewards"]["correct"]["classes"]
    assert set(classes) >= {"other_choice", "hedge", "think_then_other", "restated_wrong"}
    assert all(c["paid"] == 0 and c["n"] > 0 for c in classes.values()), classes


def test_probes_use_the_declared_answer_domain(example):
    from grpo_rewards.attack.plan import first_wrong_answer
    from grpo_rewards.bench.probes import BUILTIN_PROBES, ProbeContext

    reward_set = load_reward_set(example)
    wrong = first_wrong_answer(reward_set, "C", {"answer": "C"})
    assert wrong == "D"  # another letter, never "C+1"
    probe = BUILTIN_PROBES["wrong_answer"].make(ProbeContext("q", "C", "r", wrong=wrong))
    assert probe is not None and probe.endswith("<answer>D</answer>")
    assert BUILTIN_PROBES["wrong_answer"].make(ProbeContext("q", "a cat", "r")) is None  # no domain: no invented "a cat+1"


def test_rewards_json_says_when_determinism_depends_on_the_parameters():
    """A judge is deterministic only at temperature 0: its metadata names the rule, not a repr."""
    result = CliRunner().invoke(main, ["rewards", "judge.rubric", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    shown = shown[0] if isinstance(shown, list) else shown
    assert shown["deterministic"] == "depends on the parameters (grpo_rewards.plugins.judge.rewards.deterministic)"
    length = json.loads(CliRunner().invoke(main, ["rewards", "length.target", "--json"]).output)
    assert (length[0] if isinstance(length, list) else length)["deterministic"] is True
