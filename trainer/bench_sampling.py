"""The bench's sampler: G completions per held-out prompt, as the trainer would, with a cache.

The core bench never imports the trainer: it asks for a sampler through the ``bench_sampler``
hook, which the trainer's plugin module answers with :data:`SAMPLER`. The model is loaded by the
trainer's own code (``model``: hub ids, folders, GGUF files and ``builtin:smollm2``;
``generate``: run folders and LoRA adapters). Prompts are rendered by the trainer's PromptBuilder (template, system prompt, chat
format, token budget) and sampled with the settings TRL's GRPOTrainer uses: ``temperature``,
``top_p``, ``top_k``, ``min_p``, ``repetition_penalty``, ``max_completion_length`` and
``generation_kwargs`` from the trainer config's ``[grpo]`` (TRL's defaults where unset), then the
``[bench]`` overrides. Generations are cached per model + settings + prompt text, so a re-run
with nothing changed samples nothing, and any change (weights, a setting, a prompt) misses.

Nothing here imports torch at module level: the functions that need it import it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpo_rewards.bench.data import Completion, PromptGroup
from grpo_rewards.bench.settings import BenchConfig
from grpo_rewards.errors import InputError

CACHE_VERSION = 1
SAMPLING_FIELDS = (
    "num_generations",
    "max_completion_length",
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "repetition_penalty",
    "generation_kwargs",
)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


@dataclass(frozen=True)
class Sampling:
    """The sampling settings of a run (what GRPOTrainer passes to ``generate``), and the seed."""

    num_generations: int
    max_completion_length: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = 0
    min_p: float | None = None
    repetition_penalty: float = 1.0
    generation_kwargs: Mapping[str, Any] | None = None
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def generate_kwargs(self, tokenizer, model) -> dict[str, Any]:
        """Keyword arguments for ``model.generate``, built as TRL 1.16's GRPOTrainer builds them."""
        eos = model.generation_config.eos_token_id
        eos = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
        if tokenizer.eos_token_id not in eos:
            eos = [tokenizer.eos_token_id, *eos]
        kwargs = {
            "max_new_tokens": self.max_completion_length,
            "do_sample": self.temperature > 0,
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": eos,
            # greedy decoding gives one completion, repeated (GRPO would see no spread at all)
            "num_return_sequences": self.num_generations if self.temperature > 0 else 1,
        }
        if self.temperature > 0:
            kwargs.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k, min_p=self.min_p)
        kwargs["repetition_penalty"] = self.repetition_penalty
        kwargs.update(self.generation_kwargs or {})
        return kwargs


def resolve_sampling(
    bench: Mapping[str, Any],
    grpo: Mapping[str, Any] | None = None,
    num_generations: int | None = None,
    seed: int = 0,
) -> Sampling:
    """TRL's GRPOConfig defaults < the trainer's small-run defaults < ``[grpo]`` < ``[bench]`` < the CLI."""
    from .config import SMALL_RUN_DEFAULTS, grpo_fields

    fields = grpo_fields()
    values: dict[str, Any] = {}
    for name in SAMPLING_FIELDS:
        f = fields.get(name)
        if f is not None and f.default is not dataclasses.MISSING:
            values[name] = f.default
    values.update({k: v for k, v in SMALL_RUN_DEFAULTS.items() if k in SAMPLING_FIELDS})
    values.update({k: v for k, v in (grpo or {}).items() if k in SAMPLING_FIELDS})
    values.update({k: v for k, v in bench.items() if k in SAMPLING_FIELDS})
    if num_generations is not None:
        values["num_generations"] = num_generations
    extra = values.get("generation_kwargs")
    if isinstance(extra, str):
        extra = json.loads(extra)
    values["generation_kwargs"] = dict(extra) if extra else None
    return Sampling(seed=seed, **values)


# -- the model ------------------------------------------------------------------------------------
@dataclass
class LoadedModel:
    """A model ready to sample from, and what identifies its weights for the cache."""

    model: Any
    tokenizer: Any
    identity: str
    description: str


def fingerprint(folder: Path) -> str:
    """The folder's path with the size and mtime of each weight and config file in it."""
    parts = [str(folder.resolve())]
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.suffix in WEIGHT_SUFFIXES or path.name.endswith("config.json")):
            stat = path.stat()
            parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def load_model(
    name: str,
    base_dir: Path | None = None,
    *,
    chat_template: str | None = None,
    dtype: str = "auto",
    grpo: Mapping[str, Any] | None = None,
    log: Callable[[str], None] = print,
) -> LoadedModel:
    """A model by name: a run folder (its ``final/``), a saved model or LoRA adapter folder, a
    GGUF file, ``builtin:<name>`` or a hub id; on CUDA when the trainer would use it."""
    import transformers

    from .device import choose_device
    from .model import load_tokenizer, local_folder, resolve_model

    transformers.utils.logging.disable_progress_bar()  # no per-file bars inside the bench's own output
    device = choose_device(dtype, grpo)
    path = Path(name).expanduser()
    if base_dir is not None and not path.is_absolute() and not path.exists() and (base_dir / path).exists():
        path = base_dir / path
    if path.is_dir():
        from .generate import load_for_generation, resolve_model_dir

        folder = resolve_model_dir(path)
        model, tokenizer = load_for_generation(folder)
        if hasattr(model, "merge_and_unload"):  # a LoRA adapter: merged once, sampled fast
            model = model.merge_and_unload()
        identity, description = fingerprint(folder), f"{folder}"
        if (folder / "adapter_config.json").is_file():
            base = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8")).get("base_model_name_or_path")
            identity += f"|base={base}"
            description += f" (LoRA adapter on {base})"
    else:
        import torch
        from transformers import AutoModelForCausalLM

        source = resolve_model(name, base_dir)
        location = local_folder(source, log=log)
        tokenizer = load_tokenizer(location)
        model = AutoModelForCausalLM.from_pretrained(location, dtype=getattr(torch, device.dtype))
        identity = fingerprint(Path(location)) if Path(location).is_dir() else f"hub:{location}"
        description = source.describe()
    if chat_template:
        template = Path(chat_template).expanduser()
        if base_dir is not None and not template.is_absolute():
            template = base_dir / template
        tokenizer.chat_template = template.read_text(encoding="utf-8") if chat_template.endswith(".jinja") else chat_template
        identity += "|template=" + hashlib.sha256(tokenizer.chat_template.encode()).hexdigest()[:12]
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not device.use_cpu:
        model = model.to("cuda")
    model.eval()
    return LoadedModel(model, tokenizer, f"{identity}|dtype={next(model.parameters()).dtype}", description)


# -- prompts --------------------------------------------------------------------------------------
class PromptRenderer:
    """Renders a group's prompt as the trainer would (trainer DataSettings + PromptBuilder)."""

    def __init__(self, data_settings, tokenizer) -> None:
        from .data import PromptBuilder

        self.settings = data_settings
        self.tokenizer = tokenizer
        self.builder = PromptBuilder(data_settings, tokenizer)

    def prompt(self, group: PromptGroup) -> Any:
        if isinstance(group.prompt, list) and group.prompt:  # chat messages given as they are
            return group.prompt
        row = {**group.columns, "prompt": group.prompt}
        return self.builder(row)["prompt"]

    def model_text(self, prompt: Any) -> str:
        """The exact text the model continues: the chat template with a generation prompt, or the string."""
        if isinstance(prompt, list):
            return self.tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        return str(prompt)


def default_data_settings(tokenizer, system_prompt: str | None = None):
    """Prompt settings for a reward-set config: the ``prompt`` column, chat when the model has a template."""
    from .config import DataSettings

    chat = bool(getattr(tokenizer, "chat_template", None))
    return DataSettings(source="--prompts", format="chat" if chat else "plain", system_prompt=system_prompt if chat else None)


# -- the cache ------------------------------------------------------------------------------------
class GenerationCache:
    """Completions per prompt text, in one file per (model weights, sampling settings) key."""

    def __init__(self, folder: Path, model_identity: str, sampling: Sampling) -> None:
        material = json.dumps(
            {"version": CACHE_VERSION, "model": model_identity, "sampling": sampling.as_dict()}, sort_keys=True, default=str
        )
        self.key = hashlib.sha256(material.encode()).hexdigest()
        self.path = Path(folder) / f"{self.key[:24]}.json"
        self.entries: dict[str, Any] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("key") == self.key:
                    self.entries = data.get("entries", {})
            except (OSError, ValueError):
                self.entries = {}  # a damaged cache file is only a miss
        self.meta = {"key": self.key, "model": model_identity, "sampling": sampling.as_dict()}

    @staticmethod
    def prompt_key(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, text: str) -> list[dict[str, Any]] | None:
        return self.entries.get(self.prompt_key(text))

    def put(self, text: str, items: list[dict[str, Any]]) -> None:
        self.entries[self.prompt_key(text)] = items

    def save(self) -> None:
        """Write atomically: a temporary file renamed into place."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, suffix=".partial", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({**self.meta, "entries": self.entries}, handle, ensure_ascii=False, default=str)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# -- sampling -------------------------------------------------------------------------------------
def sample_batch(loaded: LoadedModel, texts: Sequence[str], sampling: Sampling) -> list[list[dict[str, Any]]]:
    """``num_generations`` completions for each text: decoded text, token ids (to the first EOS,
    excluded) and whether it ran into ``max_completion_length``."""
    import torch

    tokenizer, model = loaded.tokenizer, loaded.model
    kwargs = sampling.generate_kwargs(tokenizer, model)
    eos = set(kwargs["eos_token_id"])
    tokenizer.padding_side = "left"
    batch = tokenizer(list(texts), return_tensors="pt", padding=True, add_special_tokens=False)
    batch = {k: v.to(model.device) for k, v in batch.items()}
    with torch.no_grad():
        output = model.generate(**batch, **kwargs)
    new = output[:, batch["input_ids"].shape[1] :].tolist()
    g = kwargs["num_return_sequences"]
    repeat = sampling.num_generations // g
    out: list[list[dict[str, Any]]] = []
    for i in range(len(texts)):
        items = []
        for ids in new[i * g : (i + 1) * g]:
            end = next((j for j, t in enumerate(ids) if t in eos), None)
            kept = ids if end is None else ids[:end]
            items.append(
                {
                    "text": tokenizer.decode(kept, skip_special_tokens=True),
                    "ids": kept,
                    "truncated": end is None and len(ids) >= sampling.max_completion_length,
                }
            )
        out.append(items * repeat)
    return out


def generate_groups(
    groups: Sequence[PromptGroup],
    loaded: LoadedModel,
    renderer: PromptRenderer,
    sampling: Sampling,
    cache: GenerationCache,
    batch_size: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Fill each group's ``prompt`` (rendered) and ``completions`` (cached or sampled);
    ``progress(n, total)`` after each batch of ``n`` of the ``total`` prompts to sample."""
    import torch

    texts = []
    for group in groups:
        group.prompt = renderer.prompt(group)
        texts.append(renderer.model_text(group.prompt))
    missing = [i for i, text in enumerate(texts) if cache.get(text) is None]
    torch.manual_seed(sampling.seed)
    start = time.perf_counter()
    for begin in range(0, len(missing), batch_size):
        chunk = missing[begin : begin + batch_size]
        for i, items in zip(chunk, sample_batch(loaded, [texts[i] for i in chunk], sampling)):
            cache.put(texts[i], items)
        cache.save()
        if progress:
            progress(len(chunk), len(missing))
    seconds = time.perf_counter() - start
    generated_tokens = sum(len(item["ids"]) for i in missing for item in cache.get(texts[i]))
    for group, text in zip(groups, texts):
        group.completions = [Completion(item["text"], group.columns, item["ids"], item["truncated"]) for item in cache.get(text)]
    return {
        "model": loaded.description,
        "sampling": sampling.as_dict(),
        "cache_file": str(cache.path),
        "prompts": len(groups),
        "generated_prompts": len(missing),
        "cached_prompts": len(groups) - len(missing),
        "seconds": seconds,
        "generated_tokens": generated_tokens,
        "tokens_per_s": generated_tokens / seconds if missing and seconds > 0 else None,
        "truncated_rate": _rate([c.truncated for g in groups for c in g.completions]),
    }


def _rate(flags: Sequence[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return sum(known) / len(known) if known else None


# -- what the bench asks for through the hook ------------------------------------------------------
class TrainerSampler:
    """Samples with the settings of a trainer config (or the defaults, for a reward-set file)."""

    def __init__(
        self, cfg: BenchConfig, cache_dir: str | Path | None, num_generations: int | None, seed: int, log: Callable[[str], None]
    ) -> None:
        from .config import validate_trainer_config
        from .model import cache_dir as project_cache

        self.cfg, self.log, self.seed = cfg, log, seed
        self.num_generations = num_generations
        self.trainer = validate_trainer_config(cfg.trainer_raw, cfg.source, cfg.base_dir) if cfg.is_trainer_config else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else project_cache() / "bench"

    def check_fields(self, groups: Sequence[PromptGroup]) -> None:
        """Every group has the columns the trainer config's template renders, else one InputError."""
        if self.trainer is None or self.trainer.data.template is None:
            return
        needed = self.trainer.data.template_fields()
        bad = [
            f"{g.where}: missing column(s) {', '.join(repr(f) for f in needed if f not in g.columns)} "
            f"that the template of {self.cfg.source} renders"
            for g in groups
            if any(f not in g.columns for f in needed)
        ]
        if bad:
            raise InputError("\n".join(bad[:20]))

    def run(self, model_name: str, groups: list[PromptGroup]) -> dict[str, Any]:
        grpo = self.trainer.grpo if self.trainer else None
        sampling = resolve_sampling(self.cfg.sampling, grpo, self.num_generations, self.seed)
        settings = self.trainer.model if self.trainer else None
        loaded = load_model(
            model_name,
            self.cfg.base_dir,
            chat_template=settings.chat_template if settings else None,
            dtype=settings.dtype if settings else "auto",
            grpo=grpo,
            log=self.log,
        )
        data = self.trainer.data if self.trainer else default_data_settings(loaded.tokenizer, self.cfg.system_prompt)
        renderer = PromptRenderer(data, loaded.tokenizer)
        cache = GenerationCache(self.cache_dir, loaded.identity, sampling)
        self.log(
            f"sampling {sampling.num_generations} completions for each of {len(groups)} prompts with "
            f"{loaded.description} (temperature {sampling.temperature:g}, top_p {sampling.top_p:g}, "
            f"max {sampling.max_completion_length} tokens)"
        )
        from grpo_rewards.terminal import console

        from .progress import CountProgress

        bar: list[CountProgress] = []

        def progress(n: int, total: int) -> None:  # per batch of prompts, with the time left
            if not bar:
                bar.append(CountProgress(total, "prompts sampled", self.log, console))
            bar[0].advance(n)

        try:
            info = generate_groups(groups, loaded, renderer, sampling, cache, self.cfg.batch_size, progress)
        finally:
            if bar:
                bar[0].close()
        if info["cached_prompts"]:
            self.log(f"  {info['cached_prompts']} prompts from the cache {cache.path}")
        return info


class TrainerSamplerFactory:
    """What the ``bench_sampler`` hook returns: reads a trainer config's prompt settings cheaply
    (no torch, no TRL) and opens a :class:`TrainerSampler` when completions must be sampled."""

    def prompt_fields(self, cfg: BenchConfig) -> list[str]:
        """Columns a trainer config's template renders the prompt from (``[]`` for a reward-set file)."""
        from .config import DataSettings

        if not cfg.is_trainer_config:
            return []
        data = cfg.raw.get("data", {})
        template = data.get("template") if isinstance(data, dict) else None
        if isinstance(template, str):
            try:
                return DataSettings(template=template).template_fields()
            except ValueError:
                return []  # the trainer's validation reports the bad template
        column = data.get("prompt_column", "prompt") if isinstance(data, dict) else "prompt"
        return [column] if isinstance(column, str) else []

    def data_options(self, cfg: BenchConfig, prompts: str) -> dict[str, Any]:
        """The config's ``[data] options`` when ``--prompts`` names the same built-in dataset as
        ``[data] source`` (so the held-out rows are the same task, from the test seed or split)."""
        from grpo_rewards.datasets import is_builtin, parse_builtin

        data = cfg.raw.get("data", {}) if cfg.is_trainer_config else {}
        source, options = (data.get("source"), data.get("options")) if isinstance(data, dict) else (None, None)
        if not (isinstance(source, str) and isinstance(options, dict) and is_builtin(source) and is_builtin(prompts)):
            return {}
        ours, theirs = parse_builtin(source), parse_builtin(prompts)
        same = (ours.name, ours.arg) == (theirs.name, theirs.arg)
        return {k: v for k, v in options.items() if k != "split"} if same else {}

    def training_rows(self, cfg: BenchConfig, log: Callable[[str], None]) -> tuple[Any, str] | None:
        """The trainer config's training rows (renamed as the trainer renames them) and their
        description, or None for a reward-set file, a hub dataset (a bench never downloads a
        training set) or data that cannot be loaded here."""
        from grpo_rewards.datasets import is_builtin
        from grpo_rewards.errors import GrpoRewardsError

        from .config import validate_trainer_config
        from .data import load_data

        if not cfg.is_trainer_config:
            return None
        try:
            trainer = validate_trainer_config(cfg.trainer_raw, cfg.source, cfg.base_dir)
            source = trainer.data.source
            local = Path(source).expanduser()
            if not (is_builtin(source) or local.exists() or (cfg.base_dir / local).exists()):
                log(
                    f"held-out prompts are not checked against the training data: {source} is a hub dataset (not downloaded for this)"
                )
                return None
            loaded = load_data(trainer.data, cfg.source, cfg.base_dir)
        except GrpoRewardsError as exc:
            log(f"the training data cannot be loaded, so held-out prompts are not checked against it: {exc}")
            return None
        return loaded.train, loaded.description

    def default_model(self, cfg: BenchConfig) -> str:
        from .config import DEFAULT_MODEL

        model = cfg.raw.get("model", {})
        name = model.get("name") if isinstance(model, dict) else None
        return name if isinstance(name, str) and name else DEFAULT_MODEL

    def open(
        self, cfg: BenchConfig, cache_dir: str | Path | None, num_generations: int | None, seed: int, log: Callable[[str], None]
    ) -> TrainerSampler:
        return TrainerSampler(cfg, cache_dir, num_generations, seed, log)


SAMPLER = TrainerSamplerFactory()
