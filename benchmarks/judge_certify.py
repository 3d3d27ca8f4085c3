"""The certificate of a judge on the public labelled slice (MT-Bench human preferences, CC-BY-4.0) and,
apart, on our own cases; the injection success with and without the defences on the same judge; and
the judge's throughput with and without the response cache on GRPO groups that repeat answers.

``--judge smollm2``: the embedded SmolLM2-135M-Instruct served in-process (``base_url = "local"``,
verdicts by guided choice); ``--judge standins``: the rule-based stand-ins of tests/judge_support.py on
a loopback endpoint (``rule-judge``), which only shows the plumbing.

The judge is ``judge.rubric`` with one criterion (helpfulness, 1-10); a pair is decided by the higher
score, a tie counts as a disagreement. Run from the repository root:
``nice -n 15 .venv/bin/python benchmarks/judge_certify.py --judge smollm2 --public 24 --own 24``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grpo_rewards.plugins.judge.attacks import INJECTIONS  # noqa: E402
from grpo_rewards.plugins.judge.certify import (  # noqa: E402
    Scorer,
    _injection,
    _pairs,
    certify,
    markdown,
    read_labels,
)

from grpo_rewards import parse_reward_set  # noqa: E402
from grpo_rewards.scoring import Row, score_rows  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
CRITERIA = ["helpful: answers what was asked, correctly, completely and clearly"]


@contextlib.contextmanager
def endpoint(judge: str) -> Iterator[dict[str, Any]]:
    if judge == "smollm2":
        yield {"base_url": "local", "model": "builtin:smollm2", "max_tokens": 64, "deadline": 600.0, "request_timeout": 600.0}
        return
    from tests.judge_support import JudgeServer

    with JudgeServer() as server:
        yield {"base_url": server.base_url, "model": "rule-judge"}


def entry(params: dict[str, Any], **extra: Any) -> Any:
    names = set(parse_reward_set([{"use": "judge.rubric", "params": {"model": "m", "criteria": CRITERIA}}]).rewards[0].params)
    given = {"criteria": CRITERIA, "scale_min": 1, "scale_max": 10, "retries": 0, **params, **extra}
    return parse_reward_set(
        [{"use": "judge.rubric", "name": "judge", "params": {k: v for k, v in given.items() if k in names}}]
    ).rewards[0]


def slice_labels(source: Path, rows: int, folder: Path) -> Path:
    lines = [line for line in source.read_text().splitlines() if line.strip()][:rows]
    path = folder / f"{source.stem}.{rows}.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def certificate(judge_entry: Any, labels: Path, name: str, resamples: int) -> dict[str, Any]:
    start = time.perf_counter()
    cert = certify(
        judge_entry, read_labels(labels), label_name=name, resamples=resamples, progress=lambda m: print(f"  ... {m}", flush=True)
    )
    cert["seconds"] = time.perf_counter() - start
    return cert


def injection_only(judge_entry: Any, labels: Path) -> dict[str, Any]:
    """The injection figures alone (what certify measures), for the defences-off copy of the judge."""
    label_set = read_labels(labels)
    scorer = Scorer(judge_entry, 0.5)
    first = scorer.items(label_set)
    return _injection(scorer, _pairs(label_set, first), label_set, first, tuple(INJECTIONS))


def throughput(params: dict[str, Any], cache: str, steps: int = 3) -> dict[str, Any]:
    """rows/s over ``steps`` batches of the same GRPO groups (4 prompts x 8 completions, 2 distinct
    answers each): the runtime merges copies within a batch, the cache serves the later batches."""
    judge_entry = entry(params, cache=cache)
    from grpo_rewards import RewardSet

    prompts = [f"Explain in one sentence why {thing} matters." for thing in ("sleep", "water", "exercise", "reading")]
    rows = [
        Row(f"{thing} matters because it keeps people healthy." if k % 2 else "It matters a lot.", prompt, {})
        for prompt, thing in zip(prompts, ("Sleep", "Water", "Exercise", "Reading"))
        for k in range(8)
    ]
    calls = 0
    start = time.perf_counter()
    for _ in range(steps):
        result = score_rows(RewardSet([judge_entry]), rows)
        calls += result.stats["judge"].calls
    seconds = time.perf_counter() - start
    return {
        "cache": cache,
        "rows": len(rows) * steps,
        "seconds": seconds,
        "rows_per_s": len(rows) * steps / seconds,
        "calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--judge", choices=("smollm2", "standins"), default="smollm2")
    parser.add_argument("--public", type=int, default=24, help="MT-Bench pairs to certify on (of 100)")
    parser.add_argument("--own", type=int, default=24, help="own-case pairs (of 24)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--no-throughput", action="store_true", help="skip the cache throughput figures")
    parser.add_argument("--out", type=Path, default=None, help="write every figure as JSON here")
    args = parser.parse_args()
    figures: dict[str, Any] = {"judge": args.judge}
    with tempfile.TemporaryDirectory() as tmp, endpoint(args.judge) as params:
        folder = Path(tmp)
        guarded = entry(params, cache="off")
        public = slice_labels(DATA / "mt_bench_human_pairs.jsonl", args.public, folder)
        own = slice_labels(DATA / "judge_own_pairs.jsonl", args.own, folder)
        if args.public:
            print(f"public labels: {args.public} MT-Bench pairs", flush=True)
            figures["public"] = certificate(guarded, public, f"mt_bench_human_pairs (first {args.public})", args.bootstrap)
            print("\n".join(markdown(figures["public"], "###")), flush=True)
        print(f"own cases: {args.own} pairs", flush=True)
        figures["own"] = certificate(guarded, own, f"judge_own_pairs (first {args.own})", args.bootstrap)
        print("\n".join(markdown(figures["own"], "###")), flush=True)
        print("injection on own cases without the defences (same judge, unfenced prompt, lax parser)", flush=True)
        figures["own_injection_defences_off"] = injection_only(entry(params, cache="off", defences=False), own)
        on, off = figures["own"]["injection"], figures["own_injection_defences_off"]
        print(
            f"injection lift on own cases: defences on {on['lift']:.3f} of {on['n']} (unscored {on['unscored']:.3f}); "
            f"off {off['lift']:.3f} of {off['n']} (unscored {off['unscored']:.3f})"
        )
        for cls in INJECTIONS:
            print(
                f"  {cls}: on {on['classes'][cls]['lifted']}/{on['classes'][cls]['n']}, off {off['classes'][cls]['lifted']}/{off['classes'][cls]['n']}"
            )
        figures["throughput"] = [] if args.no_throughput else [throughput(params, cache) for cache in ("off", "on")]
        for t in figures["throughput"]:
            print(
                f"cache {t['cache']}: {t['rows_per_s']:.2f} rows/s ({t['rows']} rows, {t['calls']} calls, {t['seconds']:.1f} s)"
            )
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
