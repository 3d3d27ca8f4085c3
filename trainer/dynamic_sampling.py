"""Dynamic sampling: train on groups whose advantage has spread, sample more prompts for the rest.

A group whose completions all get the same advantage teaches nothing and costs a generation. The
decision is taken on the advantage TRL will use: the matrix TRL receives (closed gates applied),
the weights of this step (schedules), the aggregation mode and ``scale_rewards``, through
:func:`grpo_rewards.aggregation.compute_advantages`; a group is dropped when its advantages lie
within ``tolerance`` of each other (:func:`~grpo_rewards.aggregation.group_spread`).

The mechanism is a refill loop: TRL generates and scores the step's batch as usual; when some
process holds fewer groups with spread than its share of the batch, another batch of prompts is
generated and scored through TRL's own ``_generate_and_score_completions`` (the method TRL's
``_prepare_inputs`` calls), up to ``max_rounds`` extra rounds. Each process fills its own share
(groups never cross processes, which the config check guarantees), so no tensor moves between
processes; every process decides from the same gathered matrices, so all agree on what is kept.
Slots still empty after the last round hold dropped groups with their completion mask zeroed:
they add no token to the loss nor to its normaliser (train on what there is).

This module holds the parts that need no trainer: the settings, the selection (numpy), the
stream of refill prompts and the assembly of a batch from several rounds' outputs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grpo_rewards.aggregation import Aggregation, compute_advantages, group_spread

DEFAULT_TOLERANCE = 1e-3
DEFAULT_MAX_ROUNDS = 2


@dataclass
class DynamicSamplingSettings:
    """``[dynamic_sampling]`` of the trainer config."""

    enabled: bool = False
    tolerance: float = DEFAULT_TOLERANCE  # advantage spread (max - min) at or below which a group is dropped
    max_rounds: int = DEFAULT_MAX_ROUNDS  # extra generation rounds per step, at most


@dataclass(frozen=True)
class Pick:
    """One group of the assembled batch: which round, which group of that round (global index)."""

    round: int
    group: int
    filler: bool = False  # a dropped group that only fills a slot: masked out of the loss


@dataclass
class GroupSelector:
    """Decides, round after round, which groups each process trains on.

    Every process runs the same selector on the same gathered matrices, so all reach the same
    picks without exchanging anything more.
    """

    processes: int
    groups_per_process: int
    group_size: int
    aggregation: Aggregation
    tolerance: float
    kept: list[list[Pick]] = field(default_factory=list)
    dropped: list[list[Pick]] = field(default_factory=list)
    rounds: int = 0
    groups_dropped: int = 0
    spare: int = 0  # groups with spread that were not needed (a process already full)

    def __post_init__(self) -> None:
        self.kept = [[] for _ in range(self.processes)]
        self.dropped = [[] for _ in range(self.processes)]

    def add_round(self, matrix: np.ndarray, weights: Sequence[float]) -> np.ndarray:
        """One round's gathered matrix (N x K, what TRL receives) at this step's weights; returns
        which of its groups have spread."""
        advantages = compute_advantages(matrix, weights, self.group_size, self.aggregation).advantages
        keep = group_spread(advantages, self.group_size) > self.tolerance
        expected = self.processes * self.groups_per_process
        if len(keep) != expected:
            raise ValueError(f"round of {len(keep)} groups; expected {expected} ({self.processes} processes)")
        for g, has_spread in enumerate(keep.tolist()):
            process = g // self.groups_per_process
            if not has_spread:
                self.groups_dropped += 1
                self.dropped[process].append(Pick(self.rounds, g, filler=True))
            elif len(self.kept[process]) < self.groups_per_process:
                self.kept[process].append(Pick(self.rounds, g))
            else:
                self.spare += 1
        self.rounds += 1
        return keep

    @property
    def full(self) -> bool:
        return all(len(k) >= self.groups_per_process for k in self.kept)

    def picks(self) -> list[list[Pick]]:
        """Each process's groups: those with spread, then dropped ones to fill its share."""
        out = []
        for kept, dropped in zip(self.kept, self.dropped):
            out.append(kept + dropped[: self.groups_per_process - len(kept)])
        return out

    @property
    def filled(self) -> int:
        return sum(max(0, self.groups_per_process - len(k)) for k in self.kept)


def kept_rows(picks: Sequence[Sequence[Pick]], group_size: int) -> list[tuple[int, np.ndarray]]:
    """(round, global row indices) of every non-filler group, all processes in rank order: the
    rows of the batch that is trained on, in the order its advantage is formed."""
    out = []
    for process_picks in picks:
        for pick in process_picks:
            if not pick.filler:
                out.append((pick.round, np.arange(pick.group * group_size, (pick.group + 1) * group_size)))
    return out


def refill_batches(
    dataset: Any, group_size: int, prompts_per_batch: int, processes: int, rank: int, seed: int
) -> Iterator[list[dict[str, Any]]]:
    """Endless local generation batches for refills, laid out as TRL's sampler lays out its own
    (each prompt ``group_size`` times in a row, the global batch cut into consecutive per-process
    slices), from an order of its own (``seed``) so refills are not the prompts of the next steps."""
    from trl.trainer.utils import RepeatSampler

    sampler = RepeatSampler(dataset, mini_repeat_count=group_size, batch_size=prompts_per_batch, seed=seed)
    global_rows = prompts_per_batch * group_size
    local = global_rows // processes
    while True:
        indices = list(sampler)
        if len(indices) < global_rows:
            raise ValueError(
                f"dynamic sampling: the training data has {len(dataset)} prompts, fewer than the "
                f"{prompts_per_batch} a refill batch needs"
            )
        for start in range(0, len(indices) - global_rows + 1, global_rows):
            chunk = indices[start : start + global_rows][rank * local : (rank + 1) * local]
            yield [dataset[i] for i in chunk]


LEFT_PADDED = ("prompt_ids", "prompt_mask")
RIGHT_PADDED = (
    "completion_ids",
    "completion_mask",
    "old_per_token_logps",
    "ref_per_token_logps",
    "sampling_per_token_logps",
    "importance_sampling_ratio",
    "tool_mask",
)
RECOMPUTED = ("num_items_in_batch",)


def assemble(outputs: Sequence[dict[str, Any]], rows: Sequence[Sequence[int]], pad_token_id: int) -> dict[str, Any]:
    """One batch from the local rows ``rows[r]`` of each round's output (TRL's dict of tensors):
    prompts left-padded and completions right-padded to a common width. ``num_items_in_batch``
    is left to the caller (it is a sum over processes)."""
    import torch
    import torch.nn.functional as F

    unknown = set(outputs[0]) - {*LEFT_PADDED, *RIGHT_PADDED, *RECOMPUTED, "advantages"}
    if unknown:
        raise ValueError(f"dynamic sampling supports text-only batches; TRL's batch also holds {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    for key in outputs[0]:
        if key in RECOMPUTED:
            continue
        parts = [
            o[key][torch.as_tensor(list(r), dtype=torch.long, device=o[key].device)] for o, r in zip(outputs, rows) if len(r)
        ]
        if parts[0].dim() == 1:
            out[key] = torch.cat(parts)
            continue
        width = max(p.shape[1] for p in parts)
        value = pad_token_id if key in ("prompt_ids", "completion_ids") else 0
        left = key in LEFT_PADDED
        out[key] = torch.cat([F.pad(p, (width - p.shape[1], 0) if left else (0, width - p.shape[1]), value=value) for p in parts])
    return out


@dataclass
class RoundScores:
    """What the trainer's ``_calculate_rewards`` saw in one round: gathered over processes."""

    raw: np.ndarray  # N x K raw scores (NaN = None)
    values: np.ndarray  # N x K as TRL receives them (closed gates applied)
    gate_open: np.ndarray | None
    weights: list[float]  # this step's weights
    stats: np.ndarray  # K x 5 call statistics, summed over processes
    timed: list[bool]
    prompts: list[Any]  # this process's rows
    completions: list[Any]
    explained: list[dict[str, Any]] | None = None  # this process's rows' explain fields (samples.jsonl)


def check_dynamic_sampling(trainer: Any) -> None:
    """Refuse, at construction, what the refill loop cannot do."""
    from datasets import IterableDataset

    local = trainer.args.generation_batch_size // trainer.accelerator.num_processes
    if local % trainer.num_generations:
        raise ValueError(
            f"dynamic sampling needs whole groups on each process: the generation batch per process "
            f"({local} rows) is not divisible by num_generations = {trainer.num_generations}"
        )
    if isinstance(trainer.train_dataset, IterableDataset):
        raise ValueError("dynamic sampling needs a map-style training dataset (refills draw prompts by index)")
    if getattr(trainer, "environment_factories", None) is not None or getattr(trainer, "tools", None):
        raise ValueError("dynamic sampling supports text-only rollouts: no tools or environments")


def generate_step(trainer: Any, batch: list[dict[str, Any]]) -> dict[str, Any]:
    """The step's generation batch with dynamic sampling: TRL's ``_generate_and_score_completions``
    on ``batch``, then on refill batches while some process lacks groups with spread; returns the
    assembled local batch (same size as TRL's), logs the sampling metrics and hands the kept
    groups' scores to the contribution metrics."""
    import time

    import torch

    settings = trainer.dynamic_sampling
    processes, rank = trainer.accelerator.num_processes, trainer.accelerator.process_index
    group_size = trainer.num_generations
    local_rows = len(batch)
    selector = GroupSelector(processes, local_rows // group_size, group_size, trainer.aggregation, settings.tolerance)
    if trainer._refills is None:
        trainer._refills = refill_batches(
            trainer.train_dataset,
            group_size,
            trainer.args.generation_batch_size // group_size,
            processes,
            rank,
            trainer.args.seed + 1,
        )
    outputs, rounds = [], []
    trainer.sampling_round = rounds
    started = None
    try:
        for round_index in range(1 + settings.max_rounds):
            if round_index == 1:
                started = time.perf_counter()
            rows = batch if round_index == 0 else next(trainer._refills)
            outputs.append(trainer._generate_and_score_completions(rows))
            selector.add_round(rounds[-1].values, rounds[-1].weights)
            if selector.full:
                break
    finally:
        trainer.sampling_round = None
    extra_seconds = time.perf_counter() - started if started is not None else 0.0

    picks = selector.picks()
    kept = kept_rows(picks, group_size)
    weights = rounds[0].weights
    advantages_by_row: dict[tuple[int, int], float] = {}
    if kept:
        values = np.concatenate([rounds[r].values[idx] for r, idx in kept])
        advantages = compute_advantages(values, weights, group_size, trainer.aggregation).advantages
        flat = [(r, int(i)) for r, idx in kept for i in idx]
        advantages_by_row = dict(zip(flat, advantages.tolist()))
        raw = np.concatenate([rounds[r].raw[idx] for r, idx in kept])
        opened = [rounds[r].gate_open for r, _ in kept]
        gate_open = None if opened[0] is None else np.concatenate([o[idx] for o, (_, idx) in zip(opened, kept)])
        stats = np.sum([s.stats for s in rounds], axis=0)
        timed = [all(t) for t in zip(*(s.timed for s in rounds))]
        trainer.reward_metrics["train"].add(raw, stats, timed, weights, gate_open)

    # this process's rows, round after round (the order assemble() concatenates them in)
    offset = rank * local_rows
    local_by_round: list[list[int]] = [[] for _ in outputs]
    row_advantage, row_filler = [], []
    for r in range(len(outputs)):
        for pick in picks[rank]:
            if pick.round != r:
                continue
            for i in range(pick.group * group_size, (pick.group + 1) * group_size):
                local_by_round[r].append(i - offset)
                row_filler.append(pick.filler)
                row_advantage.append(0.0 if pick.filler else advantages_by_row[(r, i)])
    out = assemble(outputs, local_by_round, trainer._tokenizer.pad_token_id)
    device = out["completion_mask"].device
    out["advantages"] = torch.tensor(row_advantage, dtype=out["advantages"].dtype, device=device)
    filler = torch.tensor(row_filler, dtype=torch.bool, device=device)
    out["completion_mask"] = out["completion_mask"] * (~filler).unsqueeze(1).to(out["completion_mask"].dtype)
    loss_mask = out["completion_mask"] if "tool_mask" not in out else out["completion_mask"] * out["tool_mask"]
    out["num_items_in_batch"] = trainer.accelerator.gather(loss_mask.sum()).sum()

    local_kept = [(r, i - offset) for r, idx in kept for i in idx if offset <= i < offset + local_rows]
    if kept:
        trainer.watch_canaries(
            values,
            [rounds[r].prompts[i] for r, i in local_kept],
            [rounds[r].completions[i] for r, i in local_kept],
        )
    if trainer.samples_per_step and trainer.accelerator.is_main_process:
        if local_kept:
            trainer._keep_samples(
                [rounds[r].prompts[i] for r, i in local_kept],
                [rounds[r].completions[i] for r, i in local_kept],
                np.stack([rounds[r].raw[offset + i] for r, i in local_kept]),
                [rounds[r].explained[i] for r, i in local_kept] if all(rnd.explained for rnd in rounds) else None,  # type: ignore[index]
            )
    metrics = trainer._metrics["train"]
    metrics["dynamic_sampling/groups_dropped"].append(float(selector.groups_dropped))
    metrics["dynamic_sampling/extra_rounds"].append(float(selector.rounds - 1))
    metrics["dynamic_sampling/extra_seconds"].append(extra_seconds)
    metrics["dynamic_sampling/effective_batch"].append(float(sum(len(idx) for _, idx in kept)))
    metrics["dynamic_sampling/filled_groups"].append(float(selector.filled))
    return out
