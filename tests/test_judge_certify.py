"""``judge certify``'s figures (length bias, test-retest, intervals, the certificate's identity), the
rubric file, and fail-closed: a judge without a valid certificate weighs 0 in ``check`` and
``train --dry-run``, against the stand-in judges of tests/judge_support.py on a loopback endpoint."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grpo_rewards import ConfigError, load_reward_set, parse_reward_set
from grpo_rewards.certificates import enforce
from grpo_rewards.cli import main as cli
from tests.judge_support import JudgeServer


@pytest.fixture(scope="module")
def server():
    with JudgeServer() as running:
        yield running


def pointwise_labels(path, n=5):
    """Own cases: the right product labelled 1, the product plus one labelled 0."""
    with path.open("w") as out:
        for k in range(2, 2 + n):
            question, gold = f"What is {k} times 7?", str(7 * k)
            for text, label in ((f"Working it through, the product is {gold}.", 1), (f"The answer is {7 * k + 1}.", 0)):
                out.write(json.dumps({"prompt": question, "completion": text, "answer": gold, "label": label}) + "\n")
    return path


def write_config(tmp_path, server, model, use="judge.reference", extra="", entry=""):
    config = tmp_path / f"{model}.toml"
    criteria = 'criteria = ["because: gives a reason"]\n' if use == "judge.rubric" else ""
    config.write_text(
        f'[[rewards]]\nuse = "{use}"\nname = "judge"\n{entry}[rewards.params]\nbase_url = "{server.base_url}"\n'
        f'model = "{model}"\nretries = 0\n{criteria}{extra}'
    )
    return config


def run_certify(config, labels, *args):
    out = config.with_suffix(".json")
    result = CliRunner().invoke(cli, ["judge", "certify", str(config), "--labels", str(labels), "-o", str(out), *args])
    return result, (json.loads(out.read_text()) if out.exists() else None)


def test_the_certificate_names_its_judge_and_has_every_figure_with_an_interval(tmp_path, server):
    config = write_config(tmp_path, server, "rule-judge")
    report = tmp_path / "cert.md"
    result, cert = run_certify(config, pointwise_labels(tmp_path / "own.jsonl"), "--report", str(report))
    assert result.exit_code == 0, result.output
    assert cert["certified"] and cert["version"] == 2
    assert cert["judge"]["model"] == "rule-judge" and cert["judge"]["base_url"] == server.base_url
    assert cert["judge"]["reward"] == "judge.reference" and len(cert["judge"]["prompt_hash"]) == 16
    assert cert["labels"]["name"] == "own.jsonl" and cert["labels"]["rows"] == 10
    assert cert["retest"]["agreement"] == 1.0 and cert["retest"]["n"] == 10 and cert["retest"]["ci95"][0] > 0.7
    # five (better, worse) pairs by prompt: padding never makes the wrong product beat the right one
    assert cert["length"]["n"] == 5 and cert["length"]["rate"] == 0.0 and cert["length"]["lift"] == 0.0
    assert cert["position"]["flip_rate"] == 0.0 and cert["position"]["ci95"][1] < 0.3
    assert cert["injection"]["lift"] == 0.0 and cert["injection"]["ci95"][0] == 0.0
    section = report.read_text()
    assert "Judge certificate: judge" in section and cert["judge"]["prompt_hash"] in section and "**certified**" in section


@pytest.mark.slow  # about 15 s: two certifications of 24 rows
@pytest.mark.parametrize(
    ("model", "reason"),
    [("long-judge", "length lift 0.500 > 0.05"), ("coin-judge", "test-retest agreement")],
)
def test_length_bias_and_an_unsteady_judge_are_refused(tmp_path, server, model, reason):
    result, cert = run_certify(write_config(tmp_path, server, model), pointwise_labels(tmp_path / "own.jsonl", n=12))
    assert result.exit_code == 1 and not cert["certified"]
    assert any(reason in r for r in cert["refusals"]), cert["refusals"]


def test_a_rubric_judge_is_certified_on_pairwise_labels(tmp_path, server):
    labels = tmp_path / "pairs.jsonl"
    rows = [
        {"prompt": f"Why is {k} even?", "completion_a": f"{k} is even because it is 2 * {k // 2}.", "completion_b": "It is."}
        for k in range(2, 26, 2)
    ]
    rows = [
        {**r, "label": "a"}
        if i % 2
        else {**r, "completion_a": r["completion_b"], "completion_b": r["completion_a"], "label": "b"}
        for i, r in enumerate(rows)
    ]
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result, cert = run_certify(write_config(tmp_path, server, "rule-judge", "judge.rubric"), labels)
    assert result.exit_code == 0, result.output
    assert cert["agreement"]["accuracy"] == 1.0 and cert["agreement"]["base_rate"] == 0.5
    assert cert["length"]["n"] == 12 and cert["length"]["rate"] == 0.0
    assert cert["position"]["flip_rate"] is None  # one completion per call: nothing to swap


@pytest.mark.slow  # about 15 s: 12 pairs judged as groups, twice
def test_a_group_judge_is_certified_on_pairs_judged_as_groups_of_two(tmp_path, server):
    labels = tmp_path / "pairs.jsonl"
    rows = [
        {"prompt": "Why is 4 even?", "completion_a": "Even because 4 = 2 * 2.", "completion_b": "It is even.", "label": "a"},
        {"prompt": "Why is 4 even?", "completion_a": "It just is.", "completion_b": "Because it is 2 * 2.", "label": "b"},
    ] * 6
    labels.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result, cert = run_certify(write_config(tmp_path, server, "rule-judge", "judge.group"), labels)
    assert result.exit_code == 0, result.output
    assert cert["agreement"]["accuracy"] == 1.0 and cert["position"]["flip_rate"] == 0.0
    result, cert = run_certify(write_config(tmp_path, server, "long-judge", "judge.group"), labels)
    assert result.exit_code == 1 and any("length lift" in r for r in cert["refusals"])
    result, _ = run_certify(write_config(tmp_path, server, "rule-judge", "judge.group"), pointwise_labels(tmp_path / "p.jsonl"))
    assert result.exit_code == 2 and "needs pairwise labels" in result.output


# --- fail closed -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certified(tmp_path_factory, server):
    """A reward-set file with a judge.reference entry and a valid certificate of it beside it."""
    folder = tmp_path_factory.mktemp("certified")
    config = write_config(
        folder, server, "rule-judge", extra='orders = "answer_first"\n', entry='certificate = "rule-judge.json"\n'
    )
    result, _ = run_certify(config, pointwise_labels(folder / "own.jsonl"))
    assert result.exit_code == 0, result.output
    return config


def entry_of(config, text=None):
    if text is not None:
        config.write_text(text)
    reward_set, warnings = enforce(load_reward_set(config))
    return reward_set.rewards[0], warnings


def test_a_certified_judge_keeps_its_weight(certified):
    entry, warnings = entry_of(certified)
    assert entry.weight == 1.0 and entry.uncertified is None and warnings == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda t: t.replace('certificate = "rule-judge.json"\n', ""), "no certificate"),
        (lambda t: t.replace("rule-judge.json", "missing.json"), "does not exist"),
        (lambda t: t.replace('model = "rule-judge"', 'model = "other-judge"'), "stale: it certifies model 'rule-judge'"),
        (lambda t: t.replace("127.0.0.1", "localhost"), "stale: it certifies endpoint"),
        (lambda t: t.replace("answer_first", "both"), "stale: it certifies prompt hash"),
        (
            lambda t: t.replace("[rewards.params]", "certificate_thresholds = { min_retest = 1.5 }\n[rewards.params]"),
            "test-retest",
        ),
    ],
)
def test_a_judge_without_a_valid_certificate_runs_as_a_metric(certified, change, why):
    original = certified.read_text()
    try:
        entry, warnings = entry_of(certified, change(original))
    finally:
        certified.write_text(original)
    assert entry.weight == 0.0 and entry.schedule is None and why in entry.uncertified
    assert len(warnings) == 1 and "runs as a metric only (weight 0)" in warnings[0] and why in warnings[0]


def test_settings_that_change_no_verdict_keep_the_certificate_fresh(certified):
    original = certified.read_text()
    try:
        entry, warnings = entry_of(
            certified, original.replace("retries = 0", "retries = 3") + "deadline = 30.0\nmax_concurrency = 2\n"
        )
    finally:
        certified.write_text(original)
    assert entry.weight == 1.0 and warnings == []


def test_allow_uncertified_keeps_the_weight_and_says_so(tmp_path, server):
    entry, warnings = entry_of(write_config(tmp_path, server, "rule-judge", entry="allow_uncertified = true\nweight = 0.5\n"))
    assert entry.weight == 0.5 and "trains uncertified (allow_uncertified = true): no certificate" in warnings[0]


def test_a_judge_that_pays_nothing_needs_no_certificate(tmp_path, server):
    entry, warnings = entry_of(write_config(tmp_path, server, "rule-judge", entry="weight = 0\n"))
    assert entry.weight == 0.0 and entry.uncertified is None and warnings == []


def test_certificate_keys_are_checked_when_the_set_is_read(tmp_path, server):
    config = write_config(
        tmp_path, server, "rule-judge", entry="allow_uncertified = 1\ncertificate_thresholds = { min_kapa = 0.5 }\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_reward_set(config)
    text = str(caught.value)
    assert "key 'allow_uncertified': expected true or false" in text
    assert "key 'certificate_thresholds.min_kapa': unknown threshold" in text
    with pytest.raises(ConfigError, match="reward 'length.target' needs no certificate"):
        parse_reward_set([{"use": "length.target", "certificate": "x.json"}])


def test_check_and_dry_run_warn_before_any_model_loads(certified):
    original = certified.read_text()
    try:
        certified.write_text(original.replace('model = "rule-judge"', 'model = "other-judge"'))
        result = CliRunner().invoke(cli, ["check", str(certified)])
    finally:
        certified.write_text(original)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "runs as a metric only (weight 0)" in flat and "stale" in flat and "uncertified" in flat


# --- the rubric file ---------------------------------------------------------------------------------


def test_a_rubric_file_gives_the_criteria_and_its_errors_name_file_entry_and_key(tmp_path, server):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(
        '[[criteria]]\nname = "units"\nweight = 2\ndescription = "states the units"\n\n[[criteria]]\nname = "steps"\ndescription = "shows the steps"\n'
    )
    config = write_config(tmp_path, server, "rule-judge", "judge.rubric", extra='rubric_file = "rubric.toml"\n')
    config.write_text(config.read_text().replace('criteria = ["because: gives a reason"]\n', ""))
    entry = load_reward_set(config).rewards[0]
    assert entry.params["criteria"] == ["units=2: states the units", "steps=1: shows the steps"]
    from grpo_rewards.scoring import Row, score_rows

    result = score_rows(load_reward_set(config), [Row("72 units", "8 rows of 9?", {})])
    assert result.values["judge"] == [pytest.approx(2 / 3)] and result.details["judge"][0]["units"] == 5
    rubric.write_text('[[criteria]]\nname = "units"\nweight = -1\ndescription = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_reward_set(config)
    assert (
        f"rewards[0] (use = 'judge.rubric'): key 'params.rubric_file': {rubric}: criteria[0]: key 'weight': expected a positive number"
        in str(caught.value)
    )
    rubric.write_text("criteria:\n  - name: units\n    colour: red\n")
    rubric.rename(tmp_path / "rubric.yaml")
    config.write_text(config.read_text().replace("rubric.toml", "rubric.yaml"))
    with pytest.raises(ConfigError, match=r"criteria\[0\]: key 'colour': unknown key"):
        load_reward_set(config)
    config.write_text(config.read_text().replace("rubric.yaml", "nowhere.yaml"))
    with pytest.raises(ConfigError, match=r"key 'params.rubric_file': no such file: 'nowhere.yaml'"):
        load_reward_set(config)


# --- the bench section -------------------------------------------------------------------------------


@pytest.mark.slow  # about 25 s: a bench run (its own attack section included) over two judges
def test_bench_shows_which_injections_moved_a_judge_and_its_certificate(tmp_path, server):
    from grpo_rewards.bench.model import BenchReport
    from grpo_rewards.bench.report import render_markdown
    from grpo_rewards.bench.run import run_bench

    pointwise_labels(tmp_path / "own.jsonl")  # [bench] judge_labels names it
    config = tmp_path / "bench.toml"
    config.write_text(
        f'[[rewards]]\nuse = "judge.reference"\nname = "fooled"\n[rewards.params]\nbase_url = "{server.base_url}"\n'
        'model = "gullible-judge"\nretries = 0\norders = "answer_first"\ndefences = false\n\n'
        f'[[rewards]]\nuse = "judge.reference"\nname = "guarded"\ncertificate = "none.json"\n[rewards.params]\n'
        f'base_url = "{server.base_url}"\nmodel = "rule-judge"\nretries = 0\norders = "answer_first"\n\n'
        '[bench]\njudge_labels = "own.jsonl"\njudge_injection_prompts = 2\n'
    )
    prompts = tmp_path / "prompts.jsonl"
    rows = [
        {"prompt": f"What is {k} times 7?", "answer": str(7 * k), "completion": f"The answer is {7 * k + 1}."} for k in (3, 4)
    ]
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = run_bench(config, str(prompts), log=lambda m: None).report
    judged = report["sections"]["judges"]
    fooled, guarded = judged["fooled"]["injections"]["classes"], judged["guarded"]["injections"]["classes"]
    assert all(s["moved"] == 2 and s["n"] == 2 for s in fooled.values())  # without the defences every class pays
    assert all(s["moved"] == 0 for s in guarded.values()) and guarded["fence_escape"]["n"] == 2
    assert (
        judged["guarded"]["certificate"]["valid"] is False and "does not exist" in judged["guarded"]["certificate"]["reasons"][0]
    )
    assert judged["guarded"]["certified_on_labels"]["certified"] is True
    assert judged["fooled"]["certified_on_labels"]["certified"] is False
    text = render_markdown(BenchReport.from_dict(report))
    assert "## Judges" in text and "injections that moved the score: override" in text and "no injection moved the score" in text
    assert "Judge certificate: guarded" in text


def test_score_reports_each_rubric_criterion_as_its_own_metric(tmp_path, server):
    config = write_config(tmp_path, server, "rule-judge", "judge.rubric")
    config.write_text(
        config.read_text().replace('criteria = ["because: gives a reason"]', 'criteria = ["units=2: units", "steps: steps"]')
    )
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(json.dumps({"prompt": "8 rows of 9?", "completion": c}) + "\n" for c in ("72 units", "72 units, steps"))
    )
    result = CliRunner().invoke(cli, ["score", str(config), "-i", str(rows), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    cells = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:]]
        for line in result.output.splitlines()
        if line.count("│") > 3
    }
    assert cells["judge/units"][:3] == ["", "5", "0"] and cells["judge/steps"][:3] == ["", "3", "2"]  # units 5, 5; steps 1, 5
