"""``grpo-rewards bench`` as a user meets it: the report folder, its files, and the errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grpo_rewards.bench.report import ReportDirError, choose_report_dir
from grpo_rewards.cli import main
from tests.bench_support import completion_rows, write_jsonl

NAIVE = """
[[rewards]]
use = "xml.format"
name = "format"

[[rewards]]
use = "math.correct"
name = "correct"
params = { partial_credit = 1.0 }
"""


@pytest.fixture
def files(tmp_path):
    config = tmp_path / "naive.toml"
    config.write_text(NAIVE)
    prompts = write_jsonl(tmp_path / "rows.jsonl", completion_rows())
    return config, prompts


def run(*args):
    return CliRunner().invoke(main, ["bench", *map(str, args)], catch_exceptions=False)


def test_report_folder_files_and_no_overwrite_on_rerun(files, tmp_path):
    config, prompts = files
    out = tmp_path / "reports" / "naive"
    first = run(config, "--prompts", prompts, "--output", out)
    assert first.exit_code == 0, first.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "aggregation.png",
        "completions.jsonl",
        "correlation.png",
        "group_size.png",
        "histograms.png",
        "report.html",
        "report.json",
        "report.md",
        "spread.png",
    ]
    assert all((out / n).stat().st_size > 1000 for n in names if n.endswith(".png"))
    report = json.loads((out / "report.json").read_text())
    assert report["files"]["plots"] == ["histograms.png", "correlation.png", "spread.png", "group_size.png", "aggregation.png"]
    assert len((out / "completions.jsonl").read_text().splitlines()) == 16
    markdown = (out / "report.md").read_text()
    assert "## Findings" in markdown and "![score distributions](histograms.png)" in markdown
    # the naive set: a stuffed list of numbers earns the gold reference's total
    assert "the weighted total scores the degenerate probe 'stuffed_tagged' as high as the gold reference" in markdown
    assert "weakness:" in first.output

    (out / "report.md").write_text("kept")
    second = run(config, "--prompts", prompts, "--output", out)
    assert second.exit_code == 0
    assert (out / "report.md").read_text() == "kept"
    assert (tmp_path / "reports" / "naive-2" / "report.json").is_file()
    third = run(config, "--prompts", prompts, "--output", out, "--no-plots")
    assert (tmp_path / "reports" / "naive-3" / "report.json").is_file()
    assert not list((tmp_path / "reports" / "naive-3").glob("*.png")) and third.exit_code == 0

    again = run(config, "--prompts", prompts, "--output", out, "--overwrite")
    assert again.exit_code == 0
    assert (out / "report.md").read_text().startswith("# Reward benchmark")
    assert not (tmp_path / "reports" / "naive-4").exists()


def test_overwrite_refuses_a_folder_that_is_not_a_report(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("precious")
    with pytest.raises(ReportDirError, match="refusing to clear"):
        choose_report_dir(folder, overwrite=True)
    assert choose_report_dir(folder, overwrite=False) == tmp_path / "mine-2"
    assert choose_report_dir(tmp_path / "new", overwrite=False) == tmp_path / "new"


def test_json_output_and_limit(files, tmp_path):
    config, prompts = files
    result = run(config, "--prompts", prompts, "--output", tmp_path / "r", "--json", "--limit", "2")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["data"]["prompts"] == 2 and report["data"]["completions"] == 8


def test_errors_are_one_clear_message(files, tmp_path):
    config, prompts = files
    bad = tmp_path / "bad.toml"
    bad.write_text(NAIVE + "\n[bench]\nnum_generation = 4\n")
    result = CliRunner().invoke(main, ["bench", str(bad), "--prompts", str(prompts), "-o", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "bench: key 'num_generation'" in result.output and "num_generations" in result.output

    rows = write_jsonl(tmp_path / "no_gold.jsonl", [{"prompt": "q", "completion": "c"}])
    result = CliRunner().invoke(main, ["bench", str(config), "--prompts", str(rows), "-o", str(tmp_path / "y")])
    assert result.exit_code == 2
    assert "needs column(s) 'answer'" in result.output

    rows = write_jsonl(tmp_path / "no_prompt.jsonl", [{"question": "q", "answer": "1", "completion": "c"}])
    result = CliRunner().invoke(main, ["bench", str(config), "--prompts", str(rows), "-o", str(tmp_path / "z")])
    assert result.exit_code == 2
    assert "no_prompt.jsonl:1: no 'prompt'" in result.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_benchmarking_given_completions_never_imports_torch(files, tmp_path):
    import subprocess
    import sys
    import textwrap

    config, prompts = files
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from grpo_rewards.bench.run import run_bench
        from grpo_rewards.bench.report import write_report
        result = run_bench({str(config)!r}, {str(prompts)!r}, log=lambda m: None)
        write_report(result, Path({str(tmp_path / "light")!r}))
        print("torch" in sys.modules, "transformers" in sys.modules)
    """)
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["False", "False"]


def test_completions_carry_what_each_reward_read(files, tmp_path):
    config, prompts = files
    out = tmp_path / "read"
    assert run(config, "--prompts", prompts, "--output", out, "--no-plots").exit_code == 0
    lines = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    correct = [line["explain"]["correct"]["read"] for line in lines]
    assert all({"extractor", "read", "gold", "why"} <= set(r) for r in correct)
    assert all("found" in line["explain"]["format"]["read"] for line in lines)
