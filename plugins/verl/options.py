"""What a verl config tells the adapter: the reward set and how verl's row maps onto its columns.

verl hands a custom reward function ``data_source``, ``solution_str``, ``ground_truth`` and
``extra_info``, merged with ``custom_reward_function.reward_kwargs`` from its config (the config's
values win). Those kwargs are read here, once per distinct configuration; a key that looks like a
misspelt option is refused with "did you mean", so a typo never silently scores with defaults.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpo_rewards.errors import ConfigError, ConfigProblem

SET_ENV = "GRPO_REWARDS_VERL_SET"  # the reward set's path when reward_kwargs names none
SOURCE = "custom_reward_function.reward_kwargs"
SHAPES = ("scalar", "any", "fields")
# what verl itself adds to the call (the reward loop, with a reward-model router): accepted, unused
VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})
log = logging.getLogger("grpo_rewards.verl")


@dataclass(frozen=True)
class VerlOptions:
    """The adapter's settings; hashable, so that each distinct one is loaded once per process.

    - ``reward_set``: path of the reward-set file (or a config holding one); absolute paths are
      safest on Ray workers, whose working folder may differ.
    - ``ground_truth_column``: the set's column that verl's ``ground_truth`` fills. Empty: the one
      column the set reads, when it reads exactly one; none when it reads none.
    - ``ground_truth_shape``: ``scalar`` (default: a string or a finite number, anything else is a
      counted problem), ``any`` (lists and mappings too, passed as they are), ``fields`` (a mapping
      whose keys are columns of the row).
    - ``columns``: renames, set column -> ``extra_info`` key; other ``extra_info`` keys are columns
      of the same name. ``ground_truth`` wins over an ``extra_info`` key of its column's name.
    - ``prompt_key``: the ``extra_info`` key holding the prompt text (judges read it).
    - ``none_score``: what verl gets as ``score`` for a row with no total (verl needs a number).
    - ``none_reward_value``: what ``rewards/<name>`` holds where that reward gave None: None (verl's
      validation metrics leave it out) or a number (verl's GDPO estimator reads these keys as
      float32, where None becomes NaN and spreads over the batch's advantages).
    - ``max_column_chars``: a longer value in a column the set reads (the gold above all) or in the
      prompt makes the row a counted problem: no reward parses it.
    - ``batch_window``: seconds the async variant waits to gather rows into one batch.
    """

    reward_set: str
    ground_truth_column: str = ""
    ground_truth_shape: str = "scalar"
    columns: tuple[tuple[str, str], ...] = ()
    prompt_key: str = "prompt"
    none_score: float = 0.0
    none_reward_value: float | None = None
    max_column_chars: int = 100_000
    batch_window: float = 0.005
    max_batch: int = 1024


_KNOWN = {
    "reward_set",
    "ground_truth_column",
    "ground_truth_shape",
    "columns",
    "prompt_key",
    "none_score",
    "none_reward_value",
    "max_column_chars",
    "batch_window",
    "max_batch",
}
_warned_unknown: set[str] = set()


def _problem(key: str, message: str) -> ConfigProblem:
    return ConfigProblem(SOURCE, "grpo_rewards.plugins.verl", key, message)


def read_options(kwargs: Mapping[str, Any]) -> VerlOptions:
    """The options in verl's kwargs (plus :data:`SET_ENV`); every problem reported at once."""
    problems: list[ConfigProblem] = []
    for key in kwargs:
        if key in _KNOWN or key in VERL_KWARGS:
            continue
        close = difflib.get_close_matches(key, sorted(_KNOWN), n=1, cutoff=0.75)
        if close:
            problems.append(_problem(key, f"unknown option; did you mean {close[0]!r}?"))
        elif key not in _warned_unknown:  # a newer verl may pass more: never fatal, said once
            _warned_unknown.add(key)
            log.warning("grpo-rewards verl adapter: ignoring keyword %r (not one of its options)", key)

    reward_set = kwargs.get("reward_set") or os.environ.get(SET_ENV, "")
    if not isinstance(reward_set, (str, os.PathLike)) or not str(reward_set):
        problems.append(_problem("reward_set", f"missing: give the reward-set file's path in reward_kwargs or in ${SET_ENV}"))
        reward_set = ""
    elif not Path(reward_set).is_file():
        problems.append(_problem("reward_set", f"{str(reward_set)!r} is not a file (working folder: {os.getcwd()})"))

    def text(key: str, default: str) -> str:
        value = kwargs.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            problems.append(_problem(key, f"expected a string, got {type(value).__name__}"))
            return default
        return value

    def number(key: str, default: float, low: float, integer: bool = False) -> Any:
        value = kwargs.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < low:
            problems.append(_problem(key, f"expected a finite number >= {low}, got {value!r}"))
            return default
        if integer and value != int(value):
            problems.append(_problem(key, f"expected a whole number, got {value!r}"))
            return default
        return int(value) if integer else float(value)

    shape = text("ground_truth_shape", "scalar")
    if shape not in SHAPES:
        problems.append(_problem("ground_truth_shape", f"expected one of {', '.join(SHAPES)}, got {shape!r}"))
    renames: list[tuple[str, str]] = []
    raw_columns = kwargs.get("columns") or {}
    if not isinstance(raw_columns, Mapping):  # OmegaConf's DictConfig is a Mapping
        problems.append(
            _problem("columns", f"expected a mapping of set column -> extra_info key, got {type(raw_columns).__name__}")
        )
    else:
        for column, key in raw_columns.items():
            if not isinstance(column, str) or not isinstance(key, str) or not column or not key:
                problems.append(_problem("columns", f"entry {column!r}: {key!r}: both must be non-empty strings"))
            else:
                renames.append((column, key))
    none_score = number("none_score", 0.0, -math.inf)
    none_reward_value = None if kwargs.get("none_reward_value") is None else number("none_reward_value", 0.0, -math.inf)
    options = VerlOptions(
        reward_set=str(Path(reward_set).resolve()) if reward_set else "",
        ground_truth_column=text("ground_truth_column", ""),
        ground_truth_shape=shape,
        columns=tuple(sorted(renames)),
        prompt_key=text("prompt_key", "prompt"),
        none_score=none_score,
        none_reward_value=none_reward_value,
        max_column_chars=number("max_column_chars", 100_000, 1, integer=True),
        batch_window=number("batch_window", 0.005, 0.0),
        max_batch=number("max_batch", 1024, 1, integer=True),
    )
    if problems:
        raise ConfigError(problems)
    return options
