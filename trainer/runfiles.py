"""The files a run leaves in its output folder beside TRL's checkpoints.

- ``metrics.jsonl``: every dict TRL logs, one line each, with its step (the report reads it).
- ``samples.jsonl``: a few completions per step with their per-reward scores.
- ``run_config.json``: the resolved config, also the marker that a folder is one of our runs
  (``--overwrite`` only ever clears such a folder).

On ``--resume`` the lines after the checkpoint's step are dropped, so the history matches the
restored state exactly and nothing is counted twice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grpo_rewards.rows import write_atomically

METRICS_FILE = "metrics.jsonl"
SAMPLES_FILE = "samples.jsonl"
RUN_CONFIG_FILE = "run_config.json"


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf become null, tensors and numpy scalars become floats."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else None


def append_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    records = list(records)
    if not records:
        return
    with path.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(_clean(record), ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a jsonl file; a torn last line (a run killed mid-write) is skipped."""
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def truncate_after_step(path: Path, step: int) -> int:
    """Drop records whose ``step`` is beyond ``step``; returns how many were dropped."""
    records = read_jsonl(path)
    kept = [r for r in records if int(r.get("step", 0)) <= step]
    if len(kept) != len(records) or (path.is_file() and len(records) != len(path.read_text(encoding="utf-8").splitlines())):
        write_atomically(path, (json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    return len(records) - len(kept)


def write_run_config(output_dir: Path, config: dict[str, Any]) -> None:
    write_atomically(output_dir / RUN_CONFIG_FILE, json.dumps(_clean(config), indent=2, ensure_ascii=False))


def read_run_config(output_dir: Path) -> dict[str, Any] | None:
    path = output_dir / RUN_CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
