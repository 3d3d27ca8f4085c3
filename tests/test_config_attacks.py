"""Issue 20, classes 18-25: configs, input rows and outputs written the way an attacker would write
them. Each class has the case the issue showed and at least two more of the same kind."""

from __future__ import annotations

import json
import math
import os
import socket
import stat
import textwrap

import numpy as np
import pytest
from click.testing import CliRunner

from grpo_rewards.aggregation import all_aggregations, compute_advantages
from grpo_rewards.cli import main
from grpo_rewards.config import set_dotted
from grpo_rewards.errors import ConfigError, InputError
from grpo_rewards.rewardset import load_reward_set, parse_reward_set
from grpo_rewards.rows import read_rows, write_atomically


def write(path, text: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def strict_json(line: str):
    """json.loads that refuses NaN and Infinity, as every JSON reader outside Python does."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(line, parse_constant=refuse)


# ---- 18: weights escape their bound; non-finite JSON written -------------------------------------
@pytest.mark.parametrize(
    "weight, key",
    [
        ({"schedule": "linear", "start": 0.0, "end": 1e300, "steps": 10}, "weight.end"),  # the case
        ({"schedule": "cosine", "start": -1e9, "end": 0.0, "steps": 10}, "weight.start"),
        ({"schedule": "warmup", "end": 2e6, "steps": 10}, "weight.end"),
        ({"schedule": "piecewise", "points": [[0, 1.0], [10, 1e7]]}, "weight.points[1]"),
    ],
)
def test_a_schedule_cannot_escape_the_weight_bound(registry, weight, key):
    with pytest.raises(ConfigError) as info:
        parse_reward_set([{"use": "test.chars", "weight": weight}])
    assert f"key '{key}': expected a weight between -1e+06 and 1e+06" in str(info.value)


def test_score_writes_no_infinity_when_a_weighted_total_overflows(registry, tmp_path):
    # Each weight and score is legal; their product is not a float. Two rewards of 1e308 overflow the sum too.
    config = write(
        tmp_path / "set.toml",
        """
        [[rewards]]
        use = "test.chars"
        name = "huge"
        weight = 1e6
        params = { scale = 1e303 }

        [[rewards]]
        use = "test.chars"
        name = "a"
        params = { scale = 1e308 }

        [[rewards]]
        use = "test.chars"
        name = "b"
        params = { scale = 1e308 }
        """,
    )
    rows = jsonl(tmp_path / "rows.jsonl", [{"completion": "a"}, {"completion": ""}])
    out = tmp_path / "out.jsonl"
    result = run("score", config, "-i", rows, "-o", out)
    assert result.exit_code == 0, result.output
    scored = [strict_json(line) for line in out.read_text().splitlines()]
    assert scored[0]["rewards"] == {"huge": 1e303, "a": 1e308, "b": 1e308}
    assert scored[0]["reward"] is None  # no total, never Infinity
    assert scored[1]["reward"] == 0.0


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_input_rows_with_non_finite_numbers_are_refused_not_echoed(registry, tmp_path, constant):
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"completion": "a"}\n{"completion": "b", "score": %s}\n' % constant)
    with pytest.raises(InputError, match=rf"rows.jsonl:2: holds {constant}, which is not JSON"):
        read_rows(rows)
    whole = tmp_path / "rows.json"
    whole.write_text('[{"completion": "a", "x": [%s]}]' % constant)
    with pytest.raises(InputError, match="not JSON"):
        read_rows(whole)


# ---- 19: an included reward set's plugin file runs from outside the top config's folder -----------
@pytest.fixture
def marker_plugin(tmp_path):
    """A plugin file that proves it ran by writing a marker file."""

    def make(folder):
        folder.mkdir(parents=True, exist_ok=True)
        marker = tmp_path / "PLUGIN-RAN"
        (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
        return marker

    return make


def test_a_plugin_of_an_included_set_outside_the_top_folder_never_runs(registry, tmp_path, marker_plugin):
    marker = marker_plugin(tmp_path / "shared")
    write(tmp_path / "shared" / "set.toml", 'plugins = ["evil.py"]\n[[rewards]]\nuse = "length.target"\n')
    top = write(tmp_path / "project" / "train.toml", 'rewards = "../shared/set.toml"\n')
    result = run("check", top)
    assert result.exit_code == 2 and "lies outside the config's folder" in result.output
    assert str((tmp_path / "project").resolve()) in result.output
    assert not marker.exists()


def test_an_absolutely_named_include_brings_no_code_either(registry, tmp_path, marker_plugin):
    marker = marker_plugin(tmp_path / "elsewhere")
    included = write(tmp_path / "elsewhere" / "set.toml", 'plugins = ["evil.py"]\n[[rewards]]\nuse = "length.target"\n')
    top = write(tmp_path / "project" / "train.toml", f"rewards = {json.dumps(str(included))}\n")
    result = run("check", top)
    assert result.exit_code == 2 and "lies outside the config's folder" in result.output
    assert not marker.exists()


def test_a_chain_of_includes_is_held_to_the_first_folder(registry, tmp_path, marker_plugin):
    # project/a.toml -> project/sub/b.toml (inside) -> shared/c.toml (outside), whose plugin sits beside it
    marker = marker_plugin(tmp_path / "shared")
    write(tmp_path / "shared" / "c.toml", 'plugins = ["evil.py"]\n[[rewards]]\nuse = "length.target"\n')
    write(tmp_path / "project" / "sub" / "b.toml", 'rewards = "../../shared/c.toml"\n')
    top = write(tmp_path / "project" / "a.toml", 'rewards = "sub/b.toml"\n')
    result = run("check", top)
    assert result.exit_code == 2 and "lies outside the config's folder" in result.output
    assert not marker.exists()


def test_an_included_set_inside_the_top_folder_still_loads_its_plugin(registry, tmp_path):
    plugin = tmp_path / "project" / "shared" / "mine.py"
    plugin.parent.mkdir(parents=True)
    plugin.write_text(
        "from grpo_rewards import hookimpl, reward\n"
        "@reward('mine.one', description='One.')\n"
        "def one(sample):\n    return 1.0\n"
        "@hookimpl\ndef register_rewards(register):\n    register(one)\n"
    )
    write(tmp_path / "project" / "shared" / "set.toml", 'plugins = ["mine.py"]\n[[rewards]]\nuse = "mine.one"\n')
    top = write(tmp_path / "project" / "train.toml", 'rewards = "shared/set.toml"\n')
    assert load_reward_set(top).names == ["mine.one"]


# ---- 20: score -o replaces a FIFO, a device or a symlink with a regular file ----------------------
@pytest.fixture
def scoring_files(registry, tmp_path):
    config = write(tmp_path / "set.toml", '[[rewards]]\nuse = "length.target"\n')
    rows = jsonl(tmp_path / "rows.jsonl", [{"completion": "ok"}])
    return config, rows


def test_score_refuses_to_replace_a_fifo_even_with_force(scoring_files, tmp_path):
    config, rows = scoring_files
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    result = run("score", config, "-i", rows, "-o", fifo, "--force")
    assert result.exit_code == 2 and "is a FIFO, not a regular file" in result.output
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize("dangling", [False, True])
def test_score_refuses_to_replace_a_symlink_even_with_force(scoring_files, tmp_path, dangling):
    config, rows = scoring_files
    target = tmp_path / "precious.txt"
    if not dangling:
        target.write_text("keep me")
    link = tmp_path / "out.jsonl"
    link.symlink_to(target)
    result = run("score", config, "-i", rows, "-o", link, "--force")
    assert result.exit_code == 2 and "is a symbolic link" in result.output
    assert link.is_symlink()
    assert (target.read_text() == "keep me") if not dangling else not target.exists()


def test_score_refuses_to_replace_a_socket(scoring_files, tmp_path):
    config, rows = scoring_files
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        result = run("score", config, "-i", rows, "-o", path, "--force")
        assert result.exit_code == 2 and "is a socket" in result.output
        assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_every_writer_sharing_the_atomic_write_refuses_links(tmp_path):
    """Bench reports and the trainer's run files go through the same writer."""
    from grpo_rewards.trainer.runfiles import RUN_CONFIG_FILE, append_jsonl, write_run_config

    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    (tmp_path / "report.json").symlink_to(target)
    with pytest.raises(InputError, match="symbolic link"):
        write_atomically(tmp_path / "report.json", "x")
    (tmp_path / RUN_CONFIG_FILE).symlink_to(target)
    with pytest.raises(InputError, match="symbolic link"):
        write_run_config(tmp_path, {"a": 1})
    os.mkfifo(tmp_path / "metrics.jsonl")
    with pytest.raises(InputError, match="FIFO"):
        append_jsonl(tmp_path / "metrics.jsonl", [{"step": 1}])
    assert target.read_text() == "{}"


# ---- 21: huge integers, NUL bytes, infinite gate thresholds ----------------------------------------
BIG = str(10**400)


@pytest.mark.parametrize(
    "name, text, entry, key",
    [
        ("w.toml", f'[[rewards]]\nuse = "length.target"\nweight = {BIG}\n', "rewards[0]", "weight"),
        (
            "t.json",
            json.dumps({"rewards": [{"use": "length.target"}]}).replace('"}', f'", "timeout": {BIG}}}'),
            "rewards[0]",
            "timeout",
        ),
        ("p.yaml", f"rewards:\n  - use: length.target\n    params:\n      target: {BIG}\n", "rewards[0].params", "target"),
    ],
)
def test_an_integer_beyond_64_bits_is_a_short_error(registry, tmp_path, name, text, entry, key):
    path = tmp_path / name
    path.write_text(text)
    result = run("check", path)
    assert result.exit_code == 2, result.output
    assert (
        f"{path}: {entry}: key '{key}': is an integer of 401 digits; expected a whole number of at most 64 bits" in result.output
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "text, where",
    [
        ('rewards = "set\\u0000.toml"\n', "rewards"),
        ('plugins = ["p\\u0000.py"]\n[[rewards]]\nuse = "length.target"\n', "plugins[0]"),
        ('[[rewards]]\nuse = "length.target"\nname = "a\\u0000b"\n', "rewards[0]: key 'name'"),
        ('[[rewards]]\nuse = "length.target"\n[rewards.params]\n"un\\u0000it" = "chars"\n', "rewards[0].params"),
    ],
)
def test_a_nul_byte_in_a_config_is_a_short_error(registry, tmp_path, text, where):
    path = tmp_path / "set.toml"
    path.write_text(text)
    result = run("check", path)
    assert result.exit_code == 2 and f"{path}: {where}" in result.output and "NUL character" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("threshold", ["1e999", "-1e999", "1e400"])
def test_a_gate_threshold_must_be_finite(registry, threshold):
    entries = [{"use": "test.gold", "name": "g"}, {"use": "length.target", "closed": -1, "when": f"g >= {threshold}"}]
    with pytest.raises(ConfigError, match=f"key 'when': '{threshold}' is not a finite number"):
        parse_reward_set(entries)


def test_a_set_override_is_held_to_the_same_shape():
    with pytest.raises(ConfigError, match="grpo: key 'max_steps': is an integer of 401 digits"):
        set_dotted({}, f"grpo.max_steps={BIG}")
    with pytest.raises(ConfigError, match="NUL character"):
        set_dotted({}, 'output.dir="a\\u0000b"')


# ---- 22: input columns that collide with score's own; completion_ids that are not ids ---------------
@pytest.mark.parametrize("column", ["reward", "rewards"])
def test_an_input_column_score_would_overwrite_is_refused(scoring_files, tmp_path, column):
    config, _ = scoring_files
    rows = jsonl(tmp_path / "in.jsonl", [{"completion": "ok"}, {"completion": "ok", column: "my label"}])
    out = tmp_path / "out.jsonl"
    result = run("score", config, "-i", rows, "-o", out)
    assert result.exit_code == 2 and f"in.jsonl:2: has column(s) '{column}', where score writes its results" in result.output
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_a_line_column_is_refused_not_dropped(tmp_path, suffix):
    path = tmp_path / f"in{suffix}"
    rows = [{"completion": "a"}, {"completion": "b", "__line__": 7}]
    if suffix == ".jsonl":
        jsonl(path, rows)
    else:
        path.write_text(json.dumps(rows))
    with pytest.raises(InputError, match="2: .*has a column '__line__'"):
        read_rows(path)


@pytest.mark.parametrize(
    "ids, problem",
    [
        ("abc", "'completion_ids' must be a list of token ids (integers), got str"),  # the case
        ([1.5, 2], "'completion_ids'[0] must be a token id (an integer >= 0), got float"),
        ([1, True], "'completion_ids'[1] must be a token id (an integer >= 0), got bool"),
        ({"a": 1}, "'completion_ids' must be a list of token ids (integers), got dict"),
        ([3, -1], "'completion_ids'[1] must be a token id (an integer >= 0), got int"),
    ],
)
def test_completion_ids_must_be_token_ids(registry, tmp_path, ids, problem):
    config = write(tmp_path / "set.toml", '[[rewards]]\nuse = "length.target"\nparams = { unit = "tokens", target = 3 }\n')
    rows = jsonl(tmp_path / "in.jsonl", [{"completion": "abc", "completion_ids": ids}])
    result = run("score", config, "-i", rows, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 2 and f"in.jsonl:1: {problem}" in result.output


@pytest.mark.parametrize("ids", ["abc", [0.5, 1.0], [True, False]])
def test_the_bench_reads_completion_ids_the_same_way(ids):
    from grpo_rewards.bench.data import group_rows

    rows = [
        {"prompt": "p", "completion": "abc", "completion_ids": [1, 2, 3]},
        {"prompt": "p", "completion": "abc", "completion_ids": ids},
    ]
    with pytest.raises(InputError, match="held.jsonl:2: 'completion_ids'"):
        group_rows([{**row, "__line__": i + 1} for i, row in enumerate(rows)], "held.jsonl")


# ---- 24: a schedule longer than max_steps is a warning -------------------------------------------
@pytest.mark.parametrize(
    "weight, steps, last",
    [
        ('{ schedule = "linear", start = 0.0, end = 1.0, steps = 200 }', 3, "0.01"),
        ('{ schedule = "piecewise", points = [[0, 1.0], [100, 0.0]] }', 3, "0.98"),
        ('{ schedule = "warmup", end = 2.0, steps = 10 }', 5, "0.8"),
    ],
)
def test_a_smoke_run_shorter_than_a_schedule_is_warned_about(registry, tmp_path, weight, steps, last):
    from grpo_rewards.trainer.config import load_trainer_config

    config = write(
        tmp_path / "train.toml",
        f"""
        [data]
        source = "rows.jsonl"

        [[rewards]]
        use = "test.chars"
        weight = {weight}

        [grpo]
        max_steps = 100
        """,
    )
    loaded = load_trainer_config(config, [f"grpo.max_steps={steps}"])
    assert len(loaded.warnings) == 1
    assert f"but grpo.max_steps is {steps}: it will not finish (the last weight used is {last}" in loaded.warnings[0]


# ---- 25: a gate on a penalty pays failing the gate ------------------------------------------------
PENALTY_GATED = [
    {"use": "test.gold", "name": "correct"},
    # DAPO's overlong punishment, declared in [-1, 0]: counted only on correct answers
    {
        "use": "length.overlong",
        "name": "overlong",
        "weight": 3.0,
        "when": "correct >= 1",
        "params": {"max_length": 10, "buffer": 5, "unit": "chars"},
    },
]


def test_failing_a_gate_never_pays_more_than_passing_it_in_any_mode(registry):
    reward_set = parse_reward_set(PENALTY_GATED)
    # per group: a right answer that rambles (gate open, full penalty) and a wrong one that rambles
    # (gate closed): escaping the penalty by being wrong must not pay.
    raw = np.array([[1.0, -1.0], [0.0, -1.0], [1.0, -0.4], [0.0, -1.0]])
    gated, open_ = reward_set.apply_gates(raw)
    assert open_[:, 1].tolist() == [True, False, True, False]
    assert gated[:, 1].tolist() == [-1.0, -1.0, -0.4, -1.0]  # closed: its lowest declared value
    for aggregation in all_aggregations():
        advantages = compute_advantages(gated, reward_set.weights, 2, aggregation).advantages
        assert advantages[1] <= advantages[0] and advantages[3] <= advantages[2], aggregation.label


def test_score_and_bench_apply_the_same_closed_value(registry, tmp_path):
    from grpo_rewards.scoring import Row, score_rows

    reward_set = parse_reward_set(PENALTY_GATED)
    rows = [Row("x" * 40, columns={"answer": "7"}), Row("7", columns={"answer": "7"})]
    result = score_rows(reward_set, rows)
    # the wrong, overlong answer: 0 * 1 + 3 * (-1); the right short one: 1 + 3 * 0
    assert result.total == [-3.0, 1.0]
    assert result.matrix().tolist() == reward_set.apply_gates(result.matrix(gated=False))[0].tolist()


def test_an_unbounded_penalty_needs_a_declared_closed_value(registry):
    entries = [
        {"use": "test.gold", "name": "correct"},
        {"use": "length.target", "name": "length", "weight": 3.0, "when": "correct >= 1"},
        {"use": "repetition.ngram", "name": "loops", "when": "correct >= 1"},
    ]
    with pytest.raises(ConfigError) as info:
        parse_reward_set(entries)
    message = str(info.value)
    assert "rewards[1] (use = 'length.target'): key 'when': 'length.target' has no lowest value (-inf)" in message
    assert "rewards[2] (use = 'repetition.ngram'): key 'when'" in message and "declare `closed = <number>`" in message
    entries[1]["closed"], entries[2]["closed"] = 0.0, -1.0
    reward_set = parse_reward_set(entries)
    # closed, the raw length still counts as a penalty (min(score, 0)): a wrong ramble is not spared
    gated, _ = reward_set.apply_gates(np.array([[0.0, -950.0, -0.2], [0.0, -4.0, -0.9], [1.0, -4.0, -0.5]]))
    assert gated[:, 1].tolist() == [-950.0, -4.0, -4.0]
    assert gated[:, 2].tolist() == [-1.0, -1.0, -0.5]


def test_gdpo_no_longer_gives_a_closed_row_its_groups_mean(registry):
    # Under normalize_then_sum a NaN used to leave the row out of the group's statistics, which is
    # the group's mean after standardising: the wrong answer sat above the right one that paid the penalty.
    reward_set = parse_reward_set(PENALTY_GATED)
    raw = np.array([[1.0, -1.0], [1.0, 0.0], [0.0, -1.0], [1.0, -0.5]])
    gated, open_ = reward_set.apply_gates(raw)
    gdpo = [a for a in all_aggregations() if a.is_gdpo][0]
    advantages = compute_advantages(gated, reward_set.weights, 4, gdpo).advantages
    assert advantages[2] == min(advantages)
    old = compute_advantages(np.where(open_, raw, np.nan), reward_set.weights, 4, gdpo).advantages
    assert old[2] > old[0]  # what main did (a closed gate as NaN): the wrong answer beat a right one


def test_a_closed_gate_keeps_a_none_a_none(registry):
    reward_set = parse_reward_set(PENALTY_GATED)
    gated, _ = reward_set.apply_gates(np.array([[0.0, np.nan]]))
    assert math.isnan(gated[0, 1])


def test_check_says_what_a_closed_gate_gives(registry, tmp_path):
    config = write(
        tmp_path / "set.toml",
        """
        [[rewards]]
        use = "test.gold"
        name = "correct"

        [[rewards]]
        use = "length.overlong"
        when = "correct >= 1"

        [[rewards]]
        use = "length.target"
        when = "correct >= 1"
        closed = -5
        """,
    )
    result = run("check", config)
    assert result.exit_code == 0, result.output
    assert "gate: length.overlong counts when `correct >= 1`; where closed it gives -1 (its lowest value)" in result.output
    assert "where closed it gives min(score, -5) (closed = -5)" in result.output


def test_closed_without_a_gate_or_not_a_number_is_refused(registry):
    with pytest.raises(ConfigError) as info:
        parse_reward_set([{"use": "test.chars", "closed": 0}, {"use": "test.gold", "closed": "low", "when": "test.chars > 1"}])
    assert "rewards[0] (use = 'test.chars'): key 'closed': says what a closed gate gives, but the entry has no gate" in str(
        info.value
    )
    assert "rewards[1] (use = 'test.gold'): key 'closed': expected a finite number, got 'low'" in str(info.value)
