"""reasoning-gym tasks as offline datasets: look a task up, check its options, generate rows.

reasoning-gym (the optional ``[gym]`` extra) builds item ``i`` of a task from ``Random(seed + i)``,
so two splits drawn from nearby seeds would share items. Each split therefore starts its seeds far
from the others (:data:`SPLIT_OFFSETS`): with the same base ``seed``, train rows use seeds
``seed .. seed+size-1`` and test rows ``seed+1,000,000 ..``; every row records the seed it came from.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from grpo_rewards.errors import InputError
from grpo_rewards.params import did_you_mean

from . import decisions

PACKAGE = "reasoning_gym"
INSTALL = "pip install 'grpo-rewards[gym]'"
SPLIT_OFFSETS = {"train": 0, "test": 1_000_000, "validation": 2_000_000}
MAX_SIZE = 100_000
DEFAULT_SIZE = 200
DEFAULT_SEED = 0
OWN_OPTIONS = ("size", "seed", "split")

# Tasks whose own scorer (reasoning-gym 0.1.25) runs text through Python ``eval`` or sympy's
# ``parse_expr`` (which evaluates too): the model's answer in most, the row's gold answer or
# metadata in number_sorting and bitwise_arithmetic. Text is never run as code here, so these tasks
# are refused; tests/test_gym.py re-reads the installed scorers and fails if one is missing.
UNSAFE_SCORERS = frozenset(
    {
        "binary_matrix",
        "bitwise_arithmetic",
        "countdown",
        "intermediate_integration",
        "n_queens",
        "number_sorting",
        "polynomial_multiplication",
        "puzzle24",
        "simple_integration",
        "spiral_matrix",
        "string_insertion",
    }
)
# Tasks that need more than a generator and a scorer (a composite of others, a bundled corpus of
# programs to execute): not offered.
UNSUPPORTED = frozenset({"composite", "codeio"})


def installed() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


def require() -> Any:
    """The reasoning_gym module, or an InputError with the exact install line."""
    if not installed():
        raise InputError(f"reasoning-gym tasks need the [gym] extra: {INSTALL}")
    import reasoning_gym

    return reasoning_gym


def all_tasks() -> dict[str, tuple[type, type]]:
    """Task name -> (dataset class, config class), as reasoning-gym registers them."""
    return dict(sorted(require().factory.DATASETS.items()))


def refusal(task: str) -> str | None:
    """Why a task is not offered, or None."""
    if task in UNSAFE_SCORERS:
        return "its scorer evaluates text as code (eval / sympy parse_expr)"
    if task in UNSUPPORTED:
        return "it needs more than a generator and a scorer"
    if task in decisions.REFUSED:
        return "the audit refuses it: " + decisions.REFUSED[task]
    return None


@cache
def decision(task: str) -> decisions.Decision:
    """How the task is scored (its own scorer, strictly, or refused), as the audit decided."""
    why = refusal(task)
    if why:
        return decisions.Decision("refused", why)
    dataset_cls, _ = all_tasks()[task]
    return decisions.decide(task, default_scorer=uses_default_scorer(dataset_cls))


def uses_default_scorer(dataset_cls: type) -> bool:
    """Whether the task keeps reasoning-gym's default (substring-crediting) scorer."""
    base = require().dataset.ProceduralDataset
    return getattr(dataset_cls, "score_answer", None) is base.score_answer


def check_task(task: str | None) -> tuple[type, type]:
    """The classes of a usable task, or an InputError (did you mean, or why it is refused)."""
    tasks = all_tasks()
    if not task:
        raise InputError("builtin:gym needs a task: builtin:gym:<task> (see `grpo-rewards gym list`)")
    if task not in tasks:
        hint = did_you_mean(task, tasks) or "; see `grpo-rewards gym list`"
        raise InputError(f"unknown reasoning-gym task {task!r}{hint}")
    why = refusal(task)
    if why:
        raise InputError(f"reasoning-gym task {task!r} is not supported: {why}")
    return tasks[task]


def task_options(task: str) -> dict[str, dataclasses.Field]:
    """The task's own configuration options (its config dataclass fields, less seed and size)."""
    _, config_cls = check_task(task)
    return {f.name: f for f in dataclasses.fields(config_cls) if f.name not in OWN_OPTIONS}


def option_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return None


def _coerce(task: str, name: str, field: dataclasses.Field, value: Any) -> Any:
    """A value given as text (``?max_terms=3``) turned into the option's type; typed values pass."""
    if not isinstance(value, str):
        return value
    kind = _base_type(field)
    try:
        if kind is bool:
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if kind in (int, float):
            return kind(value)
        if kind in (list, tuple):
            items = [v.strip() for v in value.split(",") if v.strip()]
            return kind(items)
    except ValueError:
        raise InputError(f"builtin:gym:{task}: option {name!r} expects {kind.__name__}, got {value!r}") from None
    return value


def _base_type(field: dataclasses.Field) -> type:
    annotation = field.type
    if isinstance(annotation, str):  # from __future__ annotations in the task module
        default = option_default(field)
        return type(default) if default is not None else str
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = args[0] if args else str
        origin = typing.get_origin(annotation)
    annotation = origin or annotation
    return annotation if isinstance(annotation, type) else str


def split_seed(base: int, split: str) -> int:
    return base + SPLIT_OFFSETS[split]


def _int_option(task: str, options: Mapping[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = options.get(name, default)
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
    if number is None or not low <= number <= high:
        raise InputError(f"builtin:gym:{task}: option {name!r} must be an integer in [{low}, {high}], got {value!r}")
    return number


def generate(task: str | None, options: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``builtin:gym:<task>``: question, answer, task, metadata (JSON), split, seed, index.

    ``options`` holds ``split`` (train / test / validation), ``size``, ``seed`` (the base seed) and
    the task's own options; anything else is an InputError naming the options the task has.
    """
    dataset_cls, config_cls = check_task(task)
    assert task is not None
    split = str(options.get("split") or "train")
    if split not in SPLIT_OFFSETS:
        raise InputError(f"builtin:gym:{task}: unknown split {split!r}; splits: {', '.join(SPLIT_OFFSETS)}")
    size = _int_option(task, options, "size", DEFAULT_SIZE, 1, MAX_SIZE)
    base = _int_option(task, options, "seed", DEFAULT_SEED, 0, 2**31)
    known = task_options(task)
    given = {k: v for k, v in options.items() if k not in OWN_OPTIONS}
    unknown = [k for k in given if k not in known]
    if unknown:
        hint = did_you_mean(unknown[0], known) or f"; its options: {', '.join(['size', 'seed', *known])}"
        raise InputError(f"builtin:gym:{task}: unknown option {unknown[0]!r}{hint}")
    settings = {k: _coerce(task, k, known[k], v) for k, v in given.items()}
    seed = split_seed(base, split)
    try:
        config = config_cls(**settings, seed=seed, size=size)
        if hasattr(config, "validate"):
            config.validate()
        dataset = dataset_cls(config=config)
    except (AssertionError, ValueError, TypeError) as exc:
        raise InputError(f"builtin:gym:{task}: the task rejects these options ({settings}): {exc}") from None
    rows = []
    for index in range(size):
        item = dataset[index]
        rows.append(
            {
                "question": item["question"],
                "answer": str(item["answer"]),
                "task": task,
                "metadata": metadata_json(item.get("metadata", {})),
                "split": split,
                "seed": seed,
                "index": index,
            }
        )
    return rows


def metadata_json(metadata: Mapping[str, Any]) -> str:
    """The task metadata as JSON text: a column any file format and ``datasets`` can carry."""
    return json.dumps(metadata, default=_jsonable, sort_keys=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


@cache
def scorer(task: str) -> Any:
    """The task's own ``score_answer(answer, entry)``, built once per task in a process."""
    check_task(task)
    return require().get_score_answer_fn(task)
