"""The run report's figures as table cells and lines, shared by report.md and report.html."""

from __future__ import annotations

import math
from typing import Any

from .history import mean
from .report_model import TrainReport


def fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


REWARD_HEADER = (
    "reward",
    "mean (start)",
    "mean (end)",
    "weight (start -> end)",
    "weighted mean (end)",
    "share",
    "zero spread",
    "gated",
    "GDPO amplified",
    "None",
    "errors",
    "timeouts",
    "latency ms",
)
PLOT_TITLES = {
    "reward": "Reward curves",
    "shares": "Contribution shares",
    "weights": "Effective weights and gated rates",
    "length": "Completion length",
}
GRPO_KEYS = (
    "learning_rate",
    "num_generations",
    "per_device_train_batch_size",
    "max_completion_length",
    "beta",
    "loss_type",
    "scale_rewards",
    "max_steps",
)


def grpo_line(config: dict[str, Any]) -> str:
    grpo = config.get("grpo", {})
    return ", ".join(f"{k}={grpo[k]}" for k in GRPO_KEYS if k in grpo)


def reward_extras(config: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Per reward of the config: its schedule, gate and eval-only flag, where it has any."""
    out = []
    for reward in config.get("rewards", []):
        extras = [
            f"weight {reward['schedule']}" if reward.get("schedule") else "",
            f"gated by `{reward['when']}`" if reward.get("when") else "",
            "eval only (not trained on)" if reward.get("eval_only") else "",
        ]
        if any(extras):
            out.append((reward["name"], [e for e in extras if e]))
    return out


def reward_table(report: TrainReport, bold_total: bool = False) -> list[list[str]]:
    """The rewards table's cells (REWARD_HEADER), the total first: report.md and report.html."""
    rows = [
        [
            "**total**" if bold_total else "total",
            fmt(report.total_start),
            fmt(report.total_end),
            "",
            fmt(report.total_end),
            "1",
            fmt(report.zero_spread),
            *[""] * 6,
        ]
    ]
    for r in report.rewards:
        w = r.weights
        weight = (fmt(w[0]) if w[0] == w[-1] else f"{fmt(w[0])} -> {fmt(w[-1])}") if w else ""
        avg = r.averages
        rows.append(
            [
                r.name,
                fmt(r.start),
                fmt(r.end),
                weight,
                fmt(r.weighted_end),
                fmt(avg["share"]),
                fmt(avg["zero_spread"]),
                fmt(mean(r.gated)) if r.gated else "",
                fmt(mean(r.amplified)) if r.amplified else "",
                fmt(avg["none_rate"]),
                fmt(avg["error_rate"]),
                fmt(avg["timeout_rate"]),
                fmt(avg["latency_ms"]),
            ]
        )
    return rows
