"""The scoring engine's CPU overhead against calling the rewards directly, in CPU time of this
process (which a busy shared machine barely blurs, unlike wall time), on the in-process rewards.

    .venv/bin/python benchmarks/engine_cpu_overhead.py [--completions 10000] [--repeat 5]

The in-process built-in rule-based rewards (length.*, repetition.ngram, xml.format: the rewards whose
CPU is spent in this process; the process-isolated ones are left out because their CPU is spent in
worker processes) over the GSM8K-derived completions of ``reward_throughput.py``; *direct* calls
``spec.fn(sample, **params)`` on prebuilt samples, *engine* is ``score_rows(reward_set, rows)``
(de-duplication off where the runtime has it). Best of ``--repeat``, modes alternating. Run it
from two checkouts (``PYTHONPATH=<checkout>``) to compare them side by side.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reward_throughput import FAMILIES, build_batch  # noqa: E402

import grpo_rewards  # noqa: E402
from grpo_rewards import Row, Sample, get_registry, parse_reward_set, score_rows  # noqa: E402

try:
    from grpo_rewards.runtime import DEDUP

    DEDUP["enabled"] = False
except ImportError:  # a checkout without the runtime: nothing to turn off
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--completions", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    prompts, completions, ids, golds = build_batch(math.ceil(args.completions / 7))
    n = args.completions
    specs = sorted(
        (s for s in get_registry().rewards.values() if s.plugin in FAMILIES and s.isolation != "process"),
        key=lambda s: s.name,
    )
    reward_set = parse_reward_set([{"use": s.name} for s in specs])
    rows = [Row(c, p, {"answer": g}, i) for p, c, i, g in zip(prompts[:n], completions[:n], ids[:n], golds[:n])]
    samples = [Sample(c, p, {"answer": g}, i) for p, c, i, g in zip(prompts[:n], completions[:n], ids[:n], golds[:n])]
    best = {"direct": math.inf, "engine": math.inf}
    for _ in range(args.repeat):
        start = time.process_time()
        for entry in reward_set.rewards:
            fn, params = entry.spec.fn, entry.params
            for sample in samples:
                fn(sample, **params)
        best["direct"] = min(best["direct"], time.process_time() - start)
        start = time.process_time()
        score_rows(reward_set, rows)
        best["engine"] = min(best["engine"], time.process_time() - start)
    calls = n * len(specs)
    extra = best["engine"] - best["direct"]
    print(f"{Path(grpo_rewards.__file__).parent.parent}: {n} rows x {len(specs)} rewards ({', '.join(s.name for s in specs)})")
    print(
        f"CPU s: direct {best['direct']:.3f}, engine {best['engine']:.3f}; overhead {100 * extra / best['direct']:+.1f}% "
        f"({1e6 * extra / calls:.2f} us per reward call)"
    )


if __name__ == "__main__":
    main()
