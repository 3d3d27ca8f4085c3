"""The bench on a summarisation set: probes chosen by what the set's rewards declare (no `<think>`
or boxed maths probes), a reference the set can score fairly, and weakness lines ranked so the one
that matters comes first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grpo_rewards import load_reward_set
from grpo_rewards.bench.probes import BUILTIN_PROBES, Finding, rank, select_probes, task_shape
from grpo_rewards.bench.report import ranked_weaknesses
from grpo_rewards.bench.run import run_bench, unfair_reference

ABSTRACTS = [
    ("We study how to compress long documents into one sentence with a neural model.", "A model compresses papers."),
    ("This paper introduces a parser for dependency structures that runs in linear time.", "A linear-time parser."),
    ("We collect a corpus of dialogues annotated with intents and evaluate three classifiers.", "An intent corpus."),
    ("A method for aligning words across languages using shared subword embeddings is proposed.", "Aligned subwords."),
]
SUMMARY_SET = """
[[rewards]]
use = "length.target"
name = "length"
weight = 3.0
params = { target = 50, unit = "chars", form = "negative", scale = 150 }

[[rewards]]
use = "repetition.ngram"
name = "no_lists"
params = { n = 1 }

[bench]
gold_column = "reference"
"""


def write_summaries(folder: Path) -> tuple[Path, Path]:
    rows = []
    for abstract, short in ABSTRACTS:
        # the human reference is longer than the set's length target: the set cannot score it fairly
        reference = short + " It was evaluated on several public datasets in English and in other languages."
        completions = [short + " " * 0, abstract, "This paper is about " + abstract.split()[3] + ".", "model model data data"]
        for completion in completions:
            rows.append({"prompt": "Summarize:\n\n" + abstract, "reference": reference, "completion": completion})
    data = folder / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = folder / "set.toml"
    config.write_text(SUMMARY_SET)
    return config, data


def test_a_summary_set_gets_no_maths_probes_and_a_fair_yardstick(tmp_path, registry):
    config, data = write_summaries(tmp_path)
    report = run_bench(config, str(data), log=lambda m: None).report
    probes = report["probes"]
    assert probes["task"] == [] and [p["name"] for p in probes["probes"]] == ["empty", "prompt_echo", "long_ramble"]
    assert not any("<think>" in (p["example"] or "") or "boxed" in (p["example"] or "") for p in probes["probes"])
    assert probes["reference_example"].startswith("A model compresses papers.")  # the gold text as it is, no tags
    assert probes["reference_dropped"].startswith("the set's total scores the gold text below")
    assert all(f["yardstick"] == "typical" for f in probes["findings"] if f["rule"] == "fools")
    assert any(n["kind"] == "reference" for n in report["notes"])


def test_task_shape_reads_declarations(registry, tmp_path):
    def shape(text: str) -> frozenset[str]:
        path = tmp_path / "s.toml"
        path.write_text(text)
        return task_shape(load_reward_set(path))

    assert shape('[[rewards]]\nuse = "length.target"\n') == frozenset()
    assert shape('[[rewards]]\nuse = "xml.format"\n') == {"tags"}
    assert shape('[[rewards]]\nuse = "math.correct"\n') == {"tags", "answers"}


def test_probe_selection_by_shape():
    free = select_probes(None, [], shape=frozenset())
    assert set(free) == {"empty", "prompt_echo", "long_ramble"}
    tagged = select_probes(None, [], shape=frozenset({"tags"}))
    assert {"format_nonsense", "tags_repeated", "answer_only"} <= set(tagged) and "wrong_answer" not in tagged
    assert set(select_probes(None, [], shape=frozenset({"tags", "answers"}))) == set(BUILTIN_PROBES)
    assert "wrong_answer" not in select_probes(["empty"], [], shape=frozenset())  # named probes, no gold reader
    assert "wrong_answer" in select_probes(["empty"], [], shape=frozenset({"answers"}))


def test_a_fair_reference_is_kept():
    assert unfair_reference([0.0, 0.0], [[-1.0, -0.5, 0.0], [-2.0, 0.0]]) is None
    assert unfair_reference([None, None], [[0.0], [0.0]]) is None
    assert "on 2 of 2 prompts" in unfair_reference([-3.0, -2.0], [[-1.0, -0.5], [0.0, 1.0]])


def flag(target: str, probe: str, kind: str, rule: str, rate: float) -> Finding:
    return Finding(target, probe, kind, rule, rate, 10, True, "", "reference")


def test_flags_are_ranked_the_one_that_matters_first():
    flags = [
        flag("fmt", "tags_repeated", "degenerate", "fools", 1.0),
        flag("total", "answer_bare", "shortcut", "fools", 1.0),
        flag("total", "empty", "degenerate", "beats_typical", 0.9),
        flag("correct", "empty", "degenerate", "fools", 0.6),
        flag("total", "empty", "degenerate", "fools", 0.6),
    ]
    ranked = rank(flags, {"fmt": 0.1, "correct": 1.0})
    assert [(f.target, f.probe, f.rule) for f in ranked] == [
        ("total", "empty", "fools"),  # a degenerate probe as high as the reference on the total
        ("total", "answer_bare", "fools"),
        ("total", "empty", "beats_typical"),
        ("correct", "empty", "fools"),  # a heavy reward (0.6 of its weight) before a light one at rate 1
        ("fmt", "tags_repeated", "fools"),
    ]


def test_weakness_lines_put_a_reward_won_without_the_task_first():
    report = {
        "drift": {"weaknesses": [{"kind": "drift", "message": "on-topic score 0.64 -> 0.11"}]},
        "probes": {
            "flags": [{"target": "total", "probe": "empty", "kind": "degenerate", "rule": "fools", "rate": 1.0, "evaluated": 4}]
        },
        "attacks": {"findings": ["'correct' pays hedge on 50% of rows"]},
    }
    lines = ranked_weaknesses(report)
    assert lines[0] == "on-topic score 0.64 -> 0.11" and lines[1].startswith("the weighted total scores the degenerate probe")
    assert lines[2] == "attack 'correct' pays hedge on 50% of rows"


@pytest.mark.parametrize("answer", ["a cat", "x^2", "Paris"])
def test_the_wrong_answer_probe_invents_no_plus_one(answer):
    from grpo_rewards.bench.probes import ProbeContext

    ctx = ProbeContext("q", answer, "r")
    assert ctx.wrong_answer is None and BUILTIN_PROBES["wrong_answer"].make(ctx) is None
    assert ProbeContext("q", "41", "r").wrong_answer == "42"  # a number still has its neighbour
