"""Rows, reward sets and a tokenizer shaped the way verl's reward code expects them, for the verl tests.

The tokenizer is a real Hugging Face fast tokenizer (byte-level, one token per byte, built in
code in milliseconds), so verl's own ``decode`` turns token ids back into exactly the text a row
was built from. Rows are DataProto items laid out as verl's agent loop lays them out (left-padded
prompt, right-padded response, one attention mask over both; ``data_source``, ``reward_model`` with
``ground_truth``, ``extra_info``).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

VERL_VERSION = "0.9.1"  # the version these tests read verl's reward code at (requirements-verl.txt)

# A batched reward that records, per call, the process and the batch size it was given: how the
# tests see where verl's calls land and how rows were gathered. Importing it records the process.
PROBE_PLUGIN = """
import os
from grpo_rewards import Param, hookimpl, reward

LOG = os.environ["VERL_PROBE_LOG"]
with open(LOG, "a") as f:
    f.write(f"load {os.getpid()}\\n")


@reward("probe.batches", description="1.0 per row; writes the batch size it was called with.",
        params=[Param("tag", str, "x", "a label")], batched=True, value_range=(0, 1))
def batches(samples, tag):
    with open(LOG, "a") as f:
        f.write(f"batch {os.getpid()} {len(samples)}\\n")
    return [1.0 for _ in samples]


@hookimpl
def register_rewards(register):
    register(batches)
"""

MATH_SET = """
[[rewards]]
use = "math.correct"
name = "correct"
weight = 1.0
params = { answer_column = "answer", extractors = ["answer_tag"] }

[[rewards]]
use = "xml.format"
name = "format"
weight = 0.5
params = { elements = ["think", "answer"] }
"""


def write_set(folder: Path, text: str = MATH_SET, probe: bool = False) -> Path:
    """A reward-set file in ``folder`` (with the probe plugin beside it when asked)."""
    head = ""
    if probe:
        (folder / "verl_probe_plugin.py").write_text(PROBE_PLUGIN)
        head = 'plugins = ["verl_probe_plugin.py"]\n'
        text += '\n[[rewards]]\nuse = "probe.batches"\nname = "probe"\nweight = 0.0\n'
    path = folder / "rewards.toml"
    path.write_text(head + textwrap.dedent(text))
    return path


def byte_tokenizer(folder: Path) -> Path:
    """Save a byte-level fast tokenizer (pad and eos special) to ``folder``: what verl loads by path."""
    from tokenizers import Tokenizer, decoders, models
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(ByteLevel.alphabet()))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>").save_pretrained(folder)
    return folder


def data_proto(tokenizer: Any, rows: list[dict[str, Any]]) -> Any:
    """A verl DataProto of ``rows`` (``solution``, ``ground_truth``, ``extra_info``, ``data_source``)."""
    import numpy as np
    import torch
    from verl import DataProto

    prompts = [tokenizer("Q:")["input_ids"] for _ in rows]
    responses = [tokenizer(row["solution"])["input_ids"] + [tokenizer.eos_token_id] for row in rows]
    p_len = max(len(p) for p in prompts)
    r_len = max(max(len(r) for r in responses), 1)
    pad = tokenizer.pad_token_id
    prompt_t = torch.tensor([[pad] * (p_len - len(p)) + p for p in prompts])
    response_t = torch.tensor([r + [pad] * (r_len - len(r)) for r in responses])
    mask = torch.tensor(
        [[0] * (p_len - len(p)) + [1] * len(p) + [1] * len(r) + [0] * (r_len - len(r)) for p, r in zip(prompts, responses)]
    )

    def objects(values: list[Any]) -> Any:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    return DataProto.from_dict(
        tensors={"prompts": prompt_t, "responses": response_t, "attention_mask": mask},
        non_tensors={
            "data_source": objects([row.get("data_source", "gsm8k") for row in rows]),
            "reward_model": objects([{"ground_truth": row.get("ground_truth")} for row in rows]),
            "extra_info": objects([dict(row.get("extra_info") or {}) for row in rows]),
        },
    )


def verl_config(
    tokenizer_dir: Path,
    reward_kwargs: dict[str, Any],
    name: str = "compute_score",
    path: str = "pkg://grpo_rewards.plugins.verl",
    manager: str = "naive",
    workers: int = 1,
) -> Any:
    """The part of verl's trainer config its reward code reads, as OmegaConf (as verl's Hydra gives it)."""
    from omegaconf import OmegaConf

    return OmegaConf.create(
        {
            "actor_rollout_ref": {"model": {"path": str(tokenizer_dir), "tokenizer_path": None}},
            "reward": {
                "num_workers": workers,
                "custom_reward_function": {"path": path, "name": name, "reward_kwargs": reward_kwargs},
                "reward_manager": {
                    "source": "register",
                    "name": manager,
                    "module": {"path": None, "name": "custom_reward_manager"},
                },
                "reward_model": {"enable": False, "enable_resource_pool": False, "model_path": None},
            },
        }
    )
