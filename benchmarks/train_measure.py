"""The issue-24 figures from finished run folders: dynamic sampling and canaries, as markdown.

Reads only what the trainer and the bench wrote (``metrics.jsonl``, ``run_config.json``,
``alarms/``, a bench folder's ``report.json``), so the tables can be rebuilt from the files:

    python benchmarks/train_measure.py sampling runs/products-nods runs/products-ds --bench runs/bench-products
    python benchmarks/train_measure.py canary runs/tldr-canary --bench runs/bench-tldr-alarm runs/bench-tldr-final
    python benchmarks/train_measure.py replay runs/tldr-canary --windows 3 5 10

``sampling`` compares a run without dynamic sampling (A) with one with it (B) at the number of
groups each generated; ``canary`` lists a run's alarms and the held-out on-topic score of each
bench folder given (A: the base model, B: the checkpoint benched). ``replay`` runs the trainer's own
alarm test (``CanaryWatch``) again over a finished run's logged step means with other windows: exact
for a run of one group per step without dynamic sampling (a step's mean is then its one group's
mean) whose rewards are never None.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

Z95 = 1.959964


def wilson(hits: float, n: float) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (groups are the trials)."""
    if n <= 0:
        return (math.nan, math.nan)
    p = hits / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return (centre - half, centre + half)


def read_metrics(run: Path) -> list[dict[str, Any]]:
    """Training steps of ``metrics.jsonl`` (the lines with a step time; the summary line has none)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in rows if "step_time" in r and "reward" in r]


@dataclass
class SamplingRun:
    """What one run generated and how many of those groups had no advantage spread."""

    name: str
    steps: int
    groups_generated: int
    zero_groups: float  # generated groups with no advantage spread
    zero_first: tuple[float, int]  # (zero groups, groups) in the first half of the generation budget
    zero_second: tuple[float, int]
    trained_zero: float  # groups trained on that had no spread (without dynamic sampling: all zero groups)
    trained_groups: int
    seconds: float
    extra_rounds: int
    extra_seconds: float
    reward_first: float
    reward_last: float


def sampling_run(run: Path) -> SamplingRun:
    config = json.loads((run / "run_config.json").read_text())
    grpo = config["grpo"]
    per_round = int(grpo.get("generation_batch_size") or grpo["per_device_train_batch_size"]) // int(grpo["num_generations"])
    rows = read_metrics(run)
    dynamic = "dynamic_sampling/groups_dropped" in rows[0]
    per_step = []  # (generated groups, zero-spread groups) per step
    trained_zero = 0.0
    for r in rows:
        if dynamic:
            generated = per_round * (1 + int(r["dynamic_sampling/extra_rounds"]))
            zero = float(r["dynamic_sampling/groups_dropped"])
            trained_zero += float(r["dynamic_sampling/filled_groups"])
        else:
            generated = per_round
            zero = float(r["frac_reward_zero_std"]) * per_round  # one round a step: TRL's fraction of its groups
            trained_zero += zero
        per_step.append((generated, zero))
    total = sum(g for g, _ in per_step)
    half, seen = total / 2, 0
    first = [0.0, 0]
    second = [0.0, 0]
    for generated, zero in per_step:
        part = first if seen < half else second
        part[0] += zero
        part[1] += generated
        seen += generated
    window = min(10, len(rows))
    return SamplingRun(
        name=run.name,
        steps=len(rows),
        groups_generated=total,
        zero_groups=sum(z for _, z in per_step),
        zero_first=(first[0], int(first[1])),
        zero_second=(second[0], int(second[1])),
        trained_zero=trained_zero,
        trained_groups=len(rows) * per_round,
        seconds=sum(float(r["step_time"]) for r in rows),
        extra_rounds=int(sum(r.get("dynamic_sampling/extra_rounds", 0) for r in rows)),
        extra_seconds=sum(float(r.get("dynamic_sampling/extra_seconds", 0)) for r in rows),
        reward_first=sum(float(r["reward"]) for r in rows[:window]) / window,
        reward_last=sum(float(r["reward"]) for r in rows[-window:]) / window,
    )


def share(hits: float, n: int) -> str:
    low, high = wilson(hits, n)
    return f"{hits / n:.2f} [{low:.2f}, {high:.2f}] ({hits:g} of {n})" if n else "-"


def sampling_table(runs: list[SamplingRun]) -> str:
    lines = [
        "| run | steps | groups generated | zero-advantage share of generated groups, 95% CI | first half of the budget | second half | zero-advantage groups trained on | extra rounds | extra generation time | training time | train reward, first -> last 10 steps |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        extra = f"{r.extra_seconds:.0f} s ({100 * r.extra_seconds / r.seconds:.0f}% of the run)" if r.extra_rounds else "-"
        lines.append(
            f"| {r.name} | {r.steps} | {r.groups_generated} | {share(r.zero_groups, r.groups_generated)} | "
            f"{share(*r.zero_first)} | {share(*r.zero_second)} | {r.trained_zero:g} of {r.trained_groups} | {r.extra_rounds} | "
            f"{extra} | {r.seconds / 60:.1f} min | {r.reward_first:.2f} -> {r.reward_last:.2f} |"
        )
    return "\n".join(lines)


def bench_rows(bench: Path) -> str:
    """The compare table of a bench folder (every metric, all prompts and the unseen ones)."""
    report = json.loads((bench / "report.json").read_text())
    cmp = report["compare"]
    lines = [f"{cmp['a']}; {cmp['b']}.", "", "| prompts | metric | A | B | B - A | 95% CI |", "|---|---|---:|---:|---:|---:|"]
    for label, key in (("all", "rows"), ("never trained on", "unseen_rows")):
        for row in cmp.get(key) or []:
            if row["delta"] is None:
                continue
            lines.append(
                f"| {label} ({row['prompts']}) | {row['metric']} | {row['a']:.3f} | {row['b']:.3f} | {row['delta']:+.3f} | "
                f"[{row['low']:+.3f}, {row['high']:+.3f}] |"
            )
    drift = (report.get("drift") or {}).get("compare") or {}
    topic = drift.get("on_topic")
    if topic and topic.get("delta") is not None:
        lines.append(
            f"| all ({topic['prompts']}) | on-topic ({report['drift'].get('scorer')}, against {report['drift'].get('reference')}) | "
            f"{topic['a']:.3f} | {topic['b']:.3f} | {topic['delta']:+.3f} | [{topic['low']:+.3f}, {topic['high']:+.3f}] |"
        )
    return "\n".join(lines)


def canary_summary(run: Path) -> str:
    """The alarms a run raised (from ``alarms/step-N.jsonl``), or that it raised none."""
    rows = read_metrics(run)
    alarms = (
        sorted((run / "alarms").glob("step-*.jsonl"), key=lambda p: int(p.stem.split("-")[1]))
        if (run / "alarms").is_dir()
        else []
    )
    out = [f"{run.name}: {len(rows)} steps, {len(alarms)} alarm(s)"]
    for path in alarms:
        head = json.loads(path.read_text().splitlines()[0])
        groups = len(path.read_text().splitlines()) - 1
        out.append(
            f"- step {path.stem.split('-')[1]}: {json.dumps({k: v for k, v in head.items() if k != 'kind'})} ({groups} group(s) shown)"
        )
    return "\n".join(out)


def entered(row: dict[str, Any], name: str, weight: float) -> float:
    """A reward's step mean as it entered the total: closed gates applied (``weighted_mean / weight``;
    TRL's ``rewards/<name>/mean`` of a gated reward is put back to the raw score). A weight-0
    canary enters nothing: its own mean."""
    if weight and f"rewards/{name}/weighted_mean" in row:
        return float(row[f"rewards/{name}/weighted_mean"]) / weight
    return float(row.get(f"rewards/{name}/mean", np.nan))


def replay(run: Path, window: int, threshold: float | None = None) -> list[int]:
    """Steps at which the canary alarm would fire with this window (one group per step only)."""
    from grpo_rewards.trainer.canary import CanarySettings, CanaryWatch

    config = json.loads((run / "run_config.json").read_text())
    grpo = config["grpo"]
    if int(grpo["per_device_train_batch_size"]) != int(grpo["num_generations"]) or config.get("dynamic_sampling", {}).get(
        "enabled"
    ):
        raise SystemExit(f"{run}: replay needs one group per step and no dynamic sampling")
    entries = config["rewards"]
    names = [e["name"] for e in entries]
    canaries = [e["name"] for e in entries if e.get("canary")]
    weights = [float(e.get("weight", 1.0)) for e in entries]
    settings = CanarySettings(window=window, threshold=threshold if threshold is not None else config["canaries"]["threshold"])
    watch = CanaryWatch(names, canaries, 1, settings)
    fired = []
    for r in read_metrics(run):
        values = np.array([[entered(r, n, w) for n, w in zip(names, weights)]], dtype=float)
        if watch.add(int(r["step"]), values, weights):
            fired.append(int(r["step"]))
    return fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sampling", help="runs without and with [dynamic_sampling], at their generation budgets")
    s.add_argument("runs", nargs="+", type=Path)
    s.add_argument("--bench", nargs="*", type=Path, default=[])
    c = sub.add_parser("canary", help="a run's alarms and the held-out on-topic score of bench folders")
    c.add_argument("runs", nargs="+", type=Path)
    c.add_argument("--bench", nargs="*", type=Path, default=[])
    p = sub.add_parser("replay", help="the alarm steps a finished run would have had with other windows")
    p.add_argument("runs", nargs="+", type=Path)
    p.add_argument("--windows", nargs="+", type=int, default=[3, 5, 10])
    args = parser.parse_args()
    if args.command == "replay":
        for run in args.runs:
            for window in args.windows:
                print(f"{run.name}: window {window}: alarms at steps {replay(run, window) or 'none'}")
        return
    if args.command == "sampling":
        print(sampling_table([sampling_run(r) for r in args.runs]))
    else:
        for run in args.runs:
            print(canary_summary(run))
    for bench in args.bench:
        print()
        print(bench_rows(bench))


if __name__ == "__main__":
    main()
