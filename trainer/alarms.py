"""``alarms/step-N.jsonl``: a canary alarm (a first line with the figures), then the groups of the
batch that show it, one JSON line each (prompt, every completion with every reward's value and the
optimised total), so the hack can be read, not only plotted."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grpo_rewards.aggregation import weighted_total

from .canary import Alarm, showing_groups
from .runfiles import append_jsonl

ALARMS_DIR = "alarms"
MAX_GROUPS = 16  # groups written per alarm


def write_alarm(
    output_dir: str | Path,
    alarm: Alarm,
    values: np.ndarray,
    weights: Sequence[float],
    names: Sequence[str],
    group_size: int,
    texts: Sequence[tuple[str, str]],
    baseline: tuple[float, np.ndarray],
    canaries: Sequence[str],
) -> Path:
    """Append the alarm's groups to ``alarms/step-<step>.jsonl``; returns the file."""
    base_total, base_canaries = baseline
    column = list(names).index(alarm.canary)
    base_canary = float(base_canaries[list(canaries).index(alarm.canary)])
    groups = showing_groups(values, weights, group_size, column, base_total, base_canary)[:MAX_GROUPS]
    totals = weighted_total(values, weights)
    c, t = alarm.canary_change, alarm.total_change
    records: list[dict[str, Any]] = [
        {
            "kind": "alarm",
            "step": alarm.step,
            "canary": alarm.canary,
            "canary_before": c.before,
            "canary_after": c.after,
            "canary_interval": [c.low, c.high],
            "total_before": t.before,
            "total_after": t.after,
            "total_interval": [t.low, t.high],
            "groups": len(groups),
            "message": alarm.message(),
        }
    ]
    for g in groups:
        rows = range(g * group_size, (g + 1) * group_size)
        records.append(
            {
                "kind": "group",
                "step": alarm.step,
                "canary": alarm.canary,
                "prompt": texts[rows[0]][0] if rows[0] < len(texts) else None,
                "completions": [
                    {
                        "completion": texts[i][1] if i < len(texts) else None,
                        "total": _number(totals[i]),
                        "rewards": {name: _number(values[i, k]) for k, name in enumerate(names)},
                    }
                    for i in rows
                ],
            }
        )
    path = Path(output_dir) / ALARMS_DIR / f"step-{alarm.step}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    append_jsonl(path, records)
    return path


def _number(value: float) -> float | None:
    return None if not math.isfinite(float(value)) else float(value)
