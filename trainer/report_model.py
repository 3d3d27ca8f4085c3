"""The run report's typed model: what report.md and report.html both show, built once from the
run's files (metrics.jsonl, samples.jsonl, run_config.json), so the two never disagree.

Figures are read from the logged history (trainer/history.py); the sample groups are the core's
group-browser model (grpo_rewards.pages), filled from samples.jsonl.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_rewards.pages import CompletionView, GroupView, SideView

from .findings import Finding, findings
from .history import History, mean, window_means
from .runfiles import read_run_config

FIGURES = ("weighted_mean", "share", "zero_spread", "none_rate", "error_rate", "timeout_rate", "latency_ms")
Points = list[tuple[int, float]]


@dataclass
class RewardRow:
    """One reward over the run: first and last 20% of logged steps, run averages of the rest."""

    name: str
    start: float
    end: float
    weights: list[float]  # the logged effective weights, step by step
    weighted_end: float
    averages: dict[str, float]  # FIGURES -> mean over the run
    gated: list[float]  # gated rate per step (only for a gated reward)
    amplified: list[float]  # GDPO amplified fraction per step


@dataclass
class RewardCurves:
    """A reward's curves per step: raw mean, share of the advantage, effective weight, gated rate."""

    name: str
    mean: Points
    share: Points
    weight: Points
    gated_rate: Points


@dataclass
class TrainReport:
    """Everything the run report shows."""

    name: str
    status: str
    config: dict[str, Any]
    steps_logged: int
    last_step: int
    train_runtime: float | None
    findings: list[Finding]
    total_start: float
    total_end: float
    zero_spread: float
    rewards: list[RewardRow]
    total_curve: Points
    curves: list[RewardCurves]
    length: tuple[float, float] | None  # mean completion length, start and end
    correlations: dict[str, float]  # "a/b" -> mean correlation
    samples: list[GroupView] = field(default_factory=list)

    @classmethod
    def from_history(cls, history: History, output_dir: Path, status: str) -> TrainReport:
        def points(key: str) -> Points:
            xs, ys = history.series(key)
            return list(zip(xs, ys))

        _, total = history.series("reward")
        start, end = window_means(total)
        rows = []
        for name in history.names:
            s, e = window_means(history.series(f"rewards/{name}/mean")[1])
            rows.append(
                RewardRow(
                    name,
                    s,
                    e,
                    history.series(f"rewards/{name}/weight")[1],
                    window_means(history.series(f"rewards/{name}/weighted_mean")[1])[1],
                    {f: mean(history.series(f"rewards/{name}/{f}")[1]) for f in FIGURES},
                    history.series(f"rewards/{name}/gated_rate")[1],
                    history.series(f"rewards/{name}/amplified")[1],
                )
            )
        lengths = history.series("completions/mean_length")[1]
        pairs = sorted({k for r in history.steps for k in r if k.startswith("rewards/corr/")})
        return cls(
            name=output_dir.name,
            status=status,
            config=read_run_config(output_dir) or {},
            steps_logged=len(history.steps),
            last_step=history.steps[-1]["step"] if history.steps else 0,
            train_runtime=history.summary.get("train_runtime"),
            findings=findings(history),
            total_start=start,
            total_end=end,
            zero_spread=mean(history.series("frac_reward_zero_std")[1]),
            rewards=rows,
            total_curve=points("reward"),
            curves=[
                RewardCurves(
                    name,
                    points(f"rewards/{name}/mean"),
                    points(f"rewards/{name}/share"),
                    points(f"rewards/{name}/weight"),
                    points(f"rewards/{name}/gated_rate"),
                )
                for name in history.names
            ],
            length=window_means(lengths) if lengths else None,
            correlations={k.split("/", 2)[2]: mean(history.series(k)[1]) for k in pairs},
            samples=sample_groups(history),
        )


def _weights_at(history: History, step: int) -> dict[str, float]:
    """The effective weights logged at ``step`` (or the nearest logged step before it; 1 if none)."""
    out: dict[str, float] = {}
    for name in history.names:
        xs, ys = history.series(f"rewards/{name}/weight")
        before = [y for x, y in zip(xs, ys) if x <= step] or ys[:1]
        out[name] = before[-1] if before else 1.0
    return out


def sample_groups(history: History) -> list[GroupView]:
    """samples.jsonl as groups: the completions of one prompt at one logged step, with the total at
    that step's weights and each row's advantage inside its group (TRL's default: (r - mean) / std)."""
    grouped: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for sample in history.samples:
        grouped.setdefault((int(sample.get("step", 0)), str(sample.get("prompt", ""))), []).append(sample)
    groups = []
    for number, ((step, prompt), samples) in enumerate(grouped.items()):
        weights = _weights_at(history, step)
        totals: list[float | None] = []
        for s in samples:
            values = {k: v for k, v in (s.get("rewards") or {}).items() if isinstance(v, (int, float))}
            totals.append(sum(weights.get(k, 1.0) * v for k, v in values.items()) if values else None)
        present = [t for t in totals if t is not None]
        centre = statistics.fmean(present) if present else math.nan
        spread = statistics.stdev(present) if len(present) > 1 else math.nan
        views = [
            CompletionView.build(
                str(s.get("completion", "")),
                dict(s.get("rewards") or {}),
                t,
                advantage=None if t is None or not math.isfinite(spread) else (t - centre) / (spread + 1e-4),
                explain=s.get("read") or s.get("explain") or {},
            )
            for s, t in zip(samples, totals)
        ]
        flags = [] if len({t for t in present}) > 1 else ["no spread: total"]
        groups.append(
            GroupView(f"step {step}, sample group {number + 1}", prompt, [SideView(f"step {step}", views)], flags, step)
        )
    return groups
