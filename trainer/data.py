"""Training prompts: load a ``datasets`` source, rename columns, render and truncate prompts.

The columns are checked against the template and the reward set before the tokenizer or model
is loaded. Prompts are truncated here, by tokens, because TRL 1.16 no longer does it: the
longest template field is shortened (not the rendered prompt), so the instruction around it
survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpo_rewards.config import ConfigError, ConfigProblem
from grpo_rewards.datasets import is_builtin, load_builtin
from grpo_rewards.errors import InputError
from grpo_rewards.params import did_you_mean
from grpo_rewards.rewardset import RewardSet

from .config import DataSettings

LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
# Keyword names TRL passes to reward functions itself: a column of that name would collide.
RESERVED_COLUMNS = ("prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric")


@dataclass
class LoadedData:
    """The train (and optional held-out) split, with the prompt not yet rendered."""

    train: Any  # datasets.Dataset
    eval: Any | None
    description: str

    @property
    def columns(self) -> list[str]:
        return list(self.train.column_names)


def load_data(data: DataSettings, config_source: str, base_dir: Path) -> LoadedData:
    """Load and rename; raises ConfigError naming ``data.<key>`` when the data does not fit."""
    train = _load_split(data, data.split, config_source, base_dir, "split")
    eval_ds = None
    if data.eval_split:
        eval_ds = _load_split(data, data.eval_split, config_source, base_dir, "eval_split")
    elif data.eval_fraction:
        parts = train.train_test_split(test_size=data.eval_fraction, seed=0)
        train, eval_ds = parts["train"], parts["test"]
    if data.limit is not None:
        train = train.select(range(min(data.limit, len(train))))
    if eval_ds is not None and data.eval_limit is not None:
        eval_ds = eval_ds.select(range(min(data.eval_limit, len(eval_ds))))
    train = _rename(train, data, config_source)
    if eval_ds is not None:
        eval_ds = _rename(eval_ds, data, config_source)
    if len(train) == 0:
        raise ConfigError.single(config_source, "data", "split", f"{data.source} split {data.split!r} has no rows")
    description = f"{data.source} [{data.split}] {len(train)} rows" + (
        f", held out {len(eval_ds)}" if eval_ds is not None else ""
    )
    return LoadedData(train, eval_ds, description)


def _load_split(data: DataSettings, split: str, config_source: str, base_dir: Path, key: str):
    import datasets

    source = data.source
    try:
        if is_builtin(source):
            rows, _ = load_builtin(source, {**data.options, "split": split})
            return datasets.Dataset.from_list(rows)
        path = Path(source).expanduser()
        if not path.is_absolute() and (base_dir / path).exists():
            path = base_dir / path
        if path.is_file():
            kind = LOCAL_FORMATS.get(path.suffix.lower())
            if kind is None:
                raise ValueError(f"unknown file type {path.suffix!r}; expected {', '.join(LOCAL_FORMATS)}")
            if not split.startswith("train"):
                raise KeyError(f"a single file is the 'train' split (or a slice like 'train[:100]'), not {split!r}")
            return datasets.load_dataset(kind, data_files=str(path), split=split)
        if path.is_dir():
            return datasets.load_dataset(str(path), data.subset, split=split)
        if source.startswith((".", "/", "~")) or Path(source).suffix.lower() in LOCAL_FORMATS:
            raise FileNotFoundError(f"no such file: {source}")
        return datasets.load_dataset(source, data.subset, split=split)
    except ConfigError:
        raise
    except (KeyError, ValueError, FileNotFoundError, InputError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise ConfigError.single(
            config_source, "data", "source" if key == "split" else key, f"cannot load {source!r} split {split!r}: {message}"
        ) from None
    except Exception as exc:  # datasets raises many types (hub offline, bad file, ...)
        raise ConfigError.single(
            config_source, "data", "source", f"cannot load {source!r} split {split!r}: {type(exc).__name__}: {exc}"
        ) from None


def _rename(dataset, data: DataSettings, config_source: str):
    present = list(dataset.column_names)
    problems = [
        ConfigProblem(
            config_source,
            "data.columns",
            new,
            f"source column {old!r} is not in {data.source}{did_you_mean(old, present)}; it has {', '.join(present)}",
        )
        for new, old in data.columns.items()
        if old not in present
    ]
    if problems:
        raise ConfigError(problems)
    mapping = {old: new for new, old in data.columns.items() if old != new}
    clashing = [new for old, new in mapping.items() if new in present and new not in mapping]
    if clashing:
        dataset = dataset.remove_columns(clashing)
    if mapping:
        dataset = dataset.rename_columns(mapping)
    reserved = [c for c in RESERVED_COLUMNS if c in dataset.column_names]
    return dataset.remove_columns(reserved) if reserved else dataset


def column_problems(
    data: DataSettings, columns: list[str], reward_set: RewardSet | None, config_source: str
) -> list[ConfigProblem]:
    """Template fields and reward columns the data lacks."""
    problems = []
    for name in data.template_fields():
        if name not in columns:
            key = "template" if data.template is not None else "prompt_column"
            problems.append(
                ConfigProblem(
                    config_source,
                    "data",
                    key,
                    f"column {name!r} is not in {data.source}{did_you_mean(name, columns)}; it has {', '.join(columns)}",
                )
            )
    if reward_set is not None:  # None: the set has problems of its own
        problems += reward_set.column_problems(columns, f"data {data.source!r}")
    return problems


class PromptBuilder:
    """Renders one row into TRL's ``prompt`` (a string, or chat messages) within a token budget."""

    def __init__(self, data: DataSettings, tokenizer) -> None:
        self.data = data
        self.tokenizer = tokenizer
        self.fields = data.template_fields()
        self.truncated = 0

    def messages(self, text: str) -> list[dict[str, str]]:
        out = []
        if self.data.system_prompt:
            out.append({"role": "system", "content": self.data.system_prompt})
        out.append({"role": "user", "content": text})
        return out

    def render(self, values: dict[str, str]) -> str:
        if self.data.template is None:
            return values[self.data.prompt_column]
        return self.data.template.format(**values)

    def prompt(self, text: str) -> Any:
        return self.messages(text) if self.data.format == "chat" else text

    def count(self, text: str) -> int:
        """Tokens of the prompt as TRL will tokenize it (chat template and generation prompt included)."""
        if self.data.format == "chat":
            ids = self.tokenizer.apply_chat_template(self.messages(text), tokenize=True, add_generation_prompt=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return len(ids)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        values = {name: "" if row[name] is None else str(row[name]) for name in self.fields}
        text = self.render(values)
        budget = self.data.max_prompt_tokens
        if budget is not None:
            text = self._fit(values, text, budget)
        return {"prompt": self.prompt(text)}

    def _fit(self, values: dict[str, str], text: str, budget: int) -> str:
        over = self.count(text) - budget
        if over <= 0:
            return text
        self.truncated += 1
        longest = max(self.fields, key=lambda f: len(values[f]))
        ids = self.tokenizer(values[longest], add_special_tokens=False)["input_ids"]
        for _ in range(4):  # re-tokenising decoded text can shift a token or two: converge
            keep = max(0, len(ids) - over - 1)
            ids = ids[:keep] if self.data.truncation_side == "right" else ids[len(ids) - keep :]
            values = {**values, longest: self.tokenizer.decode(ids, skip_special_tokens=True)}
            text = self.render(values)
            over = self.count(text) - budget
            if over <= 0 or not ids:
                return text
        return text


def build_prompts(loaded: LoadedData, data: DataSettings, tokenizer, log=print) -> LoadedData:
    """Add the rendered ``prompt`` column to each split, truncated to ``max_prompt_tokens``."""
    out = []
    for split in (loaded.train, loaded.eval):
        if split is None:
            out.append(None)
            continue
        builder = PromptBuilder(data, tokenizer)
        rows = [builder(row) for row in split]
        prompt_free = split.remove_columns("prompt") if "prompt" in split.column_names else split
        out.append(prompt_free.add_column("prompt", [r["prompt"] for r in rows]))
        if builder.truncated:
            log(f"truncated {builder.truncated} of {len(split)} prompts to {data.max_prompt_tokens} tokens")
    return LoadedData(out[0], out[1], loaded.description)
