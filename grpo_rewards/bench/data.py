"""Held-out prompts for the benchmark: read rows, group them by prompt, find the gold answer.

A row carries ``prompt`` (a string or chat messages) or, with a trainer config whose
``data.template`` names columns, those columns; any other columns travel with it (gold answers,
labels such as ``correct``). Rows that carry a ``completion`` are scored as they are; rows of the
same prompt form one group, as GRPO groups completions. ``builtin:NAME[:ARG]`` reads a registered
offline dataset (gsm8k, math, math500, aclsum, and any plugin's), default split ``test``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..datasets import is_builtin, load_builtin
from ..errors import InputError
from ..reward import message_text
from ..rows import completion_ids_problem, read_rows

RESERVED = ("prompt", "completion", "completion_ids", "__line__")
# Columns the built-in datasets hold the question in, for a plain ``prompt``.
QUESTION_COLUMNS = ("question", "problem", "abstract")
_CALCULATOR = re.compile(r"<<[^<>]*>>")


@dataclass
class Completion:
    """One completion of a group, with the columns of its own row (labels differ per row)."""

    text: str
    columns: dict[str, Any] = field(default_factory=dict)
    completion_ids: list[int] | None = None
    truncated: bool | None = None  # generation stopped at max_completion_length


@dataclass
class PromptGroup:
    """All completions of one prompt, and the columns of its first row."""

    index: int
    prompt: Any  # as the rewards see it: a string or chat messages ("" until rendered)
    columns: dict[str, Any]
    completions: list[Completion] = field(default_factory=list)
    where: str = ""  # file:line of the first row, for messages

    @property
    def prompt_text(self) -> str:
        return message_text(self.prompt)


def read_prompt_rows(
    source: str, base_dir: Path | None = None, options: Mapping[str, Any] | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Rows of a .jsonl/.json/.csv/.parquet file or a ``builtin:`` dataset, and a description.
    A built-in dataset gets ``options`` (the trainer config's, for the same dataset) and split
    ``test``; options in the source string win."""
    if is_builtin(source):
        rows, description = load_builtin(source, {**(options or {}), "split": "test"})
        for number, row in enumerate(rows, start=1):
            row["__line__"] = number
            if "prompt" not in row:
                row["prompt"] = next((row[c] for c in QUESTION_COLUMNS if c in row), "")
        return rows, description
    path = Path(source).expanduser()
    if not path.is_absolute() and not path.exists() and base_dir is not None and (base_dir / path).exists():
        path = base_dir / path
    return read_rows(path), str(path)


def row_identity(row: dict[str, Any], template_fields: Sequence[str] = ()) -> str | None:
    """What makes two rows the same prompt: the columns a trainer template renders when the row
    has them all, else its ``prompt``; None when it has neither."""
    if template_fields and all(f in row for f in template_fields):
        return json.dumps({f: row[f] for f in template_fields}, sort_keys=True, ensure_ascii=False, default=str)
    if "prompt" in row:
        return json.dumps(row["prompt"], sort_keys=True, ensure_ascii=False, default=str)
    return None


def group_rows(
    rows: Sequence[dict[str, Any]], source: str, template_fields: Sequence[str] = (), limit: int | None = None
) -> list[PromptGroup]:
    """Group rows by prompt in order of first appearance; keep the first ``limit`` prompts.

    A row is identified as :func:`row_identity` says. Every row missing both its ``prompt`` and
    the template's columns is reported, by line, in one InputError.
    """
    groups: dict[str, PromptGroup] = {}
    problems = []
    for index, row in enumerate(rows):
        line = row.get("__line__", index + 1)
        where = f"{source}:{line}"
        identity = row_identity(row, template_fields)
        if identity is None:
            need = "'prompt'" + (
                f" or the template's column(s) {', '.join(map(repr, template_fields))}" if template_fields else ""
            )
            problems.append(f"{where}: no {need}")
            continue
        columns = {k: v for k, v in row.items() if k not in RESERVED}
        group = groups.get(identity)
        if group is None:
            if limit is not None and len(groups) >= limit:
                continue
            group = groups[identity] = PromptGroup(len(groups), row.get("prompt", ""), columns, where=where)
        if "completion" in row:
            ids = row.get("completion_ids")
            problem = completion_ids_problem(ids)
            if problem:
                problems.append(f"{where}: {problem}")
                continue
            group.completions.append(
                Completion(message_text(row["completion"]), columns, list(ids) if isinstance(ids, list) else None)
            )
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise InputError("\n".join(shown))
    if not groups:
        raise InputError(f"{source}: no prompts")
    return list(groups.values())


def gold_column(groups: Sequence[PromptGroup], reward_columns: Sequence[str], configured: str | None) -> str | None:
    """The column with the gold answer: configured, else the first column a reward reads, else ``answer``."""
    if configured:
        return configured
    present = set().union(*(g.columns for g in groups)) if groups else set()
    for column in [*reward_columns, "answer"]:
        if column in present:
            return column
    return None


def gold_reasoning(value: Any) -> str | None:
    """Worked reasoning from a solution column: GSM8K's text before ``####``, calculator notes removed."""
    if value is None:
        return None
    text = str(value).split("####", 1)[0]
    text = _CALCULATOR.sub("", text).strip()
    return text or None
