"""Scoring on a local Ray cluster against in-process and worker-process scoring, de-duplication off.

    .venv/bin/python benchmarks/ray_scoring.py [--math-rows 20000] [--code-rows 1000]
        [--executors inline,process,ray] [--batch 256] [--no-kill]

Two workloads, every row distinct:

- ``math.correct`` on GSM8K-derived completions (``scoring_throughput.distinct_rows``: a gold
  solution reformatted, wrong, slipped, boxed ... variants, each with its own prompt and first line);
- ``code.tests`` on HumanEval (``builtin:humaneval``, OpenAI's 164 problems, MIT): each problem's
  canonical solution and up to five mutants of it (a flipped comparison, an off-by-one, a swapped
  boolean, a dropped ``not``, an emptied return...), with a numbered comment to keep the rows
  distinct where a problem has fewer mutations; about 1,000 rows from 164 problems.

Each executor scores the same rows the same way: the rows in batches of ``--batch`` (code: half
that), every batch submitted at once to one ``Scorer`` (as a trainer's steps or ``serve-rewards``
requests overlap), each reward forced onto the executor with ``RewardSet.use_executor``. ``inline``
runs math.correct in this process (one core: the GIL), ``process`` is math.correct's own executor
(killable worker processes), ``ray`` sends chunks to Ray tasks on a local cluster of this machine's
CPUs (math.correct runs in each Ray worker on its own executor, so under a worker process there).
code.tests is a batched reward: on every executor a batch is one call, which runs its programs in
its own sandbox processes (``workers = 2`` per call).

Printed: rows/s per executor and workload, the Ray start-up cost (``ray.init`` of a local cluster,
then the first one-row task: a worker starting and importing the rewards), whether every executor
gave identical values (None included), and a Ray run in which one Ray worker process is killed
(SIGKILL, by pid) mid-run: every row must still have its value (the lost chunk runs again), with
the restarts counted.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")  # built-ins only

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scoring_throughput import clear_caches, distinct_rows  # noqa: E402

from grpo_rewards import Sample, Scorer, get_registry  # noqa: E402
from grpo_rewards.rewardset import reward_set_from_config  # noqa: E402
from grpo_rewards.runtime import DEDUP, get_executor  # noqa: E402

DEDUP["enabled"] = False  # distinct rows: measure the scoring, not the copies it skips
MUTATIONS = [
    (" < ", " <= "),
    (" > ", " >= "),
    (" == ", " != "),
    ("+ 1", "+ 2"),
    ("- 1", "- 2"),
    ("True", "False"),
    ("not ", ""),
    (" and ", " or "),
    ("range(", "range(1 + "),
    ("return ", "return None or "),
]
CODE_PARAMS = {"entry_point_column": "entry_point", "setup_column": "code_prompt", "test_timeout": 2.0}


def math_samples(n: int) -> list[Sample]:
    return [Sample(r["completion"], r["prompt"], {"answer": r["answer"]}) for r in distinct_rows(n)]


def code_samples(n: int) -> list[Sample]:
    """HumanEval canonical solutions and mutants of them, ``n`` rows at most, all distinct."""
    problems = list(get_registry().dataset("humaneval").loader(None, {"split": "test"}))
    per_problem = max(1, -(-n // len(problems)))
    out: list[Sample] = []
    for row in problems:
        texts = [row["solution"]]
        for old, new in MUTATIONS:
            if len(texts) == per_problem:
                break
            if old in row["canonical_solution"]:
                texts.append(row["solution"].replace(old, new, 1))
        while len(texts) < per_problem:
            texts.append(row["solution"].replace("```python\n", f"```python\n# revision {len(texts)}\n", 1))
        columns = {k: row[k] for k in ("test", "entry_point", "code_prompt")}
        out += [Sample(text, row["question"], columns) for text in texts]
    return out[:n]


def reward_set(entry: dict, executor: str):
    rs = reward_set_from_config({"rewards": [entry], "ray": {"address": "local", "num_cpus": os.cpu_count() or 1}}, "bench")
    rs.use_executor(executor)
    return rs


def score(rs, samples: list[Sample], batch: int) -> tuple[float, list[float | None], object]:
    """(seconds, values, summed stats): every batch submitted at once, gathered in order."""
    clear_caches()
    scorer = Scorer(rs)
    name = rs.names[0]
    start = time.perf_counter()
    futures = [scorer.submit(samples[i : i + batch]) for i in range(0, len(samples), batch)]
    batches = [f.result() for f in futures]
    seconds = time.perf_counter() - start
    values = [v for b in batches for v in b.values[name]]
    stats = batches[0].stats[name]
    for b in batches[1:]:
        stats.add(b.stats[name])
    return seconds, values, stats


def ray_start_up() -> tuple[float, float]:
    """(ray.init seconds, first one-row task seconds) on a fresh local cluster."""
    executor = get_executor("ray")
    start = time.perf_counter()
    executor.connect({"address": "local", "num_cpus": os.cpu_count() or 1})
    init = time.perf_counter() - start
    start = time.perf_counter()
    Scorer(reward_set({"use": "length.target"}, "ray")).score([Sample("x", "q")])
    return init, time.perf_counter() - start


def ray_task_pids() -> list[int]:
    """Pids of Ray worker processes running one of our chunks now (Ray titles them ray::score_chunk)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::score_chunk"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def kill_one_later(delay: float, killed: list[int]) -> threading.Thread:
    def run() -> None:
        deadline = time.monotonic() + delay + 60
        time.sleep(delay)  # then the first Ray worker seen running a chunk
        while time.monotonic() < deadline and not killed:
            pids = ray_task_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--math-rows", type=int, default=20_000)
    parser.add_argument("--code-rows", type=int, default=1_000)
    parser.add_argument("--executors", default="inline,process,ray")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--no-kill", action="store_true", help="skip the run with a Ray worker killed")
    args = parser.parse_args()
    executors = args.executors.split(",")
    workloads = {
        "math.correct": ({"use": "math.correct"}, math_samples(args.math_rows), args.batch),
        "code.tests": ({"use": "code.tests", "params": CODE_PARAMS}, code_samples(args.code_rows), max(1, args.batch // 2)),
    }
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
        f"{len(workloads['math.correct'][1])} math rows, {len(workloads['code.tests'][1])} code rows, de-dup off"
    )
    if "ray" in executors:
        init, first = ray_start_up()
        print(f"ray start-up: ray.init (local cluster) {init:.1f} s, then the first one-row task {first:.1f} s")
    results: dict[tuple[str, str], list[float | None]] = {}
    timings: dict[tuple[str, str], float] = {}
    print("| workload | executor | rows | seconds | rows/s | errors | timeouts |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for workload, (entry, samples, batch) in workloads.items():
        for executor in executors:
            seconds, values, stats = score(reward_set(entry, executor), samples, batch)
            results[(workload, executor)] = values
            timings[(workload, executor)] = seconds
            print(
                f"| {workload} | {executor} | {len(values)} | {seconds:.1f} | {len(values) / seconds:.1f} | "
                f"{stats.errors} | {stats.timeouts} |",
                flush=True,
            )
    for workload in workloads:
        first = results[(workload, executors[0])]
        same = all(results[(workload, e)] == first for e in executors)
        ones = sum(v == 1.0 for v in first)
        print(f"{workload}: identical values across {', '.join(executors)}: {same} ({ones} rows score 1)")
        samples = workloads[workload][1]
        for i, value in enumerate(first):
            others = {e: results[(workload, e)][i] for e in executors}
            if any(v != value for v in others.values()):
                print(f"  row {i} differs: {others}; {samples[i].completion[:300]!r}")
    if "ray" in executors and not args.no_kill:
        entry, samples, batch = workloads["math.correct"]
        reference = results[("math.correct", "ray")]
        executor = get_executor("ray")
        before = executor.restarts
        killed: list[int] = []
        kill_one_later(min(1.0, 0.1 * timings[("math.correct", "ray")]), killed)  # early: the workers are warm now
        seconds, values, stats = score(reward_set(entry, "ray"), samples, batch)
        print(
            f"ray, math.correct, one Ray worker killed (pid {killed[0] if killed else 'none found'}) mid-run: "
            f"{len(values)}/{len(samples)} rows back in {seconds:.1f} s, identical to the undisturbed run: "
            f"{values == reference}, pieces run again: {executor.restarts - before}, errors {stats.errors}"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
