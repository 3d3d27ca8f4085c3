"""Training data: built-in offline datasets, column renaming, prompt rendering and truncation."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("datasets")

from grpo_rewards.plugins.datasets import builtin_rows, detokenize  # noqa: E402
from grpo_rewards.trainer.config import DataSettings  # noqa: E402
from grpo_rewards.trainer.data import PromptBuilder, build_prompts, load_data  # noqa: E402

from grpo_rewards.answers import last_boxed  # noqa: E402
from grpo_rewards.config import ConfigError  # noqa: E402


@pytest.fixture(scope="module")
def tokenizer():
    from grpo_rewards.trainer.model import builtin_tokenizer

    return builtin_tokenizer()


def test_builtin_aclsum_and_gsm8k_rows():
    aclsum = list(builtin_rows("aclsum", "train"))
    assert len(aclsum) == 100
    assert set(aclsum[0]) == {"id", "title", "abstract", "challenge", "approach", "outcome"}
    assert aclsum[0]["abstract"].startswith("In this paper, we explore correlation of dependency relation paths")
    gsm8k = builtin_rows("gsm8k", "train")
    first = next(gsm8k)
    assert first["answer"] == "72" and first["question"].startswith("Natalia sold clips")
    assert first["solution"].endswith("#### 72")
    assert len(list(builtin_rows("gsm8k", "test"))) == 1319


def test_detokenize_and_boxed():
    assert detokenize("paths , and ( QA ) in MRR .") == "paths, and (QA) in MRR."
    assert last_boxed(r"so \boxed{\frac{1}{2}} then \boxed{3}") == "3"
    assert last_boxed(r"\boxed{\frac{1}{2}}") == r"\frac{1}{2}"
    assert last_boxed("no box") is None


def test_unknown_builtin_and_split_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown dataset 'builtin:gsm8'; did you mean 'gsm8k'\?"):
        load_data(DataSettings(source="builtin:gsm8"), "c.toml", tmp_path)
    with pytest.raises(ConfigError, match="has no split 'dev'; splits: train, test"):
        load_data(DataSettings(source="builtin:gsm8k", split="dev"), "c.toml", tmp_path)
    with pytest.raises(ConfigError, match="builtin:gsm8k takes no options"):
        load_data(DataSettings(source="builtin:gsm8k", options={"size": 3}), "c.toml", tmp_path)


def test_a_plugin_dataset_is_read_with_its_options(tmp_path):
    from grpo_rewards import hookimpl
    from grpo_rewards.registry import get_registry

    seen = []

    class Plugin:
        @hookimpl
        def register_datasets(self, register):
            def load(arg, options):
                seen.append((arg, dict(options)))
                return [{"prompt": f"{arg} {i}", "answer": str(i)} for i in range(options["size"])]

            register("counting", load, "numbers to count")

    registry = get_registry()
    registry.add_plugin(Plugin(), "test-datasets")
    try:
        data = DataSettings(source="builtin:counting:sheep?size=3", options={"size": 5, "seed": 1})
        loaded = load_data(data, "c.toml", tmp_path)
        assert loaded.train["prompt"] == ["sheep 0", "sheep 1", "sheep 2"]  # the source string wins over [data] options
        assert seen == [("sheep", {"size": 3, "seed": 1, "split": "train"})]
    finally:
        get_registry(refresh=True)


def test_local_jsonl_rename_limit_and_held_out_fraction(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps({"q": f"question {i}", "a": str(i), "prompts": "x"}) + "\n" for i in range(20)))
    data = DataSettings(source="rows.jsonl", columns={"question": "q", "answer": "a"}, limit=10, eval_fraction=0.25)
    loaded = load_data(data, "c.toml", tmp_path)
    # renamed; "prompts" would collide with TRL's own reward argument and is dropped
    assert sorted(loaded.columns) == ["answer", "question"]
    assert len(loaded.train) == 10 and len(loaded.eval) == 5
    assert set(loaded.train["answer"]).isdisjoint(loaded.eval["answer"])


def test_chat_prompts_with_a_system_prompt(tmp_path, tokenizer):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"text": "A short abstract."}) + "\n")
    data = DataSettings(source=str(path), template="Summarize: {text}", system_prompt="Be brief.")
    loaded = build_prompts(load_data(data, "c.toml", tmp_path), data, tokenizer)
    assert loaded.train[0]["prompt"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Summarize: A short abstract."},
    ]
    plain = DataSettings(source=str(path), template="Summarize: {text}\nSummary:", format="plain")
    loaded = build_prompts(load_data(plain, "c.toml", tmp_path), plain, tokenizer)
    assert loaded.train[0]["prompt"] == "Summarize: A short abstract.\nSummary:"


@pytest.mark.parametrize("fmt", ["chat", "plain"])
def test_truncation_shortens_the_field_and_keeps_the_instruction(tokenizer, fmt):
    long_text = " ".join(f"word{i}" for i in range(400))
    data = DataSettings(source="x", template="Summarize this:\n{text}\nIn one sentence.", format=fmt, max_prompt_tokens=60)
    builder = PromptBuilder(data, tokenizer)
    prompt = builder({"text": long_text})["prompt"]
    text = prompt if fmt == "plain" else prompt[-1]["content"]
    assert builder.count(text) <= 60
    assert builder.count(text) >= 55  # cut to the budget, not far below it
    assert text.startswith("Summarize this:\nword0 word1") and text.endswith("\nIn one sentence.")
    assert builder.truncated == 1
    short = builder({"text": "tiny"})["prompt"]
    assert (short if fmt == "plain" else short[-1]["content"]) == "Summarize this:\ntiny\nIn one sentence."
    assert builder.truncated == 1


def test_left_truncation_keeps_the_end(tokenizer):
    data = DataSettings(source="x", format="plain", truncation_side="left", max_prompt_tokens=20)
    builder = PromptBuilder(data, tokenizer)
    text = builder({"prompt": " ".join(f"w{i}" for i in range(200))})["prompt"]
    assert text.endswith("w199") and not text.startswith("w0 ") and builder.count(text) <= 20
