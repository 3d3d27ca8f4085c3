"""The CLI as a user meets it: listing, checking, scoring, and the errors for each mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grpo_rewards.cli import main
from grpo_rewards.score_command import write_atomically

SET = '[[rewards]]\nuse = "test.gold"\nweight = 2.0\n\n[[rewards]]\nuse = "test.chars"\nweight = 0.5\n'


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def reward_file(tmp_path) -> Path:
    path = tmp_path / "set.toml"
    path.write_text(SET)
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_every_command_has_help(runner):
    for command in ([], ["plugins"], ["rewards"], ["check"], ["score"]):
        result = runner.invoke(main, [*command, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output


def test_rewards_lists_and_shows_one(runner, registry):
    listing = runner.invoke(main, ["rewards", "--json"])
    names = [r["name"] for r in json.loads(listing.output)]
    assert {"test.gold", "test.chars"} <= set(names)
    shown = json.loads(runner.invoke(main, ["rewards", "test.gold", "--json"]).output)
    assert shown == [
        {
            "name": "test.gold",
            "plugin": "sample-rewards",
            "description": "1 if the completion equals the gold column.",
            "kind": "other",
            "columns": [],
            "reads_columns": ["answer"],
            "value_range": [0, 1],
            "answer_domain": None,
            "gold_reader": None,
            "isolation": "inline",
            "executor": "inline",
            "deterministic": True,
            "batched": False,
            "concurrent": False,
            "concurrency": None,
            "timeout": 5.0,
            "max_input_chars": 2000000,
            "requires": [],
            "params": [
                {
                    "name": "gold_column",
                    "type": "str",
                    "default": "answer",
                    "help": "column with the gold answer",
                    "choices": None,
                    "min": None,
                    "max": None,
                    "column": True,
                    "required": False,
                    "nullable": False,
                    "refers_to": None,
                    "role": None,
                }
            ],
        }
    ]
    unknown = runner.invoke(main, ["rewards", "test.gould"])
    assert unknown.exit_code == 2 and "unknown reward 'test.gould'; did you mean 'test.gold'?" in unknown.output


def test_check_prints_the_resolved_set_or_every_problem(runner, registry, reward_file, tmp_path):
    ok = runner.invoke(main, ["check", str(reward_file)])
    assert ok.exit_code == 0 and "the reward set is valid" in ok.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rewards]]\nuse = "test.gold"\nweight = "heavy"\n')
    result = runner.invoke(main, ["check", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:3: rewards[0] (use = 'test.gold'): key 'weight': expected a finite number, got 'heavy'" in result.output


def test_score_writes_rows_with_rewards_and_total(runner, registry, reward_file, tmp_path):
    rows = write_jsonl(
        tmp_path / "rows.jsonl",
        [
            {"prompt": "2+2?", "completion": "4", "answer": "4", "id": 7},
            {"prompt": "2+2?", "completion": [{"role": "assistant", "content": "five"}], "answer": "4"},
        ],
    )
    output = tmp_path / "scored.jsonl"
    result = runner.invoke(main, ["score", str(reward_file), "--input", str(rows), "--output", str(output)])
    assert result.exit_code == 0, result.output
    scored = [json.loads(line) for line in output.read_text().splitlines()]
    assert scored[0] == {
        "prompt": "2+2?",
        "completion": "4",
        "answer": "4",
        "id": 7,
        "rewards": {"test.gold": 1.0, "test.chars": 1.0},
        "reward": 2.5,
    }
    assert scored[1]["rewards"] == {"test.gold": 0.0, "test.chars": 4.0} and scored[1]["reward"] == 2.0
    assert "test.gold" in result.output and "ms/row" in result.output  # the summary table


def test_score_never_overwrites_without_force(runner, registry, reward_file, tmp_path):
    rows = write_jsonl(tmp_path / "rows.jsonl", [{"completion": "4", "answer": "4"}])
    output = tmp_path / "scored.jsonl"
    output.write_text("precious\n")
    refused = runner.invoke(main, ["score", str(reward_file), "-i", str(rows), "-o", str(output)])
    assert refused.exit_code == 2 and "exists; pass --force" in refused.output
    assert output.read_text() == "precious\n"
    forced = runner.invoke(main, ["score", str(reward_file), "-i", str(rows), "-o", str(output), "--force"])
    assert forced.exit_code == 0 and json.loads(output.read_text())["reward"] == 2.5


def test_score_reports_bad_lines_and_missing_columns_before_scoring(runner, registry, reward_file, tmp_path):
    rows = write_jsonl(
        tmp_path / "rows.jsonl",
        [
            {"completion": "4", "answer": "4"},
            '{"completion": "4", "answer": ',
            "[1, 2]",
        ],
    )
    output = tmp_path / "scored.jsonl"
    result = runner.invoke(main, ["score", str(reward_file), "-i", str(rows), "-o", str(output)])
    assert result.exit_code == 2
    assert f"{rows}:2: not valid JSON" in result.output
    assert f"{rows}:3: expected a JSON object, got list" in result.output
    assert not output.exists()

    rows = write_jsonl(tmp_path / "rows2.jsonl", [{"completion": "4", "answer": "4"}, {"completion": "4"}, {"answer": "1"}])
    result = runner.invoke(main, ["score", str(reward_file), "-i", str(rows), "-o", str(output)])
    assert result.exit_code == 2
    assert f"{rows}:2: reward 'test.gold' needs column(s) 'answer', missing from this row" in result.output
    assert f"{rows}:3: no 'completion' field" in result.output
    assert not output.exists()


def test_an_interrupted_write_leaves_no_file_posing_as_complete(tmp_path):
    target = tmp_path / "scored.jsonl"

    def lines():
        yield "{}\n"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, lines())
    assert list(tmp_path.iterdir()) == []


def test_score_reads_csv_through_datasets(runner, registry, reward_file, tmp_path):
    pytest.importorskip("datasets")
    rows = tmp_path / "rows.csv"
    rows.write_text("completion,answer\n4,4\n5,4\n")
    output = tmp_path / "scored.jsonl"
    result = runner.invoke(main, ["score", str(reward_file), "-i", str(rows), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["reward"] for line in output.read_text().splitlines()] == [2.5, 0.5]


def test_brackets_in_an_error_message_are_printed_not_taken_for_markup(tmp_path):
    """'[bench]' in a config error is text: rich markup would swallow it and leave 'a table ,'."""
    config = tmp_path / "set.toml"
    config.write_text('bench = 3\n\n[[rewards]]\nuse = "length.target"\n')
    result = CliRunner().invoke(main, ["bench", str(config), "--prompts", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert "expected a table [bench], got int" in result.output
