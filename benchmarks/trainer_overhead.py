"""Step-time overhead of grpo-rewards' trainer against plain TRL GRPOTrainer, side by side.

    HF_HUB_OFFLINE=1 python benchmarks/trainer_overhead.py [--model tiny|smollm2] [--steps 12] [--rounds 2]

Both trainers get the same model (fresh copy per run), data, reward functions, seed and
arguments; runs alternate plain, ours, plain, ours... so that machine drift hits both. A
callback stamps the wall clock at every step end, so a step's time includes everything the
trainer does between steps (generation, scoring, loss, logging, our contribution metrics, run
files and progress display). The first step of each run is dropped (warm-up); each round's
ratio compares runs made minutes apart, and the figure is the median of those ratios. With the same
seed both trainers generate the same completions, so the work per step is identical; the
script checks that by comparing the logged rewards. On a shared machine that ratio swings by
several percent from round to round, so the script also times, directly, every method the
trainer adds around TRL (stats gathering, contribution metrics, samples, run files, progress)
and prints that time as a share of a plain step, a figure that machine noise barely blurs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.trainer_support import build_tiny_model  # noqa: E402


def build_model(kind: str, folder: Path):
    import torch
    from grpo_rewards.trainer.model import load_tokenizer, local_folder, resolve_model
    from transformers import AutoModelForCausalLM

    if kind == "tiny":
        build_tiny_model(folder)  # the test suite's tiny random Llama, so both measure the same model
        location = str(folder)
    else:
        location = local_folder(resolve_model("builtin:smollm2"))
    return (lambda: AutoModelForCausalLM.from_pretrained(location, dtype=torch.float32)), load_tokenizer(location)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["tiny", "smollm2"], default="tiny")
    parser.add_argument("--steps", type=int, default=12, help="steps per run (the first is dropped)")
    parser.add_argument("--rounds", type=int, default=2, help="plain/ours pairs")
    parser.add_argument("--max-completion-length", type=int, default=24)
    args = parser.parse_args()

    import transformers
    from grpo_rewards.trainer.callbacks import RunFilesCallback, StopOnInterrupt
    from grpo_rewards.trainer.config import DataSettings
    from grpo_rewards.trainer.data import build_prompts, load_data
    from grpo_rewards.trainer.metrics import RewardMetrics, make_trainer_class
    from grpo_rewards.trainer.progress import ProgressDisplay
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    from grpo_rewards.rewardset import parse_reward_set

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    work = Path(tempfile.mkdtemp(prefix="trainer-overhead-"))
    make_model, tokenizer = build_model(args.model, work / "model")
    data = DataSettings(
        source="builtin:aclsum", template="Summarize this in one short sentence:\n\n{abstract}", max_prompt_tokens=128
    )
    dataset = build_prompts(load_data(data, "benchmark", ROOT), data, tokenizer, log=lambda m: None).train
    reward_set = parse_reward_set(
        [
            {"use": "length.target", "name": "length", "params": {"target": 50}},
            {"use": "length.target", "name": "length_words", "weight": 0.5, "params": {"target": 10, "unit": "words"}},
        ]
    )
    funcs, weights = reward_set.to_trl()

    class StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.stamps: list[float] = []

        def on_step_begin(self, a, state, control, **kw):
            if not self.stamps:
                self.stamps.append(time.perf_counter())

        def on_step_end(self, a, state, control, **kw):
            self.stamps.append(time.perf_counter())

    own_seconds = [0.0]  # wall time spent inside the trainer's own additions, "ours" runs only

    def timed(function, sign: float = 1.0):
        def wrapper(*a, **kw):
            start = time.perf_counter()
            try:
                return function(*a, **kw)
            finally:
                own_seconds[0] += sign * (time.perf_counter() - start)

        return wrapper

    trainer_class = make_trainer_class()
    # Everything the subclass and the callbacks add around TRL: the reward-calculation override in
    # full minus the TRL method it wraps (timed with a negative sign), the metrics flush in log(),
    # and our callbacks.
    trainer_class._calculate_rewards = timed(trainer_class._calculate_rewards)
    GRPOTrainer._calculate_rewards = timed(GRPOTrainer._calculate_rewards, sign=-1.0)
    for owner, names in (
        (RewardMetrics, ("flush",)),
        (RunFilesCallback, ("on_log", "on_step_end")),
        (StopOnInterrupt, ("on_step_end",)),
        (ProgressDisplay, ("on_log", "on_step_end")),
    ):
        for name in names:
            setattr(owner, name, timed(getattr(owner, name)))

    def run(ours: bool, index: int) -> tuple[list[float], list[float]]:
        out = work / f"run-{index}-{'ours' if ours else 'plain'}"
        config = GRPOConfig(
            output_dir=str(out),
            use_cpu=True,
            bf16=False,
            learning_rate=1e-4,
            num_generations=4,
            per_device_train_batch_size=8,
            max_completion_length=args.max_completion_length,
            max_steps=args.steps,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=7,
            reward_weights=weights,
            activation_checkpointing=False,
        )
        clock = StepClock()
        common = dict(model=make_model(), reward_funcs=funcs, args=config, train_dataset=dataset, processing_class=tokenizer)
        if ours:
            out.mkdir(parents=True)
            files = RunFilesCallback(out)
            trainer = trainer_class(
                **common,
                callbacks=[files, StopOnInterrupt(), ProgressDisplay(reward_set.names, "none"), clock],
                correlation_steps=5,
                samples_per_step=4,
            )
            files.trainer = trainer
        else:
            trainer = GRPOTrainer(**common, callbacks=[clock])
        trainer.remove_callback(PrinterCallback)
        own_before = own_seconds[0]
        trainer.train()
        if ours:
            own_per_step.append((own_seconds[0] - own_before) / args.steps)
        steps = [b - a for a, b in zip(clock.stamps, clock.stamps[1:])][1:]
        rewards = [r["reward"] for r in trainer.state.log_history if "reward" in r]
        return steps, rewards

    ratios, plain_medians, our_medians, own_per_step = [], [], [], []
    same_rewards = True
    for round_index in range(args.rounds):
        # alternate which goes first, so a load change within a round does not always hit the same one
        order = (False, True) if round_index % 2 == 0 else (True, False)
        results = {ours: run(ours, round_index) for ours in order}
        (plain_steps, plain_rewards), (our_steps, our_rewards) = results[False], results[True]
        same_rewards &= plain_rewards == our_rewards
        plain_medians.append(statistics.median(plain_steps))
        our_medians.append(statistics.median(our_steps))
        ratios.append(our_medians[-1] / plain_medians[-1])
        print(
            f"round {round_index + 1}: plain median {plain_medians[-1]:.3f} s/step, "
            f"ours {our_medians[-1]:.3f} s/step, ratio {ratios[-1]:.3f}"
        )
    print(
        f"\nmodel {args.model}, {args.steps - 1} timed steps per run, {args.rounds} rounds of plain + ours, "
        f"G=4, batch 8, {args.max_completion_length} new tokens, 2 rewards"
    )
    print(f"plain TRL GRPOTrainer: median of round medians {statistics.median(plain_medians):.3f} s/step")
    print(f"grpo-rewards trainer:  median of round medians {statistics.median(our_medians):.3f} s/step")
    print(
        f"ratio ours/plain (median of the per-round ratios): {statistics.median(ratios):.3f} "
        f"(range {min(ratios):.3f}-{max(ratios):.3f})"
    )
    own = statistics.median(own_per_step)
    print(
        f"time inside the trainer's own additions: {1000 * own:.2f} ms/step = "
        f"{100 * own / statistics.median(plain_medians):.2f}% of a plain step"
    )
    print(f"identical rewards logged at every step (same work per step): {same_rewards}")


if __name__ == "__main__":
    main()
