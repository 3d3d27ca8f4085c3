"""Sampling for the benchmark on a tiny random Llama: the cache, the trainer's settings, --compare."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from grpo_rewards.trainer.bench_sampling import GenerationCache, Sampling, resolve_sampling  # noqa: E402

from grpo_rewards.bench.run import run_bench  # noqa: E402
from tests.bench_support import QUESTIONS, write_jsonl  # noqa: E402
from tests.trainer_support import build_tiny_model  # noqa: E402

pytestmark = pytest.mark.train

REWARDS = '[[rewards]]\nuse = "math.correct"\nname = "correct"\n\n[[rewards]]\nuse = "length.target"\nname = "length"\n'


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def tiny_b(tmp_path_factory, tiny):
    """A second model: the tiny model with its weights perturbed (a 'trained' one)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = tmp_path_factory.mktemp("tiny_b")
    model = AutoModelForCausalLM.from_pretrained(tiny)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny).save_pretrained(folder)
    return folder


@pytest.fixture
def prompts(tmp_path):
    return write_jsonl(tmp_path / "heldout.jsonl", [{"prompt": q, "answer": a} for q, a, _ in QUESTIONS[:3]])


def config_file(tmp_path, bench: str = "") -> str:
    path = tmp_path / "set.toml"
    path.write_text(REWARDS + '\n[bench]\nnum_generations = 3\nmax_completion_length = 6\nsystem_prompt = "Answer."\n' + bench)
    return str(path)


def test_generation_is_cached_and_invalidated_by_any_change(tmp_path, tiny, prompts):
    cache = tmp_path / "cache"
    config = config_file(tmp_path)
    first = run_bench(config, str(prompts), model=str(tiny), cache_dir=cache, log=lambda m: None)
    gen = first.report["generation"]
    assert (gen["generated_prompts"], gen["cached_prompts"]) == (3, 0)
    assert gen["sampling"]["num_generations"] == 3 and gen["sampling"]["max_completion_length"] == 6
    assert first.report["data"] == {"prompts": 3, "completions": 9, "group_sizes": {"3": 3}, "seen_in_training": None}
    texts = [c.text for g in first.sides[0].groups for c in g.completions]
    # chat prompt, as the trainer renders it: system prompt + the user's question
    assert first.sides[0].groups[0].prompt == [
        {"role": "system", "content": "Answer."},
        {"role": "user", "content": QUESTIONS[0][0]},
    ]
    assert all(len(c.completion_ids) <= 6 for g in first.sides[0].groups for c in g.completions)

    again = run_bench(config, str(prompts), model=str(tiny), cache_dir=cache, log=lambda m: None)
    assert (again.report["generation"]["generated_prompts"], again.report["generation"]["cached_prompts"]) == (0, 3)
    assert [c.text for g in again.sides[0].groups for c in g.completions] == texts

    # a sampling setting changes: every prompt misses
    hotter = run_bench(
        config_file(tmp_path, "temperature = 0.7\n"), str(prompts), model=str(tiny), cache_dir=cache, log=lambda m: None
    )
    assert hotter.report["generation"]["generated_prompts"] == 3
    # one new prompt: only that one is sampled
    more = write_jsonl(tmp_path / "more.jsonl", [{"prompt": q, "answer": a} for q, a, _ in QUESTIONS])
    grown = run_bench(config, str(more), model=str(tiny), cache_dir=cache, log=lambda m: None)
    assert (grown.report["generation"]["generated_prompts"], grown.report["generation"]["cached_prompts"]) == (1, 3)
    # the weights change (same folder, new file): every prompt misses
    weights = tiny / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    retrained = run_bench(config, str(prompts), model=str(tiny), cache_dir=cache, log=lambda m: None)
    assert retrained.report["generation"]["generated_prompts"] == 3
    assert len(list(cache.glob("*.json"))) == 3  # one file per (weights, settings)


def test_cache_key_covers_model_and_every_setting(tmp_path):
    base = Sampling(num_generations=4, max_completion_length=32)
    key = GenerationCache(tmp_path, "model-a", base).key
    assert GenerationCache(tmp_path, "model-b", base).key != key
    for change in (
        {"temperature": 0.9},
        {"top_p": 0.9},
        {"top_k": 5},
        {"min_p": 0.1},
        {"repetition_penalty": 1.1},
        {"num_generations": 8},
        {"max_completion_length": 64},
        {"seed": 1},
        {"generation_kwargs": {"no_repeat_ngram_size": 3}},
    ):
        assert GenerationCache(tmp_path, "model-a", Sampling(**{**base.as_dict(), **change})).key != key, change
    assert GenerationCache(tmp_path, "model-a", Sampling(num_generations=4, max_completion_length=32)).key == key


def test_sampling_follows_the_trainer_config(tmp_path):
    # [grpo] over the trainer's small-run defaults over TRL's; [bench] and the CLI over [grpo]
    sampling = resolve_sampling(
        {"top_p": 0.9}, {"temperature": 0.7, "num_generations": 4, "max_completion_length": 64}, num_generations=6, seed=3
    )
    assert (sampling.temperature, sampling.top_p, sampling.num_generations, sampling.max_completion_length, sampling.seed) == (
        0.7,
        0.9,
        6,
        64,
        3,
    )
    defaults = resolve_sampling({}, None)
    assert (defaults.temperature, defaults.top_p, defaults.num_generations, defaults.max_completion_length) == (1.0, 1.0, 8, 128)


def test_trainer_config_renders_prompts_and_sets_sampling(tmp_path, tiny):
    config = tmp_path / "train.toml"
    config.write_text(f"""
[model]
name = "{tiny}"

[data]
source = "builtin:gsm8k"
template = "Solve: {{question}}"
system_prompt = "Think first."

{REWARDS}

[grpo]
num_generations = 2
max_completion_length = 5
temperature = 0.8
per_device_train_batch_size = 2
""")
    rows = write_jsonl(tmp_path / "q.jsonl", [{"question": q, "answer": a} for q, a, _ in QUESTIONS[:2]])
    result = run_bench(config, str(rows), cache_dir=tmp_path / "cache", log=lambda m: None)
    gen = result.report["generation"]
    assert (gen["sampling"]["num_generations"], gen["sampling"]["max_completion_length"], gen["sampling"]["temperature"]) == (
        2,
        5,
        0.8,
    )
    assert result.sides[0].groups[1].prompt == [
        {"role": "system", "content": "Think first."},
        {"role": "user", "content": f"Solve: {QUESTIONS[1][0]}"},
    ]


def test_compare_two_models_on_the_same_prompts(tmp_path, tiny, tiny_b, prompts):
    from click.testing import CliRunner

    from grpo_rewards.cli import main

    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            config_file(tmp_path),
            "--prompts",
            str(prompts),
            "--model",
            str(tiny),
            "--compare",
            str(tiny_b),
            "-g",
            "2",
            "-o",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "B - A" in result.output and "95% CI" in result.output
    report = json.loads((out / "report.json").read_text())
    compare = report["compare"]
    # local folders by their last part: reports are shared (the full path is in report.json's generation)
    assert compare["a"] == f"A: …/{Path(tiny).name}" and compare["b"] == f"B: …/{Path(tiny_b).name}"
    assert report["generation"]["sampling"]["num_generations"] == compare["generation"]["sampling"]["num_generations"] == 2
    rows = {r["metric"]: r for r in compare["rows"]}
    assert list(rows) == ["correct", "length", "total", "length_chars", "repeated_words"]
    # the deltas come from the two sides' own completions, prompt by prompt
    lines = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert len(lines) == 12 and {line["side"] for line in lines} == {compare["a"], compare["b"]}

    def mean_length(side: str) -> float:
        per_prompt = [[len(x["completion"]) for x in lines if x["side"] == side and x["prompt_index"] == i] for i in range(3)]
        return sum(sum(p) / len(p) for p in per_prompt) / 3

    assert rows["length_chars"]["a"] == pytest.approx(mean_length(compare["a"]))
    assert rows["length_chars"]["delta"] == pytest.approx(mean_length(compare["b"]) - mean_length(compare["a"]))
    for row in rows.values():
        assert row["prompts"] == 3 and row["low"] <= row["delta"] <= row["high"]
    assert [x["prompt"] for x in lines if x["side"] == compare["b"]][::2] == [
        x["prompt"] for x in lines if x["side"] == compare["a"]
    ][::2]
    assert compare["b_figures"]["per_reward"]["length"]["rows"] == 6
    assert (out / "compare.png").is_file() and "## Compare" in (out / "report.md").read_text()


def test_compare_reports_held_out_prompts_seen_in_training_apart(tmp_path, tiny, tiny_b):
    """Two of three held-out questions are training rows: the report counts them, and the compare
    is repeated on the one never trained on (its delta is that prompt's own)."""
    train = write_jsonl(tmp_path / "train.jsonl", [{"question": q, "answer": a} for q, a, _ in (QUESTIONS[0], QUESTIONS[2])])
    heldout = write_jsonl(tmp_path / "heldout.jsonl", [{"question": q, "answer": a} for q, a, _ in QUESTIONS[:3]])
    config = tmp_path / "train.toml"
    config.write_text(f"""
[model]
name = "{tiny}"

[data]
source = "{train}"
template = "Solve: {{question}}"

{REWARDS}

[grpo]
num_generations = 2
max_completion_length = 5
per_device_train_batch_size = 2
""")
    result = run_bench(config, str(heldout), compare=str(tiny_b), cache_dir=tmp_path / "cache", log=lambda m: None)
    report = result.report
    seen = report["data"]["seen_in_training"]
    assert (seen["prompts"], seen["of"], seen["positions"], seen["training_rows"]) == (2, 3, [0, 2], 2)
    unseen = {r["metric"]: r for r in report["compare"]["unseen_rows"]}
    assert unseen["length_chars"]["prompts"] == 1
    a_side, b_side = result.sides
    lengths = [sum(map(len, (c.text for c in side.groups[1].completions))) / 2 for side in (a_side, b_side)]
    assert unseen["length_chars"]["delta"] == pytest.approx(lengths[1] - lengths[0])
    note = next(n["message"] for n in report["notes"] if n["kind"] == "seen_in_training")
    assert note.startswith("2 of 3 held-out prompts also occur in the training data") and "On the 1 never trained on" in note


def test_held_out_builtin_rows_take_the_training_options_from_the_test_seed(tmp_path):
    """--prompts builtin:gym:products with a config training on one-digit products: the held-out
    rows are one-digit products too, from the test seed; the source string's options still win."""
    pytest.importorskip("reasoning_gym")
    from grpo_rewards.trainer.bench_sampling import SAMPLER

    from grpo_rewards.bench.data import read_prompt_rows
    from grpo_rewards.bench.settings import load_bench_config

    config = tmp_path / "train.toml"
    config.write_text(
        '[data]\nsource = "builtin:gym:products"\noptions = { size = 6, seed = 3, min_digits = 1, max_digits = 1 }\n'
        '\n[[rewards]]\nuse = "gym.score"\n'
    )
    cfg = load_bench_config(config)
    options = SAMPLER.data_options(cfg, "builtin:gym:products")
    assert options == {"size": 6, "seed": 3, "min_digits": 1, "max_digits": 1}
    rows, _ = read_prompt_rows("builtin:gym:products", None, options)
    assert len(rows) == 6 and {r["split"] for r in rows} == {"test"} and all(len(r["answer"].lstrip("-")) <= 2 for r in rows)
    assert rows[0]["seed"] != 3
    assert SAMPLER.data_options(cfg, "builtin:gym:chain_sum") == {}
    grown, _ = read_prompt_rows("builtin:gym:products?size=9", None, options)
    assert len(grown) == 9


def test_a_hub_training_set_is_not_downloaded_to_check_held_out_prompts(tmp_path):
    from grpo_rewards.trainer.bench_sampling import SAMPLER

    from grpo_rewards.bench.settings import load_bench_config

    config = tmp_path / "train.toml"
    config.write_text(f'[data]\nsource = "someone/a-large-dataset"\ntemplate = "{{question}}"\n\n{REWARDS}')
    said = []
    assert SAMPLER.training_rows(load_bench_config(config), said.append) is None
    assert said == [
        "held-out prompts are not checked against the training data: someone/a-large-dataset is a hub dataset (not downloaded for this)"
    ]


def test_a_training_config_with_the_trainers_own_tables_can_be_benched(tmp_path):
    """[dynamic_sampling] and [canaries] belong to the trainer (claimed through
    register_config_sections): the bench reads such a config as it is, and still refuses a table
    nobody claims."""
    from grpo_rewards.bench.settings import load_bench_config
    from grpo_rewards.errors import ConfigError

    config = tmp_path / "train.toml"
    body = (
        '[data]\nsource = "rows.jsonl"\ntemplate = "{question}"\n\n'
        + REWARDS
        + '\n[[rewards]]\nuse = "length.target"\nname = "watch"\ncanary = true\n'
        + "\n[dynamic_sampling]\nenabled = true\n\n[canaries]\nwindow = 5\n"
    )
    config.write_text(body)
    cfg = load_bench_config(config)
    assert cfg.reward_set.names == ["correct", "length", "watch"] and cfg.is_trainer_config
    config.write_text(body + "\n[dynamic_sampler]\nenabled = true\n")
    with pytest.raises(ConfigError, match="dynamic_sampler"):
        load_bench_config(config)
