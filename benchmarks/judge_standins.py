"""`grpo-rewards judge certify` against the rule-based stand-in judges of tests/judge_support.py, on a
labelled set made from GSM8K test golds (the gold answer labelled 1, the gold plus one labelled 0).

Own cases against rule-based stand-ins, not a real model: it shows what certification refuses and why.
Run from the repository root: ``.venv/bin/python benchmarks/judge_standins.py [--problems 50]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.judge_support import JudgeServer  # noqa: E402

JUDGES = [
    ("rule-judge", ""),
    ("long-judge", ""),
    ("coin-judge", ""),
    ("gullible-judge", ""),
    ("gullible-judge", "defences = false\n"),
    ("first-judge", ""),
    ("yes-judge", ""),
]


def write_labels(path: Path, problems: int) -> None:
    from grpo_rewards.bench.data import read_prompt_rows

    rows, _ = read_prompt_rows("builtin:gsm8k")
    with path.open("w") as out:
        for row in rows[:problems]:
            gold = row["answer"]
            for text, label in ((f"Working it through, the answer is {gold}.", 1), (f"The answer is {int(gold) + 1}.", 0)):
                out.write(json.dumps({"prompt": row["question"], "completion": text, "answer": gold, "label": label}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--problems", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, JudgeServer() as server:
        labels = Path(tmp) / "labels.jsonl"
        write_labels(labels, args.problems)
        print(
            "| judge | accuracy | kappa (95% CI) | flips | length lift | retest | injection lift | exit | refusals |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---|"
        )
        for model, extra in JUDGES:
            config = Path(tmp) / "judge.toml"
            config.write_text(
                f'[[rewards]]\nuse = "judge.reference"\n[rewards.params]\nbase_url = "{server.base_url}"\nmodel = "{model}"\n{extra}'
            )
            cert_path = Path(tmp) / "cert.json"
            command = [
                sys.executable,
                "-m",
                "grpo_rewards",
                "judge",
                "certify",
                str(config),
                "--labels",
                str(labels),
                "-o",
                str(cert_path),
            ]
            done = subprocess.run(command, capture_output=True, text=True)
            cert = json.loads(cert_path.read_text())
            a, i = cert["agreement"], cert["injection"]
            flips = cert["position"]["flip_rate"]
            print(
                f"| {model}{' (defences off)' if extra else ''} | {a['accuracy']:.3f} | {a['kappa']:.3f} "
                f"({a['kappa_ci95'][0]:.3f}-{a['kappa_ci95'][1]:.3f}) | {flips:.3f} | {cert['length']['lift']:.3f} "
                f"| {cert['retest']['agreement']:.3f} | {i['lift']:.3f} ({i['n']} rows) "
                f"| {done.returncode} | {'; '.join(cert['refusals']) or 'certified'} |"
            )


if __name__ == "__main__":
    main()
