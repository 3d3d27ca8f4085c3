"""report.html of the bench and of a training run, opened in a real headless Chromium: it loads
with no console error and no network request, lists every group, filters, keeps model text inert,
and is bounded on large runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grpo_rewards.bench.model import BenchReport
from grpo_rewards.cli import main
from grpo_rewards.pages import CompletionView, GroupView, SideView, bound_groups, data_script
from tests.bench_support import completion_rows, write_jsonl
from tests.html_support import chromium, open_report  # noqa: F401  (a fixture)

NAIVE = """
[[rewards]]
use = "xml.format"
name = "format"

[[rewards]]
use = "math.correct"
name = "correct"
params = { partial_credit = 1.0 }
"""
INJECTED = "<script>window.__pwned = 1</script>5"
BREAKOUT = '</script><img src=x onerror="window.__pwned = 2"><!--'


def hostile_rows() -> list[dict]:
    """A prompt whose completions are markup: they must show as text and never run."""
    prompt = "Hostile <b>question</b>: what is 2 + 3?"
    return [
        {"prompt": prompt, "answer": "5", "solution": "2 + 3 = 5\n#### 5", "completion": text, "correct": ok}
        for text, ok in ((INJECTED, True), (BREAKOUT, False))
    ]


@pytest.fixture(scope="module")
def bench_report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench-html")
    config = folder / "naive.toml"
    config.write_text(NAIVE)
    rows = write_jsonl(folder / "rows.jsonl", completion_rows() + hostile_rows())
    out = folder / "report"
    result = CliRunner().invoke(
        main, ["bench", str(config), "--prompts", str(rows), "--output", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return out


def test_report_json_is_the_typed_model_and_gains_only_new_fields(bench_report):
    raw = json.loads((bench_report / "report.json").read_text())
    model = BenchReport.from_dict(raw)
    again = model.to_dict()
    assert again == raw and list(again) == list(raw)
    assert raw["files"]["html"] == "report.html"
    # new: the prompt positions where a probe rule held (the browser's probe flags)
    for flag in model.flags:
        assert flag.prompts and all(0 <= p < model.data.prompts for p in flag.prompts)
        assert len(flag.prompts) == round(flag.rate * flag.evaluated)
    assert model.per_reward["correct"].failed_rate == 0


def test_model_text_cannot_end_the_data_element_or_become_markup(bench_report):
    html = (bench_report / "report.html").read_text()
    assert INJECTED not in html and "<img src=x" not in html and "<b>question" not in html
    assert html.count("<script") == 2  # the data element and the page's own script, nothing else
    script = data_script("x", {"t": "</script><!-- & \u2028"})
    assert "</script><!--" not in script.removesuffix("</script>") and "\\u003c/script\\u003e" in script


def test_bench_page_in_chromium(chromium, bench_report, tmp_path):  # noqa: F811
    opened = open_report(chromium, bench_report / "report.html")
    page = opened.page
    assert opened.problems == []
    assert opened.requests == [(bench_report / "report.html").resolve().as_uri()]  # nothing fetched
    assert opened.count() == "5 of 5 groups match"
    assert sorted(opened.shown_keys()) == [f"prompt {i}" for i in range(5)]

    # model text is text: the script did not run, the markup shows as characters
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#groups img").count() == 0
    texts = page.eval_on_selector_all("#groups .completion pre", "els => els.map(e => e.textContent)")
    assert INJECTED in texts and BREAKOUT in texts

    # filters change what is shown: the hostile prompt's completions are both unformatted
    page.select_option("#f-spread", "format")
    assert opened.count() == "4 of 5 groups match" and "prompt 4" not in opened.shown_keys()
    page.select_option("#f-spread", "")
    page.fill("#f-text", "1200 seats")
    assert opened.shown_keys() == ["prompt 3"]
    page.fill("#f-text", "")
    page.check("#f-paid")  # the naive set pays hedged and stuffed answers: the attack generator's rows
    paid = opened.shown_keys()
    assert paid and len(paid) <= 5
    assert page.locator("#groups .completion.attack .tag").first.inner_text().startswith("paid but wrong: correct (")
    page.uncheck("#f-paid")

    # each completion: sorted by total, its advantage, and the explain fields on demand
    first = page.locator("#groups .group").first
    totals = [float(t.split()[1]) for t in first.locator(".completion:not(.attack) .total").all_inner_texts()]
    advantages = [float(t.split()[1]) for t in first.locator(".completion:not(.attack) .advantage").all_inner_texts()]
    assert len(totals) == 4 and totals == sorted(totals, reverse=True) and totals[0] > totals[-1]
    assert advantages == sorted(advantages, reverse=True) and advantages[0] > 0 > advantages[-1]
    # totals 2, 1, 1, 0: TRL's (r - mean) / (std + 1e-4) with the Bessel-corrected std sqrt(2/3)
    assert totals == [2, 1, 1, 0] and advantages[0] == pytest.approx(1 / (2 / 3) ** 0.5, abs=0.01)
    first.locator("details summary").first.click()
    assert "extractor: " in first.locator("details[open]").first.inner_text()
    shot = tmp_path / "bench-report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert opened.problems == []
    page.close()


def write_train_run(out: Path, steps: int = 25) -> Path:
    """The files a training run leaves (run_config.json, metrics.jsonl, samples.jsonl), written
    here so the page test needs no model: one sample group per step, one of them hostile."""
    out.mkdir(parents=True)
    rewards = [{"name": "a", "use": "x.a", "schedule": "0->1"}, {"name": "b", "use": "x.b", "when": "a > 0"}]
    (out / "run_config.json").write_text(json.dumps({"model": {"name": "tiny"}, "rewards": rewards}))
    records = [
        {"step": s, "reward": 0.1 * s, "rewards/a/mean": 0.02 * s, "rewards/a/share": 0.6, "rewards/a/weight": s / steps}
        | {"rewards/b/mean": 0.5, "rewards/b/share": 0.4, "rewards/b/weight": 1.0, "rewards/b/gated_rate": 0.25}
        for s in range(1, steps + 1)
    ]
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    samples = []
    for s in range(1, steps + 1):
        texts = ["<answer>4</answer>", INJECTED if s == 7 else "four"]
        samples += [
            {"step": s, "prompt": f"2 + 2 at step {s}?", "completion": t, "rewards": {"a": float(i == 0), "b": 0.5}}
            for i, t in enumerate(texts)
        ]
    (out / "samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in samples))
    return out


def test_train_page_in_chromium(chromium, tmp_path):  # noqa: F811
    from grpo_rewards.trainer.report import write_report

    out = write_train_run(tmp_path / "run")
    write_report(out)
    opened = open_report(chromium, out / "report.html")
    page = opened.page
    assert opened.problems == [] and len(opened.requests) == 1
    assert opened.count() == "25 of 25 groups match" and page.inner_text("#page") == "page 1 of 2"
    assert len(set(opened.shown_keys())) == 25  # every sample group, across both pages
    page.select_option("#f-step", "7")
    assert opened.shown_keys() == ["step 7, sample group 7"]
    assert page.evaluate("window.__pwned") is None and INJECTED in page.locator("#groups pre").all_inner_texts()
    titles = page.eval_on_selector_all("svg.chart > title", "els => els.map(e => e.textContent)")
    for name in ("a", "b"):
        for curve in ("mean raw score", "share of the advantage", "effective weight", "gated rate"):
            assert f"{name}: {curve}" in titles
    assert page.locator("svg.chart polyline").count() >= 8
    page.screenshot(path=str(tmp_path / "train-report.png"), full_page=True)
    assert opened.problems == []
    page.close()


def test_large_runs_are_bounded_and_say_so():
    def group(i: int, flagged: bool) -> GroupView:
        view = CompletionView.build("x" * 10_000, {"r": 1.0}, 1.0)
        return GroupView(f"g{i}", "p", [SideView("A", [view])], ["probe: x"] if flagged else [])

    groups = [group(i, flagged=i % 100 == 0) for i in range(1000)]
    kept, note = bound_groups(groups, limit=50)
    assert len(kept) == 50 and all(f"g{i}" in {g.key for g in kept} for i in range(0, 1000, 100))
    assert [g.key for g in kept] == sorted((g.key for g in kept), key=lambda k: int(k[1:]))
    assert note.startswith("50 of 1000 groups are shown: the 10 flagged ones first")
    assert kept[0].sides[0].completions[0].clipped and len(kept[0].sides[0].completions[0].text) == 4000
    assert bound_groups(groups[:10], limit=50) == (groups[:10], "")
    # a text budget: 1000 groups of 4,001 characters in 400,000 characters keeps 99 of them
    kept, note = bound_groups(groups, limit=300, budget=400_000)
    assert len(kept) == 99 and note.startswith("99 of 1000 groups are shown")


@pytest.mark.slow
@pytest.mark.train
def test_compare_puts_a_and_b_side_by_side(chromium, tmp_path):  # noqa: F811
    pytest.importorskip("transformers")
    from tests.trainer_support import build_tiny_model

    tiny = build_tiny_model(tmp_path / "tiny")
    config = tmp_path / "set.toml"
    config.write_text(NAIVE + '\n[bench]\nnum_generations = 2\nmax_completion_length = 6\nsystem_prompt = "Answer."\n')
    prompts = write_jsonl(
        tmp_path / "heldout.jsonl", [{"prompt": r["prompt"], "answer": r["answer"]} for r in completion_rows()[::4]]
    )
    out = tmp_path / "report"
    args = ["bench", str(config), "--prompts", str(prompts), "--model", str(tiny), "--compare", str(tiny), "-o", str(out)]
    result = CliRunner().invoke(main, [*args, "--cache-dir", str(tmp_path / "cache")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    opened = open_report(chromium, out / "report.html")
    assert opened.problems == [] and opened.count() == "4 of 4 groups match"
    labels = opened.page.eval_on_selector_all(
        "#groups .group", "els => els.map(e => [...e.querySelectorAll('.side h4')].map(h => h.textContent))"
    )
    assert labels == [["A: …/tiny", "B: …/tiny"]] * 4  # a local path by its last part, as report.md shows it
    assert "Compare" in opened.page.inner_text("body")
    opened.page.close()


@pytest.mark.slow
@pytest.mark.train
def test_a_real_training_run_writes_a_page_that_loads(chromium, tmp_path):  # noqa: F811
    """A 3-step run of the tiny random Llama: its report.html beside report.md, every kept sample
    group listed, the curves of both rewards drawn."""
    pytest.importorskip("trl")
    from grpo_rewards.trainer.run import train

    from tests.trainer_support import CHARS_AND_LABEL, build_tiny_model, write_run_files

    config = write_run_files(tmp_path, build_tiny_model(tmp_path / "tiny"), rewards=CHARS_AND_LABEL)
    train(config)
    out = tmp_path / "out"
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    groups = {(s["step"], s["prompt"]) for s in samples}
    opened = open_report(chromium, out / "report.html")
    assert opened.problems == [] and len(opened.requests) == 1
    assert opened.count() == f"{len(groups)} of {len(groups)} groups match" and len(set(opened.shown_keys())) == len(groups)
    titles = opened.page.eval_on_selector_all("svg.chart > title", "els => els.map(e => e.textContent)")
    assert {"chars: mean raw score", "label: share of the advantage", "chars: effective weight"} <= set(titles)
    assert opened.page.locator("svg.chart polyline").count() >= 5
    opened.page.screenshot(path=str(tmp_path / "tiny-run.png"), full_page=True)
    opened.page.close()


def test_drift_flags_name_the_prompts_that_left_the_task_or_repeat_themselves():
    """Per prompt, in the browser: B's on-topic mean fell by 0.1 or more, or B's completions repeat
    their words 10 points more than A's (the per-prompt means drift.analyse now keeps)."""
    from types import SimpleNamespace

    from grpo_rewards.bench import drift
    from grpo_rewards.bench.html import _drift_flags
    from grpo_rewards.rewardset import parse_reward_set
    from tests.test_bench_drift import KEYWORD_LISTS, LENGTH_ONLY, OFF_TOPIC, ON_TOPIC, FakeSide

    reward_set = parse_reward_set(
        [*LENGTH_ONLY, {"use": "reward_model.similarity", "name": "sim", "params": {"reference_column": "abstract"}}]
    )
    topic = drift.plan(reward_set, None, [], {"abstract"})
    base = FakeSide("A", ON_TOPIC, {"total": [0.0] * 4, "sim": [0.7, 0.6, 0.8, 0.7]})
    hacked = FakeSide("B", OFF_TOPIC[:2] + ON_TOPIC[2:], {"total": [5.0] * 4, "sim": [0.1, 0.0, 0.75, 0.7]})
    found = drift.analyse(topic, reward_set, [base, hacked], resamples=200, seed=0)
    assert found["sides"][1]["per_prompt"] == pytest.approx([0.1, 0.0, 0.75, 0.7])
    flags = _drift_flags(SimpleNamespace(drift=found), SimpleNamespace(sides=[base, hacked]))
    assert flags == [(0, "on-topic 0.70 -> 0.10"), (1, "on-topic 0.60 -> 0.00")]  # 0.05 at prompt 2 is not flagged

    stuffed = FakeSide("B", KEYWORD_LISTS[:1] + ON_TOPIC[1:], {"total": [5.0] * 4, "sim": [0.7, 0.6, 0.8, 0.7]})
    found = drift.analyse(topic, reward_set, [base, stuffed], resamples=200, seed=0)
    ((position, message),) = _drift_flags(SimpleNamespace(drift=found), SimpleNamespace(sides=[base, stuffed]))
    assert (position, message) == (0, "repeated words 8% -> 62%")
