"""Scoring engine throughput: a full reward set over 10,000 completions, 1 vs 2 worker processes,
and the engine's overhead against calling the reward functions directly; then ``score`` on 1k, 10k
and 100k distinct rows of a cheap reward and of math.correct (rows/s at each size, overhead).

    .venv/bin/python benchmarks/scoring_throughput.py [--completions 10000] [--repeat 3]
        [--sizes 1000,10000,100000] [--skip-full-set]

The reward set is every built-in rule-based reward (length, math, xml_format, consistency,
repetition) with default parameters, weight 1. The completions are the GSM8K-derived ones of
``reward_throughput.py`` (a gold solution reformatted with tags, plus wrong, slipped, unclosed,
chatty, boxed and looping variants in equal shares).

- *direct*: each reward's plain scoring function ``spec.fn(sample, **params)`` in a loop over
  prebuilt ``Sample`` objects: no time limit, no error isolation, no stats; the least any caller
  could pay.
- *engine, 1 worker*: ``score_rows(reward_set, rows)``, as ``grpo-rewards score`` and the bench
  call it: rows -> samples, the per-item time limit, error isolation, stats, totals.
- *engine, 2 workers*: the same with ``workers=2`` (spawned processes, pool start-up included).

Shared parse caches are cleared before every run, and runs alternate; the best of ``--repeat``
is kept. Every figure comes from one run of this script, so ratios compare like with like.

The size sweep scores each size once per mode, *direct* (``spec.fn`` in a loop, in this process),
*engine* (``score_rows``: the Scorer, chunk by chunk) and *score* (the ``grpo-rewards score``
command itself, reading, checking and writing JSONL), with de-duplication off. Rows are made distinct by a unique prompt and a unique
letters-only first line (no digit, so no answer reader sees it), cycling the GSM8K-derived
completions. ``length.target`` is the cheap set; ``math.correct`` runs on the process executor
(its declaration), so *score* spreads its rows over worker processes while *direct* uses one core:
its wall-time overhead can be negative on a machine with more than one core.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")  # built-ins only

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reward_throughput import FAMILIES, build_batch  # noqa: E402

from grpo_rewards import Row, Sample, get_registry, parse_reward_set, score_rows  # noqa: E402
from grpo_rewards.runtime import DEDUP  # noqa: E402

DEDUP["enabled"] = False  # distinct rows: measure the scoring, not the copies it skips
SWEEP_SETS = {
    "length.target (cheap)": [{"use": "length.target", "params": {"target": 200}}],
    "math.correct": [{"use": "math.correct"}],
}


def clear_caches() -> None:
    """Cold caches for every run: the shared XML parse and the math answer parse."""
    from grpo_rewards.plugins.math import parse as math_parse
    from grpo_rewards.plugins.xml_format import _cache as xml_cache

    xml_cache.clear()
    math_parse.clear_parse_cache()


def direct(reward_set, samples: list[Sample]) -> tuple[float, float]:
    """(wall, CPU) seconds of the plain scoring functions over every sample."""
    wall, cpu = time.perf_counter(), time.process_time()
    for entry in reward_set.rewards:
        fn, params = entry.spec.fn, entry.params
        for sample in samples:
            fn(sample, **params)
    return time.perf_counter() - wall, time.process_time() - cpu


def engine(reward_set, rows: list[Row], workers: int) -> tuple[float, float]:
    """(wall, CPU of this process) seconds of score_rows; CPU means nothing with workers > 1."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = score_rows(reward_set, rows, workers=workers)
    seconds = time.perf_counter() - wall, time.process_time() - cpu
    errors = sum(s.errors + s.timeouts for s in result.stats.values())
    if errors:
        print(f"  ({errors} errors/timeouts in the engine run)", file=sys.stderr)
    return seconds


def letters(i: int) -> str:
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = chr(97 + r) + out
        if i == 0:
            return out


def distinct_rows(size: int) -> list[dict]:
    """``size`` distinct rows: GSM8K-derived completions cycled, each with its own prompt and first line."""
    prompts, completions, _, golds = build_batch(10_000)
    return [
        {
            "prompt": f"{prompts[i % len(prompts)]} [{letters(i)}]",
            "completion": f"Draft {letters(i)}.\n{completions[i % len(completions)]}",
            "answer": golds[i % len(golds)],
        }
        for i in range(size)
    ]


def sweep(sizes: list[int]) -> None:
    import json
    import tempfile

    from click.testing import CliRunner

    from grpo_rewards.cli import main as cli

    folder = Path(tempfile.mkdtemp(prefix="scoring-sweep-"))
    print(f"\n## score on distinct rows (de-duplication off); python {platform.python_version()}, {os.cpu_count()} CPUs")
    print(
        f"{'reward set':<22} {'rows':>7} {'direct s':>9} {'engine s':>9} {'engine +':>9} "
        f"{'score s':>8} {'score rows/s':>12} {'us/row':>7}"
    )
    for label, entries in SWEEP_SETS.items():
        config = folder / "set.json"
        config.write_text(json.dumps({"rewards": entries}))
        reward_set = parse_reward_set(entries)
        score_rows(reward_set, [Row("warm-up")])  # worker processes start once per process, not per run
        per_row = {}
        for size in sizes:
            rows = distinct_rows(size)
            data = folder / f"rows-{size}.jsonl"
            data.write_text("".join(json.dumps(r) + "\n" for r in rows))
            samples = [Sample(r["completion"], r["prompt"], {"answer": r["answer"]}) for r in rows]
            clear_caches()
            direct_s = direct(reward_set, samples)[0]
            clear_caches()
            engine_s = engine(reward_set, [Row(s.completion, s.prompt, s.columns) for s in samples], workers=1)[0]
            clear_caches()
            out = folder / f"out-{size}.jsonl"
            start = time.perf_counter()
            result = CliRunner().invoke(cli, ["score", str(config), "-i", str(data), "-o", str(out), "--force"])
            score_s = time.perf_counter() - start
            if result.exit_code != 0:
                raise SystemExit(result.output)
            per_row[size] = score_s / size
            print(
                f"{label:<22} {size:>7,} {direct_s:>9.3f} {engine_s:>9.3f} {100 * (engine_s - direct_s) / direct_s:>+8.1f}% "
                f"{score_s:>8.2f} {size / score_s:>12,.0f} {1e6 * score_s / size:>7.1f}"
            )
        print(
            f"{label:<22} per-row time at {sizes[-1]:,} / at {sizes[0]:,}: {per_row[sizes[-1]] / per_row[sizes[0]]:.2f}x (goal <= 1.2x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--completions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each mode; the best is kept")
    parser.add_argument("--sizes", default="1000,10000,100000", help="row counts of the score sweep")
    parser.add_argument("--skip-full-set", action="store_true", help="only the score sweep")
    args = parser.parse_args()
    if not args.skip_full_set:
        full_set(args)
    sweep([int(s) for s in args.sizes.split(",") if s])


def full_set(args: argparse.Namespace) -> None:
    prompts, completions, ids, golds = build_batch(math.ceil(args.completions / 7))
    n = args.completions
    prompts, completions, ids, golds = prompts[:n], completions[:n], ids[:n], golds[:n]
    registry = get_registry()
    specs = sorted((s for s in registry.rewards.values() if s.plugin in FAMILIES), key=lambda s: s.name)
    reward_set = parse_reward_set([{"use": s.name} for s in specs])
    rows = [Row(c, p, {"answer": g}, i) for p, c, i, g in zip(prompts, completions, ids, golds)]
    samples = [Sample(c, p, {"answer": g}, i) for p, c, i, g in zip(prompts, completions, ids, golds)]

    wall = {"direct": math.inf, "engine x1": math.inf, "engine x2": math.inf}
    cpu = {"direct": math.inf, "engine x1": math.inf}
    for _ in range(args.repeat):
        for mode in wall:
            clear_caches()
            if mode == "direct":
                seconds = direct(reward_set, samples)
            else:
                seconds = engine(reward_set, rows, workers=1 if mode == "engine x1" else 2)
            wall[mode] = min(wall[mode], seconds[0])
            if mode in cpu:
                cpu[mode] = min(cpu[mode], seconds[1])

    print(
        f"{n} completions x {len(specs)} rewards ({', '.join(s.name for s in specs)}); "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs; best of {args.repeat}"
    )
    print(f"{'mode':<12} {'wall s':>8} {'CPU s':>8} {'rows/s':>9} {'reward calls/s':>15}")
    for mode, seconds in wall.items():
        cpu_text = f"{cpu[mode]:>8.2f}" if mode in cpu else f"{'-':>8}"
        print(f"{mode:<12} {seconds:>8.2f} {cpu_text} {n / seconds:>9,.0f} {n * len(specs) / seconds:>15,.0f}")
    for clock, best in (("CPU", cpu), ("wall", wall)):
        extra = best["engine x1"] - best["direct"]
        print(
            f"engine overhead vs direct calls ({clock} time): {100 * extra / best['direct']:+.1f}% "
            f"({1e6 * extra / (n * len(specs)):.2f} us per reward call; target < 5%)"
        )
    print(f"scaling 1 -> 2 workers (wall): {wall['engine x1'] / wall['engine x2']:.2f}x (pool start-up included)")


if __name__ == "__main__":
    main()
