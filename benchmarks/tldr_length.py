"""The tldr-length case study: train, then print the length-reward curve and the wall time.

    HF_HUB_OFFLINE=1 python benchmarks/tldr_length.py [--set grpo.max_steps=30 ...] [--baseline]

Runs ``examples/tldr-length.toml`` through the same code path as ``grpo-rewards train`` and
prints the mean length reward per step with the elapsed training time. ``--baseline`` first
runs the plain-TRL recipe of ENVIRONMENT.md (GRPOTrainer, LoRA r=16/alpha=32 all-linear,
lr 5e-4, batch 8, G=8, 48 new tokens, reward -|50 - len|) on the very same prompts for the same
wall-clock budget, so the two curves are measured side by side on one machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def seed_length_reward(completions, **kwargs):
    """The seed's reward: -|50 - number of characters|."""
    texts = [c[0]["content"] if isinstance(c, list) else c for c in completions]
    return [-abs(50 - len(t)) for t in texts]


def make_clock():
    """A callback stamping the wall time since training began at every step end."""
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def __init__(self) -> None:
            self.start = 0.0
            self.elapsed: dict[int, float] = {}

        def on_train_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.elapsed[state.global_step] = time.perf_counter() - self.start

    return Clock()


def run_baseline(config_path: str, output_dir: str, max_steps: int) -> list[tuple[int, float, float]]:
    """Plain TRL on our prompts; returns (step, mean length reward, elapsed seconds) per step."""
    import transformers
    from grpo_rewards.trainer.config import load_trainer_config
    from grpo_rewards.trainer.data import build_prompts, load_data
    from grpo_rewards.trainer.model import load_model, load_tokenizer, local_folder, resolve_model
    from peft import LoraConfig
    from trl import GRPOConfig, GRPOTrainer

    transformers.utils.logging.disable_progress_bar()
    config = load_trainer_config(config_path)
    location = local_folder(resolve_model(config.model.name, config.base_dir))
    tokenizer = load_tokenizer(location)
    dataset = build_prompts(
        load_data(config.data, config.source, config.base_dir), config.data, tokenizer, log=lambda m: None
    ).train

    clock = make_clock()
    args = GRPOConfig(
        output_dir=output_dir,
        use_cpu=True,
        bf16=False,
        learning_rate=5e-4,
        num_generations=8,
        per_device_train_batch_size=8,
        max_completion_length=48,
        max_steps=max_steps,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        seed=42,
    )
    peft = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = GRPOTrainer(
        model=load_model(location),
        reward_funcs=seed_length_reward,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft,
        callbacks=[clock],
    )
    trainer.train()
    return [
        (r["step"], r["rewards/seed_length_reward/mean"], clock.elapsed.get(r["step"], float("nan")))
        for r in trainer.state.log_history
        if "rewards/seed_length_reward/mean" in r
    ]


def our_curve(output_dir: str, reward: str, elapsed: dict[int, float]) -> list[tuple[int, float, float]]:
    records = [json.loads(line) for line in (Path(output_dir) / "metrics.jsonl").read_text().splitlines()]
    return [
        (r["step"], r[f"rewards/{reward}/mean"], elapsed.get(r["step"], float("nan")))
        for r in records
        if r.get(f"rewards/{reward}/mean") is not None
    ]


def print_curve(title: str, curve: list[tuple[int, float, float]]) -> None:
    print(f"\n{title}\n step  length reward  training time (s)")
    for step, value, elapsed in curve:
        print(f"{step:5d}  {value:13.1f}  {elapsed:17.0f}")
    values = [v for _, v, _ in curve]
    n = max(1, len(values) // 5)
    print(f"first {n} scored steps: {sum(values[:n]) / n:.1f}; last {n}: {sum(values[-n:]) / n:.1f}")
    reached = next(((s, e) for s, v, e in curve if v >= -30), None)
    print("first step with mean >= -30: " + (f"step {reached[0]} after {reached[1]:.0f} s" if reached else "never"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "tldr-length.toml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--output-dir", default=None)
    parser.add_argument("--reward", default="length", help="the reward whose curve is printed")
    parser.add_argument("--baseline", action="store_true", help="also run the plain-TRL recipe side by side")
    parser.add_argument("--baseline-steps", type=int, default=30)
    args = parser.parse_args()

    from grpo_rewards.trainer.run import train

    output_dir = args.output_dir or f"/tmp/tldr-length-{int(time.time())}"
    baseline = None
    if args.baseline:
        baseline = run_baseline(args.config, output_dir + "-plain-trl", args.baseline_steps)
    clock = make_clock()
    start = time.perf_counter()
    result = train(args.config, args.overrides, output_dir=output_dir, progress="lines", extra_callbacks=[clock])
    wall = time.perf_counter() - start

    if baseline is not None:
        print_curve("plain TRL: LoRA r16, lr 5e-4, G=8, batch 8, 48 new tokens", baseline)
    print_curve(f"grpo-rewards: {args.config} {' '.join(args.overrides)}", our_curve(output_dir, args.reward, clock.elapsed))
    print(f"\nwall time of our run (load + train + save + report): {wall:.0f} s; status {result.status}; output {output_dir}")


if __name__ == "__main__":
    main()
