"""Trainer config validation: every kind of mistake is reported, with file/section/key, before
any model or tokenizer is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from grpo_rewards.trainer import model as model_module
from grpo_rewards.trainer.config import load_trainer_config
from grpo_rewards.trainer.run import RunError, train

from grpo_rewards.cli import main
from grpo_rewards.config import ConfigError
from tests.trainer_support import CHARS_AND_LABEL as REWARDS
from tests.trainer_support import write_run_files

pytest.importorskip("trl")


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if anything tries to load a model or tokenizer."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model or tokenizer was loaded before the config was fully checked")

    for name in ("load_model", "load_tokenizer", "local_folder", "converted_gguf"):
        monkeypatch.setattr(model_module, name, refuse)


def config_file(tmp_path: Path, **parts: str) -> Path:
    return write_run_files(tmp_path, tmp_path / "no-model-here", rewards=parts.pop("rewards", REWARDS), **parts)


def problems_of(exc: ConfigError) -> list[tuple[str, str | None]]:
    return [(p.entry, p.key) for p in exc.problems]


def test_a_valid_config_resolves_defaults_and_the_reward_set(tmp_path):
    config = load_trainer_config(config_file(tmp_path), ["grpo.max_steps=7", "output.logging_steps=2"])
    assert config.reward_set.names == ["chars", "label"]
    assert config.reward_set.weights == [1.0, 0.5]
    assert config.grpo["max_steps"] == 7 and config.output.logging_steps == 2
    assert config.grpo["num_generations"] == 4 and config.grpo["learning_rate"] == 1e-3
    assert config.grpo["activation_checkpointing"] is False  # small-run default
    assert config.data.template_fields() == ["text"]


def test_a_bench_table_may_ride_along_in_a_trainer_config(tmp_path, no_model_load):
    """One file describes the run and how to benchmark it: the trainer leaves [bench] to `bench`."""
    path = config_file(tmp_path)
    path.write_text(path.read_text() + "\n[bench]\nnum_generations = 4\n")
    assert load_trainer_config(path).reward_set.names == ["chars", "label"]


def test_unknown_keys_everywhere_are_reported_together_with_suggestions(tmp_path, no_model_load):
    path = config_file(
        tmp_path,
        grpo="num_generation = 4\noutput_dir = 'x'\ntemperature = 'hot'",
        output="loging_steps = 3",
        model_extra="dtyp = 'float32'",
        data_extra="templte = 'x'",
    )
    with pytest.raises(ConfigError) as info:
        train(path)
    found = problems_of(info.value)
    assert ("grpo", "num_generation") in found
    assert ("grpo", "output_dir") in found
    assert ("grpo", "temperature") in found
    assert ("output", "loging_steps") in found
    assert ("model", "dtyp") in found
    assert ("data", "templte") in found
    text = str(info.value)
    assert str(path) in text
    assert "did you mean 'num_generations'" in text
    assert "did you mean 'logging_steps'?" in text
    assert "did you mean 'dtype'?" in text
    assert "use output.dir" in text
    assert "expected a number, got 'hot'" in text


def test_grpo_fields_follow_the_installed_trl(tmp_path):
    import dataclasses

    from trl import GRPOConfig

    some_field = next(f.name for f in dataclasses.fields(GRPOConfig) if f.name == "multi_objective_aggregation")
    config = load_trainer_config(config_file(tmp_path, grpo=f'{some_field} = "normalize_then_sum"'))
    assert config.grpo[some_field] == "normalize_then_sum"
    with pytest.raises(ConfigError) as info:
        load_trainer_config(config_file(tmp_path, grpo="multi_objective_agregation = 'sum_then_normalize'"))
    assert "did you mean 'multi_objective_aggregation'?" in str(info.value)


def test_generation_batch_not_divisible_by_num_generations(tmp_path, no_model_load):
    path = config_file(tmp_path, grpo="num_generations = 3")  # 8 x 1 x 1 = 8 completions, groups of 3
    with pytest.raises(ConfigError) as info:
        train(path)
    assert problems_of(info.value) == [("grpo", "per_device_train_batch_size")]
    assert "8 x 1 x 1 = 8 is not divisible by num_generations = 3" in str(info.value)
    path = config_file(tmp_path, grpo="num_generations = 6\ngeneration_batch_size = 16")
    with pytest.raises(ConfigError, match="generation_batch_size = 16 is not divisible by num_generations = 6"):
        train(path)


def test_trl_own_checks_run_before_the_model(tmp_path, no_model_load):
    path = config_file(tmp_path, grpo="auto_find_batch_size = true")
    with pytest.raises(ConfigError) as info:
        train(path)
    assert problems_of(info.value) == [("grpo", None)]
    assert "auto_find_batch_size is not supported by GRPO" in str(info.value)


def test_a_reward_needing_a_column_the_data_lacks(tmp_path, no_model_load):
    rewards = REWARDS.replace('name = "label"', 'name = "label"\nparams = { column = "gold" }')
    with pytest.raises(ConfigError) as info:
        train(config_file(tmp_path, rewards=rewards))
    assert problems_of(info.value) == [("rewards[1] (label)", "params")]
    assert "needs column(s) 'gold'" in str(info.value) and "'label', 'text'" in str(info.value)


def test_template_columns_and_column_mapping_are_checked(tmp_path, no_model_load):
    path = config_file(tmp_path, data_extra='columns = { body = "txt" }')
    with pytest.raises(ConfigError) as info:
        train(path)
    assert problems_of(info.value) == [("data.columns", "body")]
    assert "did you mean 'text'?" in str(info.value)

    path = config_file(tmp_path, data_extra='columns = { body = "text" }')
    with pytest.raises(ConfigError) as info:  # the template still says {text}, renamed away
        train(path)
    assert problems_of(info.value) == [("data", "template")]
    assert "column 'text' is not in" in str(info.value)


def test_unknown_reward_and_bad_reward_params(tmp_path, no_model_load):
    rewards = '[[rewards]]\nuse = "tiny.chrs"\n\n[[rewards]]\nuse = "tiny.label"\nparams = { colum = "x" }\n'
    with pytest.raises(ConfigError) as info:
        train(config_file(tmp_path, rewards=rewards))
    found = problems_of(info.value)
    assert found[0][1] == "use" and "tiny.chars" in str(info.value)
    assert found[1][1] == "params.colum"


def test_lora_keys_are_checked_against_peft(tmp_path):
    path = config_file(tmp_path, model_extra="[model.lora]\nr = 8\nalpha = 16\nrank = 4\ndropout = 1.5")
    with pytest.raises(ConfigError) as info:
        load_trainer_config(path)
    found = problems_of(info.value)
    assert ("model.lora", "rank") in found and ("model.lora", "dropout") in found
    config = load_trainer_config(config_file(tmp_path, model_extra="[model.lora]\nr = 8\nalpha = 16\nuse_rslora = true"))
    assert config.model.lora == {
        "r": 8,
        "lora_alpha": 16,
        "lora_dropout": 0.05,
        "target_modules": "all-linear",
        "use_rslora": True,
    }


def test_missing_data_and_model(tmp_path, no_model_load):
    path = config_file(tmp_path, data_extra="")
    text = path.read_text().replace('source = "data.jsonl"', 'source = "missing.jsonl"')
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        train(path)
    assert problems_of(info.value) == [("data", "source")]
    assert "no such file: missing.jsonl" in str(info.value)


def test_output_folder_is_never_clobbered(tmp_path, no_model_load):
    path = config_file(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(RunError, match="is not empty; use --resume"):
        train(path)
    with pytest.raises(RunError, match="does not look like a grpo-rewards run"):
        train(path, overwrite=True)
    with pytest.raises(RunError, match="no checkpoint-"):
        train(path, resume=True)
    assert (out / "precious.txt").read_text() == "keep me"


def test_cli_reports_config_problems_without_a_traceback(tmp_path, no_model_load):
    path = config_file(tmp_path, grpo="num_generation = 4")
    result = CliRunner().invoke(main, ["train", str(path), "--set", "grpo.max_stepz=3"])
    assert result.exit_code == 2
    assert "2 problem(s) in the config" in result.output
    assert "key 'num_generation'" in result.output and "key 'max_stepz'" in result.output
    assert "Traceback" not in result.output


def test_cli_help_does_not_import_torch():
    import subprocess
    import sys

    script = (
        "import sys; from click.testing import CliRunner; from grpo_rewards.cli import main; "
        "r = CliRunner().invoke(main, ['train', '--help']); "
        "print(r.exit_code, 'torch' in sys.modules, 'trl' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "False", "False"]


def test_evaluation_needs_held_out_data(tmp_path, no_model_load):
    with pytest.raises(ConfigError) as info:
        train(config_file(tmp_path, grpo='eval_strategy = "steps"'))
    assert problems_of(info.value) == [("grpo", "eval_strategy")]
    config = load_trainer_config(config_file(tmp_path, grpo='eval_strategy = "steps"', data_extra="eval_fraction = 0.25"))
    assert config.data.eval_fraction == 0.25


def test_an_unsupported_trl_is_named_before_training():
    from grpo_rewards.trainer.compat import SUPPORTED_TRL, check_trl

    from grpo_rewards.errors import RunError

    trl = pytest.importorskip("trl")
    check_trl(trl.GRPOTrainer)  # the installed TRL is one we support

    class Older:
        def _calculate_rewards(self, inputs, prompts, completions):
            return None

        def log(self, logs, start_time=None):
            return None

    with pytest.raises(RunError) as info:
        check_trl(Older, "1.9.0")
    assert str(info.value) == (
        "the installed TRL 1.9.0 is not supported (GRPOTrainer._calculate_rewards takes (inputs, prompts, completions), "
        f"expected (inputs, prompts, completions, completion_ids_list)); grpo-rewards works with trl{SUPPORTED_TRL}: "
        f"pip install 'trl{SUPPORTED_TRL}'"
    )
    with pytest.raises(RunError, match="GRPOTrainer.log does not exist"):
        check_trl(type("NoLog", (), {"_calculate_rewards": trl.GRPOTrainer._calculate_rewards}), "2.0.0")
