"""Reward sets from TOML/YAML/JSON: every mistake reported with file, entry and key; the TRL view."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from grpo_rewards import ConfigError, load_reward_set
from grpo_rewards.config import set_dotted


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_reward_set(path)
    return [str(p) for p in info.value.problems]


def test_valid_toml_set(registry, tmp_path):
    path = write(
        tmp_path,
        "set.toml",
        """
        [[rewards]]
        use = "test.gold"
        weight = 2
        name = "correct"
        [rewards.params]
        gold_column = "solution"

        [[rewards]]
        use = "test.chars"
        weight = -0.01
    """,
    )
    reward_set = load_reward_set(path)
    assert reward_set.names == ["correct", "test.chars"]
    assert reward_set.weights == [2.0, -0.01]
    assert reward_set.rewards[0].params == {"gold_column": "solution"}
    assert reward_set.rewards[1].params == {"scale": 1.0}
    assert reward_set.required_columns() == {"correct": ["solution"]}


def test_yaml_and_json_take_the_same_shape(registry, tmp_path):
    yaml_path = write(
        tmp_path,
        "set.yaml",
        """
        rewards:
          - use: test.chars
            weight: 0.5
            params: {scale: 2}
          - use: test.chars
            name: chars_again
    """,
    )
    json_path = write(
        tmp_path,
        "set.json",
        '{"rewards": [{"use": "test.chars", "weight": 0.5, "params": {"scale": 2}},'
        ' {"use": "test.chars", "name": "chars_again"}]}',
    )
    for path in (yaml_path, json_path):
        reward_set = load_reward_set(path)
        assert reward_set.names == ["test.chars", "chars_again"]
        assert reward_set.weights == [0.5, 1.0]
        assert reward_set.rewards[0].params == {"scale": 2.0}


def test_every_mistake_is_reported_with_file_entry_and_key(registry, tmp_path):
    path = write(
        tmp_path,
        "bad.toml",
        """
        [[rewards]]
        use = "test.chras"

        [[rewards]]
        use = "test.chars"
        wieght = 1.0
        [rewards.params]
        scael = 2

        [[rewards]]
        use = "test.chars"
        weight = nan
        [rewards.params]
        scale = "big"

        [[rewards]]
        use = "test.chars"
        weight = inf
        [rewards.params]
        scale = -1

        [[rewards]]
        use = "test.gold"
        name = "test.chars"
        timeout = 0
    """,
    )
    src = str(path)
    assert problems_of(path) == [
        f"{src}: rewards[0] (use = 'test.chras'): key 'use': unknown reward 'test.chras'; did you mean 'test.chars'?",
        f"{src}: rewards[1] (use = 'test.chars'): key 'wieght': unknown key; did you mean 'weight'?; expected one of allow_uncertified, canary, canary_every, certificate, certificate_thresholds, closed, eval_only, executor, isolation, max_input_chars, name, params, timeout, use, weight, when",
        f"{src}: rewards[1] (use = 'test.chars'): key 'params.scael': unknown parameter; did you mean 'scale'?",
        f"{src}: rewards[2] (use = 'test.chars'): key 'weight': expected a finite number, got nan",
        f"{src}: rewards[2] (use = 'test.chars'): key 'name': duplicate reward name 'test.chars' (also rewards[1]); give one of them a distinct 'name'",
        f"{src}: rewards[2] (use = 'test.chars'): key 'params.scale': expected a number, got str 'big'",
        f"{src}: rewards[3] (use = 'test.chars'): key 'weight': expected a finite number, got inf",
        f"{src}: rewards[3] (use = 'test.chars'): key 'name': duplicate reward name 'test.chars' (also rewards[1]); give one of them a distinct 'name'",
        f"{src}: rewards[3] (use = 'test.chars'): key 'params.scale': must be >= 0, got -1.0",
        f"{src}: rewards[4] (use = 'test.gold'): key 'name': duplicate reward name 'test.chars' (also rewards[1]); give one of them a distinct 'name'",
        f"{src}: rewards[4] (use = 'test.gold'): key 'timeout': expected a positive number of seconds, got 0",
    ]


def test_file_level_problems(registry, tmp_path):
    assert problems_of(tmp_path / "missing.toml") == [f"{tmp_path / 'missing.toml'}: no such file"]
    broken = write(tmp_path, "broken.toml", "[[rewards]\nuse = 1\n")
    (message,) = problems_of(broken)
    assert message.startswith(f"{broken}: is not valid TOML:")
    empty = write(tmp_path, "empty.yaml", "other: 1\n")
    assert problems_of(empty) == [
        f"{empty}: key 'rewards': missing: expected a list of [[rewards]] entries or a path to a reward-set file"
    ]
    not_list = write(tmp_path, "notlist.yaml", "rewards: {use: test.chars}\n")
    assert problems_of(not_list) == [f"{not_list}: rewards: expected a non-empty list of reward entries ([[rewards]] tables)"]
    wrong_suffix = write(tmp_path, "set.ini", "[x]\n")
    assert problems_of(wrong_suffix) == [
        f"{wrong_suffix}: unknown config format '.ini'; expected one of .toml, .yaml, .yml, .json"
    ]


def test_rewards_key_may_point_to_a_reward_set_file_and_plugins_to_local_files(registry, tmp_path):
    write(
        tmp_path,
        "my_rewards.py",
        """
        from grpo_rewards import Sample, hookimpl, reward

        @reward("mine.shout", description="counts exclamation marks")
        def shout(sample: Sample) -> float:
            return float(sample.completion.count("!"))

        @hookimpl
        def register_rewards(register):
            register(shout)
    """,
    )
    write(tmp_path, "set.toml", 'plugins = ["my_rewards.py"]\n[[rewards]]\nuse = "mine.shout"\n')
    trainer_config = write(tmp_path, "train.yaml", "model: {}\nrewards: set.toml\n")
    reward_set = load_reward_set(trainer_config)
    assert reward_set.names == ["mine.shout"]
    assert reward_set.functions()[0](completions=["hi!!"]) == [2.0]


def test_missing_data_columns_are_reported_before_anything_runs(registry, tmp_path):
    path = write(
        tmp_path,
        "set.toml",
        """
        [[rewards]]
        use = "test.gold"
        name = "correct"
    """,
    )
    reward_set = load_reward_set(path)
    with pytest.raises(ConfigError) as info:
        reward_set.check_columns(["prompt", "question"], "data/train.jsonl")
    assert str(info.value) == (
        f"{path}: rewards[0] (correct): key 'params': needs column(s) 'answer' but data/train.jsonl has 'prompt', 'question'"
    )


def test_to_trl_gives_unique_names_and_aligned_weights(registry, tmp_path):
    path = write(
        tmp_path,
        "set.toml",
        """
        [[rewards]]
        use = "test.chars"
        weight = 0.1
        [[rewards]]
        use = "test.chars"
        name = "chars_x2"
        weight = 0.2
        [rewards.params]
        scale = 2
        [[rewards]]
        use = "test.gold"
        weight = 3
    """,
    )
    funcs, weights = load_reward_set(path).to_trl()
    assert [f.__name__ for f in funcs] == ["test.chars", "chars_x2", "test.gold"]
    assert weights == [0.1, 0.2, 3.0]
    # Called exactly as TRL 1.16 calls a reward function, with chat completions and extras.
    kwargs = dict(
        prompts=[[{"role": "user", "content": "Say 4"}]] * 2,
        completions=[[{"role": "assistant", "content": "4"}], [{"role": "assistant", "content": "five"}]],
        completion_ids=[[1], [2, 3]],
        answer=["4", "4"],
        trainer_state=object(),
        log_extra=lambda *a: None,
        log_metric=lambda *a: None,
    )
    assert [f(**kwargs) for f in funcs] == [[1.0, 4.0], [2.0, 8.0], [1.0, 0.0]]
    # Picklable, so they can cross into worker processes (and TRL's accelerate setups).
    clone = pickle.loads(pickle.dumps(funcs[1]))
    assert clone.__name__ == "chars_x2" and clone(completions=["abc"]) == [6.0]


def test_set_dotted_parses_values():
    config: dict = {"grpo": {"beta": 0.0}}
    for assignment in ("grpo.beta=0.04", "output.dir=runs/x", "grpo.bf16=false", "data.columns=[1, 2]"):
        set_dotted(config, assignment)
    assert config == {"grpo": {"beta": 0.04, "bf16": False}, "output": {"dir": "runs/x"}, "data": {"columns": [1, 2]}}
    with pytest.raises(ConfigError):
        set_dotted(config, "no-equals-sign")


def test_a_required_parameter_must_be_given():
    from grpo_rewards.params import Param, ParamErrors, ParamSet

    params = ParamSet((Param("model", str, None, "hub id or local folder", required=True),))
    with pytest.raises(ParamErrors) as info:
        params.resolve({})
    assert str(info.value) == "model: required: hub id or local folder"
    assert params.resolve({"model": "org/rm"}) == {"model": "org/rm"}


def test_schedules_gates_and_eval_only_parse_into_one_weights_at(registry, tmp_path):
    path = write(
        tmp_path,
        "set.toml",
        """
        [[rewards]]
        use = "test.gold"
        name = "correct"
        [rewards.params]
        gold_column = "solution"

        [[rewards]]
        use = "test.chars"
        name = "short"
        weight = { schedule = "linear", start = 0.0, end = 0.5, steps = 200 }
        when = "correct >= 1"
        closed = 0.0

        [[rewards]]
        use = "test.chars"
        name = "watch"
        weight = 0

        [[rewards]]
        use = "test.chars"
        name = "judge"
        eval_only = true
    """,
    )
    reward_set = load_reward_set(path)
    assert reward_set.weights_at(0) == [1.0, 0.0, 0.0, 0.0]
    assert reward_set.weights_at(100) == [1.0, 0.25, 0.0, 0.0]
    assert reward_set.weights == [1.0, 0.5, 0.0, 0.0]  # the end of the schedule
    assert reward_set.schedule_end == 200
    assert reward_set.training_set().names == ["correct", "short", "watch"]  # eval_only is not trained on
    assert reward_set.to_trl()[1] == [1.0, 0.0, 0.0, 0.0]
    gated, open_ = reward_set.apply_gates([[1.0, 3.0, 1.0, 1.0], [0.0, 3.0, 1.0, 1.0], [None, 3.0, 1.0, 1.0]])
    assert open_[:, 1].tolist() == [True, False, False]  # a None closes the gate
    assert gated[0, 1] == 3.0 and gated[1:, 1].tolist() == [0.0, 0.0]  # closed -> min(score, closed)
    assert open_[:, [0, 2, 3]].all()
    pickle.loads(pickle.dumps(reward_set))  # still crosses to worker processes


def test_schedule_gate_and_eval_only_mistakes_name_file_entry_and_key(registry, tmp_path):
    path = write(
        tmp_path,
        "bad.toml",
        """
        [[rewards]]
        use = "test.chars"
        name = "a"
        weight = { schedule = "linear", start = 0.0, steps = 10 }
        when = "b > 0"
        closed = 0

        [[rewards]]
        use = "test.chars"
        name = "b"
        when = "a > 0 and corect >= 1"
        closed = 0

        [[rewards]]
        use = "test.chars"
        name = "c"
        when = "a >"

        [[rewards]]
        use = "test.chars"
        name = "d"
        eval_only = true
        weight = 1

        [[rewards]]
        use = "test.chars"
        name = "e"
        when = "d > 0"
        closed = 0
        weight = { schedule = "cosine", start = 1, end = 0, steps = 5, extra = 1 }
    """,
    )
    src = str(path)
    assert problems_of(path) == [
        f"{src}: rewards[0] (use = 'test.chars'): key 'weight.end': missing: a linear schedule needs start, end, steps",
        f"{src}: rewards[2] (use = 'test.chars'): key 'when': the gate ends too early: expected a comparison such as "
        "`correct >= 1` in 'a >'",
        f"{src}: rewards[3] (use = 'test.chars'): key 'weight': an eval_only reward never enters the advantage: leave "
        "weight out (or set it to 0)",
        f"{src}: rewards[4] (use = 'test.chars'): key 'weight.extra': unknown key for a cosine schedule; expected start, "
        "end, steps",
        f"{src}: rewards[1] (use = 'test.chars'): key 'when': names unknown reward 'corect'; the set has 'a', 'b', 'c', 'd', 'e'",
        f"{src}: rewards[4] (use = 'test.chars'): key 'when': reads 'd', which is eval_only and so not scored during training",
        f"{src}: rewards[0] (use = 'test.chars'): key 'when': gates form a cycle: a -> b -> a",
    ]
