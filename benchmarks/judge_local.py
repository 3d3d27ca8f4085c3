"""The local judge: throughput with and without the response cache, and what a judge adds to a step.

1. Throughput of ``judge.reference`` on the embedded SmolLM2 (``base_url = "local"``, guided verdicts,
   one order) over GRPO groups that repeat answers: 4 batches of 4 prompts x 8 completions, the
   8 prompts seen twice (two epochs), each group drawing from 4 answers. Three settings: every row
   called (runtime de-duplication and cache off), de-duplication only, de-duplication + cache.
2. The time the three judges add to a tiny-model GRPO step: one step's 16 rows (4 groups of 4) scored
   by judge.rubric + judge.reference + judge.group against the tiny random Llama served over loopback
   HTTP, through the runtime (all three rewards and their rows in flight at once), against the same
   calls made one after another (``max_concurrency = 1``, one reward at a time).

    .venv/bin/python benchmarks/judge_local.py [--quick] [--only step|throughput]

Timings on a shared machine: compare the rows of one run, never absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grpo_rewards.plugins.judge import cache  # noqa: E402
from grpo_rewards.plugins.judge.local_model import LocalModel  # noqa: E402
from grpo_rewards.plugins.judge.local_server import LocalServer, local_base_url  # noqa: E402

from grpo_rewards import parse_reward_set  # noqa: E402
from grpo_rewards.runtime import run as runtime_run  # noqa: E402
from grpo_rewards.scoring import Row, score_rows  # noqa: E402

PROMPTS = [
    (f"A box holds {a} rows of {b}. How many items are in the box?", a * b)
    for a, b in [(8, 9), (7, 6), (12, 5), (9, 9), (6, 4), (11, 3), (5, 13), (4, 15)]
]


def answers(gold: int) -> list[str]:
    return [f"The answer is {gold}.", f"{gold}", f"The answer is {gold + 1}.", f"I think it is {gold - 2}."]


def batches(group: int = 8) -> list[list[Row]]:
    out = []
    for epoch in range(2):
        for half in (PROMPTS[:4], PROMPTS[4:]):
            rows = []
            for k, (question, gold) in enumerate(half):
                pool = answers(gold)
                rows += [Row(pool[(i * (k + 1) + epoch) % len(pool)], question, {"answer": str(gold)}) for i in range(group)]
            out.append(rows)
    return out


def throughput(model: str, quick: bool) -> list[dict]:
    local_base_url(model, "auto")  # load once, outside the timings
    data = batches()
    data = [data[0], data[2]] if quick else data  # quick: the same 4 prompts in two epochs
    results = []
    for label, dedup, mode in (
        ("every row called", False, "off"),
        ("de-duplication", True, "off"),
        ("de-duplication + cache", True, "auto"),
    ):
        runtime_run.DEDUP["enabled"] = dedup
        cache.clear()
        params = {"base_url": "local", "model": model, "cache": mode, "retries": 0, "orders": "answer_first"}
        entry = {"use": "judge.reference", "params": {**params, "deadline": 600.0, "request_timeout": 600.0}}
        reward_set = parse_reward_set([entry])
        calls = rows = 0
        start = time.perf_counter()
        for batch in data:
            result = score_rows(reward_set, batch)
            stats = result.stats["judge.reference"]
            assert stats.errors == 0, stats.first_error
            calls += stats.calls
            rows += len(batch)
        seconds = time.perf_counter() - start
        results.append({"setting": label, "rows": rows, "calls": calls, "seconds": seconds, "rows_per_s": rows / seconds})
        print(json.dumps(results[-1]), flush=True)
    runtime_run.DEDUP["enabled"] = True
    return results


def step_time(tiny: str, repeats: int) -> list[dict]:
    server = LocalServer(LocalModel(tiny, "cpu"), tiny).start()
    try:
        rows = [
            Row(text, question, {"answer": str(gold)})
            for question, gold in PROMPTS[:4]
            for text in (f"The answer is {gold} because I counted.", f"{gold}", f"It is {gold + 1}.", "No idea.")
        ]

        def entries(concurrency: int) -> list[dict]:
            common = {
                "base_url": server.base_url,
                "model": tiny,
                "guided": "choice",
                "cache": "off",
                "retries": 0,
                "max_concurrency": concurrency,
            }
            return [
                {
                    "use": "judge.rubric",
                    "params": {**common, "criteria": ["correct=2: the final answer is right", "reason: gives a reason"]},
                },
                {"use": "judge.reference", "params": common},
                {"use": "judge.group", "params": {**common, "group_size": 4, "scale_max": 3}},
            ]

        out = []
        for _ in range(repeats):
            start = time.perf_counter()
            together = score_rows(parse_reward_set(entries(8)), rows)
            runtime_s = time.perf_counter() - start
            start = time.perf_counter()
            calls = 0
            for entry in entries(1):
                calls += score_rows(parse_reward_set([entry]), rows).stats[entry["use"]].calls
            serial_s = time.perf_counter() - start
            assert calls == sum(s.calls for s in together.stats.values())
            out.append({"rows": len(rows), "calls": calls, "runtime_s": runtime_s, "one_after_another_s": serial_s})
            print(json.dumps(out[-1]), flush=True)
        return out
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Two batches and one step-time repeat.")
    parser.add_argument("--model", default="builtin:smollm2")
    parser.add_argument("--only", choices=("step", "throughput"), default=None, help="Run one of the two parts.")
    args = parser.parse_args()
    from tests.trainer_support import build_tiny_model

    if args.only != "throughput":
        with tempfile.TemporaryDirectory() as folder:
            tiny = str(build_tiny_model(Path(folder) / "tiny"))
            print("== step time, three judges on the tiny random model over loopback HTTP")
            step_time(tiny, 1 if args.quick else 3)
    if args.only != "step":
        print("== throughput, local judge", args.model)
        throughput(args.model, args.quick)


if __name__ == "__main__":
    main()
