"""Rows/s of the model rewards by batch size, and the remote path's overhead against in-process.

Rows are summarisation prompts built from the aclsum abstracts shipped offline (chat-style: a user
message with the abstract, an assistant summary), with a human summary as the reference column.

- ``reward_model.classifier`` on two reward-model shapes with real weights and a random head:
  ``minilm-rm`` (all-MiniLM-L6-v2 encoder, 22.7M parameters, no chat template: plain text) and
  ``smollm2-rm`` (SmolLM2-135M-Instruct as a LlamaForSequenceClassification, its ChatML template
  applied), both at max_length 512;
- ``reward_model.similarity`` with the offline all-MiniLM-L6-v2;
- ``reward_model.remote`` against ``grpo-rewards serve-rewards`` in a child process on 127.0.0.1,
  serving the same reward that is also timed in-process: the ratio remote / in-process is the
  price of moving a reward to an endpoint (JSON, HTTP on loopback, a second process).

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/model_rewards.py [--rows 64] [--batch-sizes 1,8,32]
        [--skip-smollm2] [--smollm2-rows 16] [--repeat 2]

Models are loaded (and warmed up) before timing; the best of ``--repeat`` runs is printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")  # built-ins only
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from grpo_rewards import parse_reward_set  # noqa: E402
from grpo_rewards.reward import RewardFunction  # noqa: E402


def aclsum_rows(count: int) -> list[dict]:
    folder = Path(importlib.util.find_spec("aclsum").submodule_search_locations[0]) / "dataset"
    papers = [json.loads(line) for line in (folder / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = []
    for i in range(count):
        paper = papers[i % len(papers)]
        fields = ["challenge", "approach", "outcome"]
        completion = paper["summary"][fields[i % 3]]
        rows.append(
            {
                "prompt": [
                    {
                        "role": "user",
                        "content": "Summarize this in one short sentence:\n\n" + " ".join(paper["sentences"]["abstract"]),
                    }
                ],
                "completion": [{"role": "assistant", "content": completion}],
                "reference": paper["summary"][fields[(i + 1) % 3]],
            }
        )
    return rows


def build_classifiers(folder: Path, skip_smollm2: bool) -> dict[str, str]:
    """Reward-model folders: real encoder/decoder weights, a fresh one-logit head."""
    import torch
    from grpo_rewards.plugins.reward_model.similarity import default_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    sources = {"minilm-rm": default_model()}
    if not skip_smollm2:
        from grpo_rewards.trainer.model import builtin_gguf, converted_gguf

        sources["smollm2-rm"] = str(converted_gguf(builtin_gguf("smollm2"), log=lambda m: print(m, file=sys.stderr)))
    out = {}
    for name, source in sources.items():
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
        AutoTokenizer.from_pretrained(source).save_pretrained(folder / name)
        model.save_pretrained(folder / name)
        out[name] = str(folder / name)
    return out


def timed(fn: RewardFunction, rows: list[dict], repeat: int) -> float:
    """Best wall time of ``repeat`` calls, after one warm-up call (model loading, connections)."""
    kwargs = {
        "prompts": [r["prompt"] for r in rows],
        "completions": [r["completion"] for r in rows],
        "reference": [r["reference"] for r in rows],
    }
    fn.score(**kwargs)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run = fn.run_trl(**kwargs)
        best = min(best, time.perf_counter() - start)
    assert run.stats.errors == 0 and run.stats.timeouts == 0, run.stats.first_error
    assert len(run.values) == len(rows)
    return best


def build(entry: dict) -> RewardFunction:
    return parse_reward_set([entry]).functions()[0]


def serve(config: Path):
    """``grpo-rewards serve-rewards CONFIG --port 0`` in a child process; returns (process, url)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "grpo_rewards", "serve-rewards", str(config), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for _ in range(50):
        line = process.stdout.readline()
        match = re.search(r"POST (http://\S+/score)", line)
        if match:
            return process, match.group(1)
    process.kill()
    raise RuntimeError("serve-rewards did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--batch-sizes", default="1,8,32")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--skip-smollm2", action="store_true", help="leave out the 135M decoder reward model")
    parser.add_argument("--smollm2-rows", type=int, default=16, help="rows for the 135M model (slow on a CPU)")
    args = parser.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    import torch

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), {args.rows} rows, best of {args.repeat}; "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    rows = aclsum_rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        models = build_classifiers(Path(tmp), args.skip_smollm2)
        print("\n| reward | model | batch size | rows/s | ms/row |\n|---|---|---|---|---|")
        for name, folder in models.items():
            subset = rows[: args.smollm2_rows] if name == "smollm2-rm" else rows
            for batch_size in batch_sizes:
                fn = build(
                    {
                        "use": "reward_model.classifier",
                        "params": {"model": folder, "batch_size": batch_size, "max_length": 512, "device": "cpu"},
                    }
                )
                seconds = timed(fn, subset, args.repeat)
                print(
                    f"| classifier | {name} | {batch_size} | {len(subset) / seconds:.1f} | {1000 * seconds / len(subset):.1f} |",
                    flush=True,
                )
        for batch_size in batch_sizes:
            fn = build({"use": "reward_model.similarity", "params": {"batch_size": batch_size, "device": "cpu"}})
            seconds = timed(fn, rows, args.repeat)
            print(
                f"| similarity | all-MiniLM-L6-v2 | {batch_size} | {len(rows) / seconds:.1f} | "
                f"{1000 * seconds / len(rows):.1f} |",
                flush=True,
            )

        print(
            "\n| reward served | in-process ms/call | remote ms/call | remote / in-process | "
            "overhead ms/row |\n|---|---|---|---|---|"
        )
        served = {
            "length.target": {"use": "length.target", "params": {"target": 120}},
            "similarity (MiniLM)": {"use": "reward_model.similarity", "params": {"device": "cpu"}},
        }
        for label, entry in served.items():
            config = Path(tmp) / "served.json"
            config.write_text(json.dumps({"rewards": [entry]}))
            local = timed(build(entry), rows, args.repeat)
            process, url = serve(config)
            try:
                remote = timed(
                    build(
                        {"use": "reward_model.remote", "params": {"url": url, "columns": ["reference"], "batch_size": len(rows)}}
                    ),
                    rows,
                    args.repeat,
                )
            finally:
                process.kill()
                process.wait(10)
            print(
                f"| {label} | {1000 * local:.2f} | {1000 * remote:.2f} | {remote / local:.2f}x | "
                f"{1000 * (remote - local) / len(rows):.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
