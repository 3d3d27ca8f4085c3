"""One verl row (``data_source``, ``solution_str``, ``ground_truth``, ``extra_info``) as a Sample.

Whatever verl's data holds is checked here before any reward sees it: a row that cannot be read
is a :class:`RowProblem` (scored as no total, with its reason logged and counted), never an
exception in verl's reward worker. verl keeps non-tensor columns in numpy object arrays, so numpy
scalars and arrays are read as the Python values they stand for.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from grpo_rewards.reward import Sample

from .options import VerlOptions


class RowProblem(Exception):
    """Why a row was not scored; ``kind`` groups the log lines and counts."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def plain(value: Any) -> Any:
    """A numpy scalar or array as the Python value it holds (verl's columns are numpy arrays)."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist) and getattr(value, "shape", None) is not None:
        return tolist()
    return value


def _size(value: Any) -> int:
    """Characters of a gold value once written out (a bound checked before any reward parses it)."""
    if isinstance(value, str):
        return len(value)
    try:
        return len(json.dumps(value, default=str))
    except (TypeError, ValueError, RecursionError) as exc:
        raise RowProblem("ground_truth_type", f"ground_truth cannot be written out as data: {exc}") from None


def gold_values(ground_truth: Any, gold_column: str, options: VerlOptions) -> dict[str, Any]:
    """The columns ``ground_truth`` fills, under ``options.ground_truth_shape``."""
    value = plain(ground_truth)
    if not gold_column and options.ground_truth_shape != "fields":
        return {}  # the set reads no gold: whatever verl has there is not ours to judge
    if value is None:
        raise RowProblem("ground_truth_missing", f"ground_truth is None; the set reads it as column {gold_column!r}")
    if _size(value) > options.max_column_chars:
        raise RowProblem("column_size", f"ground_truth is over max_column_chars ({options.max_column_chars})")
    shape = options.ground_truth_shape
    if shape == "fields":
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise RowProblem(
                "ground_truth_type",
                f"ground_truth_shape is 'fields' but ground_truth is a {type(value).__name__}, not a mapping with string keys",
            )
        return {k: plain(v) for k, v in value.items()}
    if shape == "scalar":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise RowProblem(
                "ground_truth_type",
                f"ground_truth is a {type(value).__name__}; column {gold_column!r} takes a string or a number "
                "(ground_truth_shape = 'any' passes lists and mappings through, 'fields' spreads a mapping over columns)",
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise RowProblem("ground_truth_type", f"ground_truth is {value!r}, not a finite number")
    return {gold_column: value}


def build_sample(
    data_source: Any,
    solution_str: Any,
    ground_truth: Any,
    extra_info: Any,
    gold_column: str,
    options: VerlOptions,
    read: frozenset[str] = frozenset(),
) -> Sample:
    """The Sample a reward set scores for this row, or :class:`RowProblem` saying why there is none.

    ``read``: the columns the set's rewards read; their values (and the prompt) are size-checked."""
    completion = plain(solution_str)
    if not isinstance(completion, str):
        raise RowProblem("solution_type", f"solution_str is a {type(completion).__name__}, not text")
    info = plain(extra_info)
    if info is None:
        info = {}
    if not isinstance(info, Mapping):
        raise RowProblem("extra_info_type", f"extra_info is a {type(info).__name__}, not a mapping")
    renamed = {key: column for column, key in options.columns}
    columns: dict[str, Any] = {}
    source = plain(data_source)
    if isinstance(source, str):
        columns["data_source"] = source
    for key, value in info.items():  # a key that is no string cannot name a column
        if isinstance(key, str) and key not in renamed:
            columns[key] = plain(value)
    for key, column in renamed.items():  # a rename wins over a key of the same name
        if key in info:
            columns[column] = plain(info[key])
    columns.update(gold_values(ground_truth, gold_column, options))
    prompt = plain(info.get(options.prompt_key))
    if not isinstance(prompt, str):
        prompt = ""
    for name, value in (("the prompt", prompt), *((f"column {c!r}", columns[c]) for c in sorted(read) if c in columns)):
        if _size(value) > options.max_column_chars:
            raise RowProblem("column_size", f"{name} is over max_column_chars ({options.max_column_chars})")
    return Sample(completion=completion, prompt=prompt, columns=columns, raw_prompt=prompt or None, raw_completion=completion)
