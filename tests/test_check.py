"""`check` and `train --dry-run`: one validation path that finds, in one pass, every mistake that
`train` and `bench` would refuse, with file, line, entry and key, before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grpo_rewards.cli import main

ROWS = [{"question": "2+2?", "answer": "4"}, {"question": "3+3?", "answer": "6"}]


@pytest.fixture
def runner():
    return CliRunner()


def trainer_config(tmp_path: Path, body: str, *, rewards: str = '[[rewards]]\nuse = "test.gold"\n') -> Path:
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    path = tmp_path / "run.toml"
    path.write_text(rewards + '\n[data]\nsource = "rows.jsonl"\ntemplate = "Solve: {question}"\n' + body)
    return path


def check(runner, path: Path, *args: str):
    return runner.invoke(main, ["check", str(path), *args])


def test_a_grpo_field_typo_is_named_with_its_line(runner, registry, tmp_path):
    path = trainer_config(tmp_path, "\n[grpo]\nmax_step = 5\n")
    result = check(runner, path)
    assert result.exit_code == 2
    assert (
        f"{path}:9: grpo: key 'max_step': not a GRPOConfig field of the installed TRL; did you mean 'max_steps'?" in result.output
    )


def test_a_template_column_typo_is_checked_against_offline_data(runner, registry, tmp_path):
    path = trainer_config(tmp_path, "")
    path.write_text(path.read_text().replace("{question}", "{questoin}"))
    result = check(runner, path)
    assert result.exit_code == 2
    assert "data: key 'template': column 'questoin' is not in rows.jsonl; did you mean 'question'?" in result.output


def test_a_reward_column_the_data_lacks(runner, registry, tmp_path):
    path = trainer_config(tmp_path, "", rewards='[[rewards]]\nuse = "test.gold"\nparams = { gold_column = "gold" }\n')
    result = check(runner, path)
    assert result.exit_code == 2 and "'gold'" in result.output and "rows.jsonl" in result.output


def test_an_unknown_top_level_table(runner, registry, tmp_path):
    path = tmp_path / "set.toml"
    path.write_text('[[rewards]]\nuse = "test.gold"\n\n[bnech]\nseed = 1\n')
    result = check(runner, path)
    assert result.exit_code == 2
    assert f"{path}:4: key 'bnech': unknown key; did you mean 'bench'?" in result.output


def test_a_bench_key_typo(runner, registry, tmp_path):
    path = tmp_path / "set.toml"
    path.write_text('[[rewards]]\nuse = "test.gold"\n\n[bench]\nnum_generation = 4\n')
    result = check(runner, path)
    assert result.exit_code == 2
    assert f"{path}:5: bench: key 'num_generation': unknown key; did you mean 'num_generations'?" in result.output


def test_a_dedented_yaml_params_is_not_silently_dropped(runner, registry, tmp_path):
    path = tmp_path / "set.yaml"
    path.write_text("rewards:\n  - use: test.chars\n    weight: 1.0\nparams:\n  scale: 2.0\n")
    result = check(runner, path)
    assert result.exit_code == 2
    assert f"{path}:4: key 'params': unknown key" in result.output
    assert "it is dedented; indent it under its `- use:` item" in result.output


def test_a_toml_table_that_swallowed_the_keys_after_it(runner, registry, tmp_path):
    path = tmp_path / "set.toml"
    path.write_text('[[rewards]]\nuse = "test.chars"\n[rewards.params]\nscale = 2.0\nweight = 0.5\n')
    result = check(runner, path)
    assert result.exit_code == 2
    assert f"{path}:5: rewards[0] (use = 'test.chars'): key 'params.weight': unknown parameter" in result.output
    assert "'weight' is a key of rewards[0], but it follows the [rewards.params] header (line 3)" in result.output


def test_a_key_swallowed_by_the_bench_table(runner, registry, tmp_path):
    (tmp_path / "rewards.toml").write_text('[[rewards]]\nuse = "test.gold"\n')
    path = tmp_path / "bench.toml"
    path.write_text('[bench]\nseed = 3\nrewards = "rewards.toml"\n')
    result = check(runner, path)
    assert result.exit_code == 2
    assert "'rewards' is a key of the top level, but it follows the [bench] header (line 1)" in result.output


def test_every_mistake_in_one_pass(runner, registry, tmp_path):
    path = trainer_config(tmp_path, "\n[grpo]\nmax_step = 5\n\n[bnech]\nseed = 1\n\n[bench]\nsed = 2\n")
    path.write_text(path.read_text().replace("{question}", "{questoin}"))
    result = check(runner, path)
    assert result.exit_code == 2 and "4 problem(s) in the config" in result.output
    for key in ("'max_step'", "'bnech'", "'sed'", "'template'"):
        assert key in result.output


def test_a_reward_that_failed_to_register_is_named(runner, registry, tmp_path):
    (tmp_path / "mine.py").write_text(
        "from grpo_rewards import Param, hookimpl, reward\n"
        "@reward('mine.score', description='d', params=[Param('level', int, 1, 'h')])\n"
        "def score(sample):\n    return 1.0\n"
        "@hookimpl\ndef register_rewards(register):\n    register(score)\n"
    )
    path = tmp_path / "set.toml"
    path.write_text('plugins = ["mine.py"]\n\n[[rewards]]\nuse = "mine.score"\n')
    result = check(runner, path)
    assert result.exit_code == 2
    assert "reward 'mine.score' failed to register: plugin 'local:mine.py'" in result.output
    assert "plugins[0]: reward 'mine.score' not registered" in result.output


def test_a_plugin_file_that_fails_to_import_is_an_error(runner, registry, tmp_path):
    (tmp_path / "broken.py").write_text("import no_such_module_here\n")
    path = tmp_path / "set.toml"
    path.write_text('plugins = ["broken.py"]\n\n[[rewards]]\nuse = "test.gold"\n')
    result = check(runner, path)
    assert result.exit_code == 2
    assert "plugins[0]: failed to load" in result.output and "No module named 'no_such_module_here'" in result.output


def test_schedules_against_max_steps_and_gates_are_shown(runner, registry, tmp_path):
    path = trainer_config(
        tmp_path,
        "\n[grpo]\nmax_steps = 10\n",
        rewards='[[rewards]]\nuse = "test.gold"\nname = "gold"\n\n[[rewards]]\nuse = "test.chars"\n'
        'weight = { schedule = "linear", start = 0.0, end = 1.0, steps = 50 }\nwhen = "gold >= 1"\nclosed = 0\n',
    )
    result = check(runner, path)
    assert result.exit_code == 0, result.output
    assert "the weight schedule runs to step 50 but grpo.max_steps is 10" in result.output
    assert "linear 0 -> 1 over 50" in result.output
    assert "gold >= 1" in result.output and "min(score, 0)" in result.output


def test_train_dry_run_prints_what_would_run_and_loads_nothing(runner, registry, tmp_path):
    path = trainer_config(tmp_path, "\n[grpo]\nmax_steps = 3\nnum_generations = 2\nper_device_train_batch_size = 2\n")
    result = runner.invoke(main, ["train", str(path), "--dry-run", "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "training: 3 steps, 2 completions per prompt" in result.output
    assert "data: rows.jsonl [train] 2 rows" in result.output
    assert "dry run: nothing was loaded or trained" in result.output
    assert not (tmp_path / "out").exists()
    bad = runner.invoke(main, ["train", str(path), "--dry-run", "--set", "grpo.max_step=3"])
    assert bad.exit_code == 2 and "did you mean 'max_steps'?" in bad.output


def test_problems_of_an_included_reward_set_file_keep_their_own_file(runner, registry, tmp_path):
    (tmp_path / "set.toml").write_text('[[rewards]]\nuse = "test.gold"\nweight = "heavy"\n')
    path = tmp_path / "bench.toml"
    path.write_text('rewards = "set.toml"\n\n[bench]\nseed = 1\n')
    result = check(runner, path)
    assert result.exit_code == 2
    assert f"{tmp_path / 'set.toml'}:3: rewards[0] (use = 'test.gold'): key 'weight'" in result.output


def test_train_reports_every_problem_in_one_pass_too(runner, registry, tmp_path):
    path = trainer_config(tmp_path, "\n[grpo]\nmax_step = 5\n")
    path.write_text(path.read_text().replace("{question}", "{questoin}"))
    result = runner.invoke(main, ["train", str(path), "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 2 and "2 problem(s) in the config" in result.output
    assert "'max_step'" in result.output and "'questoin'" in result.output
    assert not (tmp_path / "out").exists()


def test_the_trainers_own_tables_are_checked_not_refused(runner, registry, tmp_path):
    """[dynamic_sampling] and [canaries] are the trainer's tables: known to check, their keys checked."""
    path = trainer_config(tmp_path, "\n[dynamic_sampling]\nenabled = true\n\n[canaries]\nwindow = 5\n")
    result = check(runner, path)
    assert result.exit_code == 0, result.output
    path.write_text(path.read_text().replace("enabled = true", "enabeld = true"))
    result = check(runner, path)
    assert result.exit_code == 2
    assert "dynamic_sampling: key 'enabeld': unknown key; did you mean 'enabled'?" in result.output
