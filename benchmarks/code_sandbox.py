"""Code-execution rewards: sandbox overhead, HumanEval throughput, and the hack probes, side by side.

    python benchmarks/code_sandbox.py [--isolation auto|bwrap|rlimits] [--overhead-runs 20]

Prints, from one run on this machine:

1. Per-execution overhead of the local sandbox against a bare ``python -c`` subprocess on the same
   programs (the median of N runs each, interleaved).
2. HumanEval's 164 canonical solutions (an external set: OpenAI's reference answers and tests)
   through code.tests with 1 and 2 workers: rows/s, and how many score 1 (all must).
3. Every hack probe (own-made) on three HumanEval problems: its score (all must be 0), the
   slowest run against its time limit, and the peak memory of the sandboxed processes.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time

from grpo_rewards.plugins.code import sandbox
from grpo_rewards.plugins.code.execute import CACHE
from grpo_rewards.plugins.code.probes import CODE_PROBES, context_for

from grpo_rewards.registry import get_registry
from grpo_rewards.reward import Sample

PROGRAMS = [
    "print(sum(range(1000)))",
    "import math\nprint(math.factorial(50))",
    "xs = sorted(range(10000), key=lambda x: -x)\nprint(xs[0])",
]
TEST_TIMEOUT = 2.0


def overhead(level: sandbox.Isolation, runs: int) -> None:
    python = sandbox.base_python()
    times: dict[str, list[float]] = {"bare `python -c`": [], "bare `python -I -S -c`": [], "local sandbox": []}
    for _ in range(runs):
        for program in PROGRAMS:
            for label, argv in (
                ("bare `python -c`", [python, "-c", program]),
                ("bare `python -I -S -c`", [python, "-I", "-S", "-c", program]),
            ):
                start = time.perf_counter()
                subprocess.run(argv, capture_output=True, check=True)
                times[label].append(time.perf_counter() - start)
            start = time.perf_counter()
            sandbox.run_stdio(program, "", 10.0, sandbox.Limits(), level)
            times["local sandbox"].append(time.perf_counter() - start)
    medians = {label: statistics.median(values) * 1000 for label, values in times.items()}
    boxed = medians["local sandbox"]
    print(f"## 1. per-execution overhead ({level.level}), median of {runs * len(PROGRAMS)} runs each, interleaved")
    for label, value in medians.items():
        extra = "" if label == "local sandbox" else f"   sandbox overhead: {boxed - value:+.1f} ms ({boxed / value:.2f}x)"
        print(f"{label:<24} {value:7.1f} ms{extra}")
    print()


def reward(isolation: str, workers: int, **extra):
    params = {
        "entry_point_column": "entry_point",
        "setup_column": "code_prompt",
        "isolation": isolation,
        "workers": workers,
        "test_timeout": TEST_TIMEOUT,
        **extra,
    }
    return get_registry().get("code.tests").build(params)


def humaneval(rows: list[dict], isolation: str) -> None:
    print("## 2. HumanEval canonical solutions (external: OpenAI's reference answers and tests)")
    for workers in (1, 2):
        CACHE.items.clear()
        fn = reward(isolation, workers)
        start = time.perf_counter()
        run = fn.run([Sample(completion=r["solution"], columns=r) for r in rows])
        scores = run.values
        seconds = time.perf_counter() - start
        ones = sum(s == 1.0 for s in scores)
        failing = [r["task_id"] for r, s in zip(rows, scores) if s != 1.0]
        print(
            f"workers={workers}: {len(rows) / seconds:.2f} rows/s ({seconds:.1f} s), {ones}/{len(rows)} score 1, "
            f"errors {run.stats.errors}" + (f", not 1: {failing[:5]}" if failing else "")
        )
    print()


def probes(rows: list[dict], isolation: str) -> bool:
    print(f"## 3. hack probes (own-made) on {len(rows)} problems, test_timeout={TEST_TIMEOUT:g}s, cpu 3s, 512 MiB")
    print(f"{'probe':<22} {'scores':<16} {'slowest s':>9} {'over limit s':>12}")
    ok = True
    for name, probe in CODE_PROBES.items():
        CACHE.items.clear()
        fn = reward(isolation, 1, cpu_seconds=3, memory_mb=512)
        worst = 0.0
        scores = []
        for row in rows:
            start = time.perf_counter()
            scores += fn.score_samples([Sample(completion=probe.make(context_for(row)), columns=row)])
            worst = max(worst, time.perf_counter() - start)
        # A probe's time limit is test_timeout (its top-level code never finishes, or its test fails at once).
        over = max(0.0, worst - TEST_TIMEOUT)
        ok &= all(s == 0.0 for s in scores) and over <= 1.0
        print(f"{name:<22} {str(scores):<16} {worst:>9.2f} {over:>12.2f}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\npeak resident memory of any sandboxed or runner process: {peak:.0f} MiB")
    print("every probe 0 and within 1 s of its limit:", "yes" if ok else "NO")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "rlimits"])
    parser.add_argument("--overhead-runs", type=int, default=20)
    args = parser.parse_args()
    level = sandbox.isolation(args.isolation)
    print(f"isolation: {level.level} ({level.detail})\n")
    rows = list(get_registry().dataset("humaneval").loader(None, {"split": "test"}))
    overhead(level, args.overhead_runs)
    humaneval(rows, args.isolation)
    sys.exit(0 if probes(rows[:3], args.isolation) else 1)


if __name__ == "__main__":
    main()
