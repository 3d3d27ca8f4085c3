"""Hostile payloads through every built-in text reward: wall time per row and peak memory.

    .venv/bin/python benchmarks/hostile.py [--limit 2.0] [--rows 2] [--modes inprocess,workers2,serve]
                                           [--classes power,answer_spaces,...] [--isolation-cost 2000]

Each payload class (issue 13's examples, and more) is scored by every built-in rule-based reward
(length.target, math.correct, xml.format, consistency.answer, consistency.arithmetic,
repetition.ngram), each with ``timeout = --limit``, in three ways, each in a fresh process:

- *inprocess*: ``score_rows`` one row at a time, as ``grpo-rewards score`` does;
- *workers2*: ``score_rows(..., workers=2)``, as ``grpo-rewards score --workers 2`` does;
- *serve*: one POST per row to ``serve-rewards`` (``make_server``) on loopback.

Each process first scores one ordinary row (the hard-limit workers start once per process, in
about a second; that start is not a row's cost). Printed per class and mode: *reward-row*, the slowest single reward on a single row (what the
limit bounds; for *workers2* each reward's time over its rows; for *serve* the request's time over
the rewards), *row*, the slowest row through all six rewards (*workers2*: the run's wall time over
its rows, pool start included), *health*, the slowest ``GET /health`` answered while a hostile
request was being scored (*serve*), the peak RSS of the scoring process and of the largest worker
process (hard-limit workers and pool workers, their ``/proc/<pid>/status`` VmHWM sampled every
50 ms), and whether every row came back with a value or a counted
None. Targets: <= 2 x the limit per row, <= 500 MB per worker process, every row accounted for.

``--isolation-cost N`` also prints the cost per row of the hard limit: a cheap reward over N rows
in-process against the same reward with ``isolation = "process"`` (both warm).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")  # built-ins only

REWARDS = ["length.target", "math.correct", "xml.format", "consistency.answer", "consistency.arithmetic", "repetition.ngram"]
GOLD = "6"


def payloads() -> dict[str, Callable[[], str]]:
    """How to build one completion per class: only the class being run is ever in memory."""
    return {
        "power": lambda: "\\boxed{(\\sqrt{3}^{9999})^{9999}}",
        "power_tower": lambda: "\\boxed{9^{9^{9^{9}}}}",
        "answer_spaces": lambda: "answer" + " " * 40_000 + "x",
        "grouped_numbers": lambda: "So " + "1,000," * 30_000 + "0 = 1 + 1",
        "long_number": lambda: "9" * 100_000 + " + 1 = 1",
        "nested_braces": lambda: "\\boxed{" + "{" * 50_000 + "1" + "}" * 50_000 + "}",
        "entity_bomb": lambda: (
            '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><think>&b;</think><answer>6</answer>'
        ),
        "tag_flood": lambda: "<think>" * 30_000 + "</answer>" * 30_000,
        "repetition": lambda: "the cat sat " * 150_000,
        "huge_50mb": lambda: ("2 * 3 = 6. " * 5_000_001)[:50_000_000],
    }


def reward_set(limit: float):
    from grpo_rewards import parse_reward_set

    entries = []
    for name in REWARDS:
        entry = {"use": name, "timeout": limit}
        if name == "length.target":
            entry["params"] = {"target": 100}
        entries.append(entry)
    return parse_reward_set(entries)


def _vm_hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class WorkerPeak:
    """Samples the VmHWM of this process's children and grandchildren every 50 ms (a killed worker
    is seen before it dies; rusage would count a child's pre-exec copy of this process instead)."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if parent == me or _ancestor(parent, me):
                    self.peak = max(self.peak, _vm_hwm_mb(int(entry.name)))
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def _ancestor(pid: int, me: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return int(stat.rsplit(")", 1)[1].split()[1]) == me


def accounted(result_values: list, stats) -> bool:
    return stats.rows == len(result_values) and stats.nones == sum(v is None for v in result_values)


def run_one(name: str, mode: str, limit: float, copies: int) -> dict:
    """Score one class in one mode (in this fresh process) and measure it."""
    from grpo_rewards import Row, score_rows

    rs = reward_set(limit)
    # Warm: the hard-limit workers started and the plugins imported, as in any run after its first row.
    score_rows(rs, [Row("<think>2 * 3 = 6</think><answer>6</answer>", columns={"answer": GOLD})])
    sampler = WorkerPeak()
    text = payloads()[name]()
    rows = [Row(text, columns={"answer": GOLD}) for _ in range(copies)]
    ok = True
    slowest = 0.0  # the slowest single reward on a single row: what the limit bounds
    row_total = 0.0  # the slowest row through all rewards
    health = 0.0
    if mode == "inprocess":
        for row in rows:
            start = time.perf_counter()
            result = score_rows(rs, [row])
            row_total = max(row_total, time.perf_counter() - start)
            slowest = max([slowest] + [result.stats[n].seconds for n in result.names])
            ok &= all(accounted(result.values[n], result.stats[n]) for n in result.names)
    elif mode == "workers2":
        start = time.perf_counter()
        result = score_rows(rs, rows, workers=2)
        row_total = (time.perf_counter() - start) / len(rows)
        slowest = max(result.stats[n].seconds / len(rows) for n in result.names)
        ok &= all(accounted(result.values[n], result.stats[n]) and len(result.values[n]) == len(rows) for n in result.names)
    else:
        import http.client
        import threading

        from grpo_rewards.plugins.reward_model.server import make_server

        server = make_server(rs, max_body_bytes=64 * 1024 * 1024)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        host, port = server.server_address[:2]

        def health_probe(stop: threading.Event, seen: list[float]) -> None:
            while not stop.is_set():  # /health while the hostile request is being scored
                start = time.perf_counter()
                connection = http.client.HTTPConnection(host, port, timeout=120)
                connection.request("GET", "/health")
                connection.getresponse().read()
                connection.close()
                seen.append(time.perf_counter() - start)
                stop.wait(0.2)

        for _ in rows:
            body = json.dumps(
                {"prompts": [""], "completions": [text], "columns": {"answer": [GOLD]}, "per_reward": True}
            ).encode()
            stop, seen = threading.Event(), []
            probe = threading.Thread(target=health_probe, args=(stop, seen), daemon=True)
            start = time.perf_counter()
            probe.start()
            connection = http.client.HTTPConnection(host, port, timeout=120)
            connection.request("POST", "/score", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            data = json.loads(response.read())
            connection.close()
            row_total = max(row_total, time.perf_counter() - start)
            stop.set()
            probe.join()
            health = max([health] + seen)
            ok &= (
                response.status == 200
                and all(len(v) == 1 for v in data.get("rewards", {}).values())
                and len(data.get("rewards", {})) == len(REWARDS)
            )
        slowest = row_total / len(REWARDS)  # serve answers per request: the mean per reward
        server.shutdown()
        server.server_close()
    return {
        "class": name,
        "mode": mode,
        "slowest_row_s": round(slowest, 3),
        "row_total_s": round(row_total, 3),
        "health_s": round(health, 3),
        "peak_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_worker_mb": round(sampler.stop(), 1),
        "accounted": ok,
    }


def isolation_cost(rows: int) -> tuple[float, float]:
    """Microseconds per row of a cheap reward, in-process and hard-limited (both warm)."""
    from grpo_rewards import Row, parse_reward_set, score_rows

    out = []
    for isolation in ("inline", "process"):
        rs = parse_reward_set([{"use": "xml.format", "isolation": isolation}])
        score_rows(rs, [Row("warm")])  # the worker started, the module imported
        best = float("inf")
        for attempt in range(3):  # new texts each time: no parse cache hit, here or in the worker
            data = [Row(f"<think>{attempt} {i}</think><answer>{i}</answer>") for i in range(rows)]
            start = time.perf_counter()
            score_rows(rs, data)
            best = min(best, time.perf_counter() - start)
        out.append(1e6 * best / rows)
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=1, help="copies of each payload")
    parser.add_argument("--modes", default="inprocess,workers2,serve")
    parser.add_argument("--classes", default=",".join(payloads()), help="comma-separated, or 'none'")
    parser.add_argument("--isolation-cost", type=int, default=2000)
    parser.add_argument("--one", nargs=2, metavar=("CLASS", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.limit, args.rows)))
        return
    print(
        f"limit {args.limit:g} s per reward per row; target <= {2 * args.limit:g} s per row, <= 500 MB per "
        f"worker; {len(REWARDS)} rewards; {args.rows} rows per class; python {sys.version.split()[0]}"
    )
    header = (
        f"{'class':<16} {'mode':<10} {'reward-row s':>12} {'row s':>6} {'health s':>8} {'main MB':>8} "
        f"{'worker MB':>9}  accounted  target"
    )
    print(header)
    print("-" * len(header))
    failures = 0
    for name in [c for c in args.classes.split(",") if c and c != "none"]:
        for mode in args.modes.split(","):
            proc = subprocess.run(
                [sys.executable, __file__, "--one", name, mode, "--limit", str(args.limit), "--rows", str(args.rows)],
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if proc.returncode != 0:
                failures += 1
                print(f"{name:<16} {mode:<10} FAILED: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            met = r["slowest_row_s"] <= 2 * args.limit and r["peak_worker_mb"] <= 500 and r["accounted"]
            failures += not met
            print(
                f"{name:<16} {mode:<10} {r['slowest_row_s']:>12.2f} {r['row_total_s']:>6.2f} "
                f"{r['health_s'] if mode == 'serve' else '':>8} {r['peak_main_mb']:>8.0f} "
                f"{r['peak_worker_mb']:>9.0f}  {'yes' if r['accounted'] else 'NO':<9}  {'met' if met else 'MISSED'}",
                flush=True,
            )
    if args.isolation_cost:
        inline, isolated = isolation_cost(args.isolation_cost)
        print(
            f"\ncost of the hard limit, xml.format over {args.isolation_cost} rows (warm, best of 3): "
            f"in-process {inline:.1f} us/row, in a worker process {isolated:.1f} us/row "
            f"(+{isolated - inline:.1f} us/row)"
        )
    print(f"\n{'all classes within target' if not failures else f'{failures} class/mode result(s) missed the target'}")


if __name__ == "__main__":
    main()
