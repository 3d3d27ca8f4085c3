"""Shared pieces of the trainer tests: a tiny random Llama, test data, a local reward plugin.

The tiny model (hidden 64, 2 layers, SmolLM2's tokenizer, 3.2M parameters) learns nothing
meaningful; it exercises the plumbing at about half a second per step.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

# A reward plugin file the configs load with ``plugins = [...]``: it reaches every process of a
# multi-process run, which a plugin registered in the test process would not.
PLUGIN_SOURCE = textwrap.dedent("""
    import os
    from pathlib import Path
    import signal

    from grpo_rewards import Param, Sample, hookimpl, reward


    @reward("tiny.chars", description="Characters / 10: spread in every group.")
    def chars(sample: Sample) -> float:
        return len(sample.completion) / 10


    @reward("tiny.label", description="The row's label; None for completions of odd length.",
            params=[Param("column", str, "label", "the label column", column=True)])
    def label(sample: Sample, column: str):
        if len(sample.completion) % 2:
            return None
        return float(sample.columns[column])


    @reward("tiny.rank", description="The rank of the process that scores the row.")
    def rank(sample: Sample) -> float:
        return float(os.environ.get("RANK", "0"))


    @reward("tiny.rank_fails", description="Raises in the process of rank 1, else 1.")
    def rank_fails(sample: Sample) -> float:
        if os.environ.get("RANK", "0") == "1":
            raise RuntimeError("rank 1 fails on purpose")
        return 1.0


    def _countdown(path: str) -> None:
        file = Path(path)
        if not path or not file.exists():
            return
        left = int(file.read_text()) - 1
        if left <= 0:
            file.unlink()
            os.kill(os.getpid(), signal.SIGINT)
        else:
            file.write_text(str(left))


    @reward("tiny.interrupt", description="0; on the Nth call while the countdown file exists it sends "
            "SIGINT to its own process (Ctrl-C during a step). Batched: one call per step.",
            params=[Param("countdown_file", str, "", "path of the countdown file")], batched=True)
    def interrupt(samples, countdown_file: str):
        _countdown(countdown_file)
        return [0.0 for _ in samples]


    @hookimpl
    def register_rewards(register):
        for fn in (chars, label, rank, rank_fails, interrupt):
            register(fn)
""")


def build_tiny_model(folder: Path) -> Path:
    """Save a random-init tiny Llama with SmolLM2's tokenizer and chat template to ``folder``."""
    import torch
    from grpo_rewards.trainer.model import builtin_tokenizer
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = builtin_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_data(path: Path, rows: int = 16) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(rows):
            text = f"Note {i}: the quick brown fox jumps over the lazy dog. " * (1 + i % 3)
            handle.write(json.dumps({"text": text, "label": i % 2}) + "\n")
    return path


GRPO_DEFAULTS = {
    "num_generations": "4",
    "per_device_train_batch_size": "8",
    "max_completion_length": "12",
    "max_steps": "3",
    "learning_rate": "1e-3",
}


def _grpo_lines(extra: str) -> str:
    given = {line.split("=", 1)[0].strip() for line in extra.splitlines() if "=" in line}
    defaults = [f"{k} = {v}" for k, v in GRPO_DEFAULTS.items() if k not in given]
    return "\n".join([*defaults, extra])


# the reward set most trainer tests use: one per-row score and one per-label score
CHARS_AND_LABEL = """
[[rewards]]
use = "tiny.chars"
name = "chars"
weight = 1.0

[[rewards]]
use = "tiny.label"
name = "label"
weight = 0.5
"""


def write_run_files(
    folder: Path, model_dir: Path, *, rewards: str, grpo: str = "", output: str = "", model_extra: str = "", data_extra: str = ""
) -> Path:
    """A plugin file, data and a trainer config in ``folder``; returns the config path.

    ``grpo`` lines replace the defaults of the same keys.
    """
    (folder / "tiny_rewards.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    write_data(folder / "data.jsonl")
    config = f'''
plugins = ["tiny_rewards.py"]

[model]
name = "{model_dir}"
{model_extra}

[data]
source = "data.jsonl"
template = "Summarize: {{text}}"
system_prompt = "Be brief."
max_prompt_tokens = 48
{data_extra}

{rewards}

[grpo]
{_grpo_lines(grpo)}

[output]
dir = "{folder / "out"}"
progress = "none"
{output}
'''
    path = folder / "config.toml"
    path.write_text(config, encoding="utf-8")
    return path
