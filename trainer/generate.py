"""Trying a trained model: completions for prompts, through the model's chat template.

MODEL_DIR may be a saved model, a LoRA adapter folder (its base model is loaded from the path
recorded in adapter_config.json), or a run's output folder (its ``final/`` is used).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def resolve_model_dir(path: str | Path) -> Path:
    """The folder holding the weights: ``path`` itself, or a run folder's ``final/``."""
    path = Path(path).expanduser()
    if (path / "config.json").is_file() or (path / "adapter_config.json").is_file():
        return path
    for child in ("final", "adapter"):
        if (path / child / "config.json").is_file() or (path / child / "adapter_config.json").is_file():
            return path / child
    raise FileNotFoundError(f"{path} holds no saved model (config.json or adapter_config.json), nor a run's final/")


def read_prompts(path: str | Path) -> list[str]:
    """Prompts from a JSONL file: each line a string or an object with a ``prompt`` field."""
    prompts = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        value = json.loads(line)
        if isinstance(value, dict):
            value = value.get("prompt")
        if not isinstance(value, str):
            raise ValueError(f"{path}:{number}: expected a string or an object with a 'prompt' string")
        prompts.append(value)
    return prompts


def load_for_generation(model_dir: Path):
    """(model, tokenizer) in eval mode; adapters are loaded on their base model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if (model_dir / "adapter_config.json").is_file():
        from peft import AutoPeftModelForCausalLM

        model = AutoPeftModelForCausalLM.from_pretrained(model_dir)
    else:
        model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return model, tokenizer


def generate(
    model,
    tokenizer,
    prompts: Iterable[str],
    *,
    max_new_tokens: int = 128,
    temperature: float = 0.0,
    system_prompt: str | None = None,
    chat: bool = True,
    batch_size: int = 8,
) -> list[str]:
    """Completions for ``prompts`` (greedy when temperature is 0), one per prompt, in order."""
    import torch

    prompts = list(prompts)
    texts = []
    for prompt in prompts:
        if chat and tokenizer.chat_template:
            messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
                {"role": "user", "content": prompt}
            ]
            texts.append(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))
        else:
            texts.append(prompt)
    options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": tokenizer.pad_token_id}
    options.update({"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False})
    outputs = []
    tokenizer.padding_side = "left"
    for start in range(0, len(texts), batch_size):
        batch = tokenizer(texts[start : start + batch_size], return_tensors="pt", padding=True, add_special_tokens=False)
        batch = {k: v.to(model.device) for k, v in batch.items()}
        with torch.no_grad():
            ids = model.generate(**batch, **options)
        new = ids[:, batch["input_ids"].shape[1] :]
        outputs += tokenizer.batch_decode(new, skip_special_tokens=True)
    return outputs
