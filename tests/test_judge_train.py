"""The three judges in a real training run (tiny random Llama) against the loopback judge endpoint:
every step's rows are judged, groups arrive whole, the statistics and each rubric criterion reach the
logs, and only the judge with a valid certificate is given weight (fail closed)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from click.testing import CliRunner  # noqa: E402
from grpo_rewards.trainer.run import train  # noqa: E402

from grpo_rewards.cli import main as cli  # noqa: E402
from tests.judge_support import JudgeServer  # noqa: E402
from tests.trainer_support import build_tiny_model, write_run_files  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.slow]  # about 50 s: TRL and a tiny model


def certify_reference(folder, common):
    """A certificate for the reference judge as the run configures it, from a small own-case label set."""
    labels = folder / "labels.jsonl"
    rows = [
        {"prompt": f"Sum {k}", "completion": text, "text": str(k), "label": label}
        for k in range(10, 16)
        for text, label in ((f"The total is {k}.", 1), (f"The total is {k + 2}.", 0))
    ]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = folder / "reference.toml"
    config.write_text(
        f'[[rewards]]\nuse = "judge.reference"\nname = "reference"\n[rewards.params]\n{common}reference_column = "text"\norders = "answer_first"\n'
    )
    result = CliRunner().invoke(
        cli, ["judge", "certify", str(config), "--labels", str(labels), "-o", str(folder / "reference.json")]
    )
    assert result.exit_code == 0, result.output


def test_judges_train_with_the_others_and_only_the_certified_one_pays(tmp_path):
    with JudgeServer() as server:
        common = f'base_url = "{server.base_url}"\nmodel = "rule-judge"\nretries = 0\n'
        certify_reference(tmp_path, common)
        certified = len(server.requests)  # the certification's calls, before training
        rewards = (
            '[[rewards]]\nuse = "tiny.chars"\nname = "chars"\n\n'
            f'[[rewards]]\nuse = "judge.rubric"\nname = "rubric"\nweight = 0.5\n[rewards.params]\n{common}'
            'criteria = ["fox: mentions the fox", "dog=2: mentions the dog"]\n\n'
            f'[[rewards]]\nuse = "judge.group"\nname = "group"\nweight = 0.5\nallow_uncertified = true\n[rewards.params]\n{common}group_size = 4\n\n'
            f'[[rewards]]\nuse = "judge.reference"\nname = "reference"\nweight = 0.25\ncertificate = "reference.json"\n[rewards.params]\n{common}'
            'reference_column = "text"\norders = "answer_first"\n'
        )
        config = write_run_files(tmp_path, build_tiny_model(tmp_path / "model"), rewards=rewards, grpo="max_steps = 2")
        said: list[str] = []
        train(config, log=said.append)
        prompts = [r["body"]["messages"][-1]["content"] for r in server.requests[certified:]]
    warnings = [line for line in said if line.startswith("warning:")]
    assert any("rewards[1] (rubric): runs as a metric only (weight 0)" in w and "no certificate" in w for w in warnings), said
    assert any("rewards[2] (group): trains uncertified (allow_uncertified = true)" in w for w in warnings), said
    assert not any("(reference)" in w for w in warnings)
    records = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "rewards/rubric/mean" in r]
    assert len(steps) == 2, records[-1]
    for record in steps:
        assert record["rewards/rubric/weight"] == 0.0 and record["rewards/group/weight"] == 0.5
        assert record["rewards/reference/weight"] == 0.25
        for name in ("rubric", "group", "reference"):
            assert record[f"rewards/{name}/error_rate"] == 0.0 and record[f"rewards/{name}/none_rate"] == 0.0, name
        for criterion in ("fox", "dog"):  # each criterion is its own metric, beside the reward's
            assert 1 <= record[f"rubric/{criterion}"] <= 5, sorted(record)
    # per step 8 rows: two groups of 4, each judged whole in two orders (never merged, never split)
    groups = [p for p in prompts if "Score each of the" in p]
    assert len(groups) == 2 * 2 * 2 and all("candidate_4" in p and "candidate_5" not in p for p in groups)
    assert 0 < len(prompts) - len(groups) <= 2 * (8 + 8)  # rubric and reference: identical rows are judged once


def test_judges_on_a_real_model_train_served_and_in_process(tmp_path, monkeypatch):
    """The judge model is the tiny random Llama too: the reference judge over loopback HTTP from the
    server of `judge serve`, the rubric and group judges in-process (base_url = "local"); guided
    verdicts parse, usage reaches the logs, and the API key reaches none of the run's files."""
    pytest.importorskip("starlette")
    from grpo_rewards.plugins.judge.local_model import LocalModel
    from grpo_rewards.plugins.judge.local_server import LocalServer, stop_local_servers

    secret = "sk-train-judge-key-5a4b3c2d1e"
    monkeypatch.setenv("TRAIN_JUDGE_KEY", secret)
    model = build_tiny_model(tmp_path / "model")
    judge_model = str(build_tiny_model(tmp_path / "judge"))
    server = LocalServer(LocalModel(judge_model, "cpu"), judge_model).start()
    try:
        # generous time limits: the judge shares the CPU with the training step (no timed assert here)
        common = (
            f'model = "{judge_model}"\nretries = 0\ndevice = "cpu"\napi_key_env = "TRAIN_JUDGE_KEY"\n'
            "deadline = 280.0\nrequest_timeout = 280.0\n"
        )
        rewards = (
            '[[rewards]]\nuse = "tiny.chars"\nname = "chars"\n\n'
            f'[[rewards]]\nuse = "judge.rubric"\nname = "rubric"\nweight = 0.5\n[rewards.params]\nbase_url = "local"\n{common}'
            'criteria = ["fox: mentions the fox", "dog=2: mentions the dog"]\n\n'
            f'[[rewards]]\nuse = "judge.group"\nname = "group"\nweight = 0.5\n[rewards.params]\nbase_url = "local"\n{common}'
            "group_size = 4\nscale_max = 3\n\n"
            f'[[rewards]]\nuse = "judge.reference"\nname = "reference"\nweight = 0.5\n[rewards.params]\n'
            f'base_url = "{server.base_url}"\nguided = "choice"\n{common}reference_column = "text"\n'
        )
        config = write_run_files(tmp_path, model, rewards=rewards, grpo="max_steps = 2")
        train(config)
    finally:
        server.stop()
        stop_local_servers()
    records = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "rewards/rubric/mean" in r]
    assert len(steps) == 2, records[-1]
    for record in steps:
        for name in ("rubric", "group", "reference"):
            assert record[f"rewards/{name}/none_rate"] == 0.0 and record[f"rewards/{name}/error_rate"] == 0.0, name
            assert 0.0 <= record[f"rewards/{name}/mean"] <= 1.0
            assert (
                record[f"rewards/{name}/calls"] >= 1 and record[f"rewards/{name}/tokens"] > 100 * record[f"rewards/{name}/calls"]
            )
        assert record["rewards/group/calls"] == 2 * 2  # two groups of 4, each judged whole in two orders
    written = "".join(
        p.read_text(errors="replace") for p in (tmp_path / "out").rglob("*") if p.is_file() and p.stat().st_size < 5e6
    )
    assert secret not in written
