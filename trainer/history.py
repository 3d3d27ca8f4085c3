"""A run's logged history, read back from its files: what the report and its findings are built from."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .runfiles import METRICS_FILE, SAMPLES_FILE, read_jsonl


@dataclass
class History:
    """Training log records (one per logging step), the reward names and kept samples."""

    steps: list[dict[str, Any]]
    names: list[str]
    samples: list[dict[str, Any]]
    summary: dict[str, Any]  # the final train_runtime/... record, if the run finished

    def series(self, key: str) -> tuple[list[int], list[float]]:
        xs, ys = [], []
        for record in self.steps:
            value = record.get(key)
            if isinstance(value, (int, float)) and math.isfinite(value):
                xs.append(int(record["step"]))
                ys.append(float(value))
        return xs, ys


def load_history(output_dir: Path) -> History:
    records = read_jsonl(Path(output_dir) / METRICS_FILE)
    steps = [r for r in records if "reward" in r]
    summary = next((r for r in reversed(records) if "train_runtime" in r), {})
    names: list[str] = []
    for record in steps:
        for key in record:
            if key.startswith("rewards/") and key.endswith("/mean") and key.count("/") == 2:
                name = key.split("/")[1]
                if name not in names:
                    names.append(name)
    return History(steps, names, read_jsonl(Path(output_dir) / SAMPLES_FILE), summary)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def window_means(ys: Sequence[float], fraction: float = 0.2) -> tuple[float, float]:
    """Mean of the first and the last ``fraction`` of a curve (at least one point each)."""
    if not ys:
        return math.nan, math.nan
    n = max(1, int(len(ys) * fraction))
    return mean(ys[:n]), mean(ys[-n:])
