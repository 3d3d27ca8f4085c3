"""Code-execution rewards: sandbox overhead, HumanEval throughput, and the hack probes, side by side.

    python benchmarks/code_sandbox.py [--isolation auto|bwrap|rlimits] [--overhead-runs 20]

Prints, from one run on this machine:

1. Per-execution overhead of the local sandbox against a bare ``python -c`` subprocess on the same
   programs (the median of N runs each, interleaved).
2. HumanEval's 164 canonical solutions (an external set: OpenAI's reference answers and tests)
   through code.tests with 1 and 2 workers: rows/s, and how many score 1 (all must).
3. The forgery table: every hack probe (own-made: forged verdicts, escapes, quota, ...) on eight
   rows (three HumanEval problems with their check(candidate) tests, the same three as assert
   statements, MBPP task 2 as MBPP writes its tests, and a stdin/stdout row), all rows of a probe
   in one batch with 2 workers so that runs have siblings; a forgery is a score above 0 or a None
   (a wrong program passing for "could not run"). Then two attacks on a sibling run (kill it,
   lower its priority). The rows are also written to a world-readable jsonl in the temp folder for
   the duration, as `grpo-rewards score rows.jsonl` would leave them.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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


ESCAPE_FILES = [
    os.path.join(tempfile.gettempdir(), "grpo-code-escape.txt"),
    os.path.expanduser("~/grpo-code-escape.txt"),
    "/work/grpo-code-escape.txt",
]
MBPP_2 = {  # MBPP task 2: its tests as MBPP writes them; the solution is ours
    "task_id": "MBPP/2",
    "entry_point": "similar_elements",
    "code_prompt": "",
    "test": "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"
    "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))\n"
    "assert set(similar_elements((11, 12, 14, 13),(17, 15, 14, 13))) == set((13, 14))\n",
    "canonical_solution": "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n",
}
STDIO_ROW = {
    "task_id": "stdio/sum",
    "code_prompt": "",
    "test": json.dumps([{"input": "2 3\n", "output": "5\n"}, {"input": "10 -4\n", "output": "6\n"}]),
    "canonical_solution": "a, b = map(int, input().split())\nprint(a + b)\n",
}


def as_asserts(row: dict) -> dict:
    """A HumanEval row with its check(candidate) body as top-level asserts calling the function by name."""
    tree = ast.parse(row["test"])
    check = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"][-1]

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            return ast.Name(row["entry_point"], node.ctx) if node.id == "candidate" else node

    body = [n for n in tree.body if n is not check] + [Rename().visit(stmt) for stmt in check.body]
    return {**row, "task_id": row["task_id"] + "/assert", "test": ast.unparse(ast.Module(body, []))}


def forgery_rows(humaneval_rows: list[dict]) -> list[dict]:
    return humaneval_rows + [as_asserts(r) for r in humaneval_rows] + [MBPP_2, STDIO_ROW]


def _reference(row: dict) -> str:
    return "```python\n" + str(row.get("code_prompt") or "") + row["canonical_solution"] + "```"


def forgeries(rows: list[dict], isolation: str) -> int:
    """Print the forgery table; the number of forgeries (a score above 0, or a None)."""
    print(f"## 3. forgery table (own-made probes) on {len(rows)} rows, test_timeout={TEST_TIMEOUT:g}s, cpu 3s, 512 MiB")
    print("rows: " + ", ".join(r["task_id"] for r in rows))
    CACHE.items.clear()
    honest = reward(isolation, 2).score_samples([Sample(completion=_reference(r), columns=r) for r in rows])
    print(f"reference solutions: {honest}")
    folder = tempfile.mkdtemp(prefix="grpo-bench-rows-")
    os.chmod(folder, 0o755)
    with open(os.path.join(folder, "rows.jsonl"), "w") as handle:  # where `score rows.jsonl` leaves them
        handle.writelines(json.dumps(r) + "\n" for r in rows)
    os.chmod(os.path.join(folder, "rows.jsonl"), 0o644)
    print(f"{'probe':<24} {'forged':>6} {'None':>4}  scores")
    total = 0
    try:
        for name, probe in CODE_PROBES.items():
            CACHE.items.clear()
            fn = reward(isolation, 2, cpu_seconds=3, memory_mb=512)
            made = [probe.make(context_for(r)) for r in rows]
            scores = fn.score_samples([Sample(completion=m, columns=r) for m, r in zip(made, rows) if m is not None])
            forged = sum(1 for v in scores if v is None or v > 0)
            total += forged
            shown = " ".join("None" if v is None else f"{v:.2g}" for v in scores)
            print(f"{name:<24} {forged:>6} {sum(v is None for v in scores):>4}  {shown}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for leftover in ESCAPE_FILES:  # what an escape that worked left behind
            if os.path.exists(leftover):
                print(f"escaped: {leftover} was written (removed)")
                os.remove(leftover)
    total += siblings(isolation)
    print(f"forgeries: {total}")
    return total


def siblings(isolation: str) -> int:
    """A victim (sleeps, then prints its answer) and an attacker that finds it by its niceness and
    acts on it, scored side by side; a forgery when the victim does not score 1."""
    find = (
        "import os, time\nend = time.monotonic() + 1.5\nhit = False\n"
        "while time.monotonic() < end and not hit:\n"
        "    try:\n        pids = os.listdir('/proc')\n    except OSError:\n        break\n"
        "    for pid in pids:\n        try:\n"
        "            if pid.isdigit() and int(pid) != os.getpid() and os.getpriority(os.PRIO_PROCESS, int(pid)) == 13:\n"
        "                ACT\n                hit = True\n        except OSError:\n            pass\n"
        "    time.sleep(0.02)\nprint(0)\n"
    )
    cases = {
        "sibling: kill (pidfd)": (
            "import _signal\n                _signal.pidfd_send_signal(os.pidfd_open(int(pid)), 9)",
            "print(42)",
            "42",
        ),
        "sibling: renice": ("os.setpriority(os.PRIO_PROCESS, int(pid), 19)", "print(os.getpriority(os.PRIO_PROCESS, 0))", "13"),
    }
    forged = 0
    for label, (act, then, expected) in cases.items():
        CACHE.items.clear()
        victim = f"```python\nimport os, time\nos.nice(13)\ntime.sleep(1.2)\n{then}\n```"
        attacker = "```python\n" + find.replace("ACT", act) + "```"
        rows = [
            {"test": json.dumps([{"input": "\n", "output": expected + "\n"}])},
            {"test": json.dumps([{"input": "\n", "output": "1\n"}])},
        ]
        fn = reward(isolation, 2, test_timeout=4.0)
        scores = fn.score_samples([Sample(completion=victim, columns=rows[0]), Sample(completion=attacker, columns=rows[1])])
        bad = int(scores[0] != 1.0) + int(scores[1] != 0.0)
        forged += bad
        print(f"{label:<24} {bad:>6} {sum(v is None for v in scores):>4}  victim {scores[0]}, attacker {scores[1]}")
    return forged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "rlimits"])
    parser.add_argument("--overhead-runs", type=int, default=20)
    parser.add_argument("--forgeries-only", action="store_true", help="only the forgery table (section 3)")
    args = parser.parse_args()
    level = sandbox.isolation(args.isolation)
    print(f"isolation: {level.level} ({level.detail})\n")
    rows = list(get_registry().dataset("humaneval").loader(None, {"split": "test"}))
    if not args.forgeries_only:
        overhead(level, args.overhead_runs)
        humaneval(rows, args.isolation)
    forged = forgeries(forgery_rows([rows[i] for i in (0, 32, 38)]), args.isolation)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"\npeak resident memory of any sandboxed or runner process: {peak:.0f} MiB")
    sys.exit(0 if forged == 0 else 1)


if __name__ == "__main__":
    main()
