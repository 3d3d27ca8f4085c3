"""The attack generator over all shipped data, and its differential test of ``math.correct``.

Rewards under attack, with their default parameters: ``math.correct`` on GSM8K, MATH and MATH-500
(test splits), ``gym.score`` on every offered reasoning-gym task (``--gym-size`` rows each, test
seeds), ``code.tests`` on HumanEval (164, the humaneval-code example's parameters) and the six
assert/stdio rows of ``benchmarks/data/attack_code_rows.jsonl``. Prints, per reward and attack class,
the completions, the share paid with its Wilson 95% interval and one paid example.

``--differential`` also scores every ``math.correct`` attack with math-verify (dev-only:
``pip install -r requirements-bench.txt``) as ``verify(parse(gold), parse(completion))`` and lists
each disagreement (``--disagreements FILE`` writes them all as JSON lines). The ones decided by the
mathematics are restated in ``benchmarks/data/attack_math_facts.jsonl`` and checked without
math-verify by ``tests/test_attack_facts.py``.

    .venv/bin/python benchmarks/attacks.py [--limit N] [--gym-size N] [--quick] [--differential]
        [--only math,gym,code] [--code-isolation auto|bwrap|rlimits] [--workers N] [--json FILE]
        [--disagreements FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")  # built-ins only

from grpo_rewards.attack.run import paid_failures, run_attacks  # noqa: E402
from grpo_rewards.attack_command import load_rows  # noqa: E402
from grpo_rewards.rewardset import parse_reward_set  # noqa: E402

ROOT = Path(__file__).resolve().parent
CODE_ROWS = str(ROOT / "data" / "attack_code_rows.jsonl")
CODE = {
    "use": "code.tests",
    "name": "code.tests",
    "params": {"entry_point_column": "entry_point", "setup_column": "code_prompt", "test_timeout": 3.0, "workers": 2},
}


def gym_sources(size: int) -> list[str]:
    from grpo_rewards.plugins.gym.tasks import all_tasks, refusal

    return [f"builtin:gym:{task}?size={size}" for task in all_tasks() if not refusal(task)]


def plans(args: argparse.Namespace) -> list[tuple[str, dict, list[str], int | None]]:
    out = []
    code = {**CODE, "params": {**CODE["params"], "isolation": args.code_isolation}}
    if "math" in args.only:
        out.append(
            (
                "math",
                {"use": "math.correct", "name": "math.correct"},
                ["builtin:gsm8k", "builtin:math", "builtin:math500"],
                args.limit,
            )
        )
    if "gym" in args.only:
        out.append(("gym", {"use": "gym.score", "name": "gym.score"}, gym_sources(args.gym_size), None))
    if "code" in args.only:
        out.append(("code", code, ["builtin:humaneval"], args.limit))
        out.append(("code-own-rows", code, [CODE_ROWS], None))
    return out


def print_report(label: str, report: dict, seconds: float) -> None:
    for name, reward in report["rewards"].items():
        n = sum(f["n"] for f in reward["classes"].values())
        paid = sum(f["paid"] for f in reward["classes"].values())
        print(f"\n## {label}: {name} ({report['rows']} rows, {report['completions']} attacks, {seconds:.0f} s)")
        print(f"{reward['rule']}; paid overall {paid} of {n} ({paid / max(n, 1):.2%})")
        print(f"{'class':<26} {'family':<10} {'rows':>5} {'n':>6} {'paid':>6} {'share [95% CI]':>22} {'None':>5}  example")
        for cls, f in reward["classes"].items():
            share = "-" if f["share"] is None else f"{f['share']:.1%} [{f['low']:.1%}, {f['high']:.1%}]"
            example = " ".join(f["examples"][0]["completion"].split())[-70:] if f["examples"] else ""
            print(
                f"{cls:<26} {f['family']:<10} {f['rows']:>5} {f['n']:>6} {f['paid']:>6} {share:>22} {f['unscored']:>5}  {example}"
            )


def math_verify_verdicts(cases: list, rows: list[dict]) -> list[bool | None] | None:
    """math-verify on each attack completion: verify(parse(gold), parse(completion)), the gold in
    ``$..$`` as its documentation advises (None where it raised)."""
    try:
        from math_verify import parse, verify
    except ImportError:
        return None
    out: list[bool | None] = []
    for case in cases:
        gold = str(rows[case.row]["answer"])
        try:
            out.append(bool(verify(parse(f"${gold}$"), parse(case.text))))
        except Exception:
            out.append(None)
    return out


def differential(run, rows: list[dict], path: str | None) -> None:
    cases = [c for c in run.plan.cases if c.target == "math.correct"]
    ours = run.scores["math.correct"]
    theirs = math_verify_verdicts(cases, rows)
    if theirs is None:
        print("\nmath-verify is not installed: no differential run (pip install -r requirements-bench.txt)")
        return
    ours_paid = [s is not None and s > 0 for s in ours]
    both = sum(a and bool(b) for a, b in zip(ours_paid, theirs))
    only_ours = [(c, s) for c, s, a, b in zip(cases, ours, ours_paid, theirs) if a and not b]
    only_theirs = [(c, s) for c, s, a, b in zip(cases, ours, ours_paid, theirs) if b and not a]
    print(f"\n## Differential: math.correct and math-verify on the same {len(cases)} attack completions")
    print(f"paid by math.correct {sum(ours_paid)}, by math-verify {sum(bool(t) for t in theirs)}, by both {both}")
    print(f"paid by math.correct only: {len(only_ours)} {dict(Counter(c.attack for c, _ in only_ours))}")
    print(f"paid by math-verify only: {len(only_theirs)} {dict(Counter(c.attack for c, _ in only_theirs))}")
    records = [
        {"who": who, "class": c.attack, "gold": rows[c.row]["answer"], "completion": c.text, "ours": s}
        for who, group in (("math.correct", only_ours), ("math-verify", only_theirs))
        for c, s in group
    ]
    for record in records[:40]:
        tail = " ".join(record["completion"].split())[-80:]
        print(f"- paid by {record['who']} only, {record['class']}: gold {record['gold']!r}: ...{tail}")
    if path:
        Path(path).write_text("".join(json.dumps(r) + "\n" for r in records))
        print(f"all {len(records)} disagreements: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="rows per math/code dataset, drawn with the seed (default: all)")
    parser.add_argument("--gym-size", type=int, default=20, help="rows per reasoning-gym task (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="leave out the heavy code attacks")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--only", default="math,gym,code", type=lambda s: set(s.split(",")))
    parser.add_argument(
        "--code-isolation", default="auto", choices=["auto", "bwrap", "rlimits"], help="code.tests isolation level"
    )
    parser.add_argument("--differential", action="store_true", help="score math.correct's attacks with math-verify too")
    parser.add_argument("--disagreements", default=None, help="write every disagreement to this JSON-lines file")
    parser.add_argument("--json", default=None, help="write every report to this file")
    args = parser.parse_args()
    print(f"grpo-rewards attack benchmark, seed {args.seed}, limit {args.limit}, gym size {args.gym_size}, quick {args.quick}")
    reports, failures = {}, []
    for label, entry, sources, limit in plans(args):
        rows = load_rows(tuple(sources), limit, args.seed)
        start = time.perf_counter()
        run = run_attacks(parse_reward_set([entry]), rows, seed=args.seed, quick=args.quick, workers=args.workers)
        seconds = time.perf_counter() - start
        print_report(label, run.report, seconds)
        reports[label] = run.report
        failures += [f"{label}: {line}" for line in paid_failures(run.report)]
        if label == "math" and args.differential:
            differential(run, rows, args.disagreements)
    print(f"\n{len(failures)} (reward, class) pairs paid")
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
