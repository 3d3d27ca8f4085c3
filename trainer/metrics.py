"""Per-reward contribution metrics, from the very reward values TRL trained on.

:class:`RewardsGRPOTrainer` overrides ``_calculate_rewards`` only to keep what TRL's own method
returns: the N x K matrix of raw scores, already gathered over all processes (TRL normalises
advantages per group across processes from that same matrix). No second scoring pass. When every
reward is ours, the override scores the step itself through one
:class:`~grpo_rewards.runtime.Scorer`: all rewards at the same time (TRL runs sync rewards one
after another), and the step's :class:`~grpo_rewards.runtime.ScoreBatch` carries the call
statistics (rows, None, errors, timeouts, seconds), which are per process, so they are summed over
processes with one small collective in the same place, where every process is in lockstep. What
rewards report per row (``Scored`` details) goes to TRL's ``log_extra`` / ``log_metric``.

:class:`RewardMetrics` turns the matrices of one logging window into
``rewards/<name>/{weight,weighted_mean,share,zero_spread,none_rate,error_rate,timeout_rate,latency_ms}``
(``calls``, ``tokens`` and ``cost`` summed over the window for a reward that reports them, ``gated_rate`` for a gated reward, ``amplified`` under GDPO, and ``rewards/corr/<a>~<b>`` every
``correlation_steps`` steps), which are put into TRL's metrics so that every ``report_to``
backend, the console and ``metrics.jsonl`` get them. The shares decompose the advantage of the
aggregation mode TRL was configured with (see :mod:`grpo_rewards.aggregation`).

Schedules and gates of the reward set are applied in the same override, the one place where a
whole batch's scores and the global step are known: the weights of ``RewardSet.weights_at(step)``
go into ``self.reward_weights``, which TRL reads right after ``_calculate_rewards`` returns to form
the total (so a schedule is applied at the step the batch is scored, and is the same after
``--resume``, where the global step is restored); a closed gate turns the score TRL receives into
``min(score, closed value)`` (``gates.close``), the same value under every aggregation mode.
TRL's own ``rewards/<name>/mean`` and ``/std`` of a gated reward are put back to the raw values.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from grpo_rewards.aggregation import Aggregation, nanstd
from grpo_rewards.contributions import compute_contributions, correlation_matrix
from grpo_rewards.reward import CallStats, RewardFunction, message_text, samples_from_trl
from grpo_rewards.runtime import ScoreBatch, Scorer

from .canary import Alarm, CanarySettings, CanaryWatch
from .dynamic_sampling import DynamicSamplingSettings, RoundScores, check_dynamic_sampling, generate_step

STAT_FIELDS = ("rows", "nones", "errors", "timeouts", "seconds", "calls", "tokens", "cost")
USAGE_FIELDS = ("calls", "tokens", "cost")  # what a reward reports through Scored (an LLM judge's requests)


class RewardMetrics:
    """Accumulates gathered reward matrices and summed call statistics between logging steps."""

    def __init__(
        self,
        names: Sequence[str],
        weights: Sequence[float],
        group_size: int,
        correlation_steps: int = 10,
        aggregation: Aggregation = Aggregation(),
        gated: Sequence[str] = (),
        closed: Sequence[float] | None = None,  # what a closed gate gives (RewardSet.closed_values)
    ) -> None:
        self.names = list(names)
        self.closed = list(closed) if closed is not None else None
        self.weights = [float(w) for w in weights]
        self.group_size = group_size
        self.correlation_steps = correlation_steps
        self.aggregation = aggregation
        self.gated = list(gated)
        self._values: list[np.ndarray] = []
        self._weights: list[np.ndarray] = []
        self._open: list[np.ndarray] = []
        self._stats = np.zeros((len(self.names), len(STAT_FIELDS)))
        self._timed = np.ones(len(self.names), dtype=bool)
        self._corr_values: list[np.ndarray] = []

    @property
    def pending(self) -> bool:
        return bool(self._values)

    def add(
        self,
        values: np.ndarray,
        stats: np.ndarray,
        timed: Sequence[bool] | None = None,
        weights: Sequence[float] | None = None,
        gate_open: np.ndarray | None = None,
    ) -> None:
        """One generation batch: raw ``values`` N x K (NaN = None), ``stats`` K x len(STAT_FIELDS) summed
        over processes; ``timed[k]`` is False for a reward whose calls were not measured; the
        ``weights`` the batch was scored at (default: the constructor's) and where gates were open."""
        values = np.asarray(values, dtype=float).reshape(-1, len(self.names))
        if weights is not None:
            self.weights = [float(w) for w in weights]
        self._values.append(values)
        self._weights.append(np.broadcast_to(np.asarray(self.weights, dtype=float), values.shape))
        self._open.append(np.ones(values.shape, dtype=bool) if gate_open is None else np.asarray(gate_open, dtype=bool))
        self._corr_values.append(values)
        table = np.asarray(stats, dtype=float).reshape(len(self.names), -1)
        if table.shape[1] < len(STAT_FIELDS):  # a table without the usage columns: none was reported
            table = np.pad(table, ((0, 0), (0, len(STAT_FIELDS) - table.shape[1])))
        self._stats += table
        if timed is not None:
            self._timed &= np.asarray(timed, dtype=bool)

    def flush(self, step: int) -> dict[str, float]:
        """The figures of the window since the last flush, then start a new window."""
        if not self._values:
            return {}
        matrix = np.concatenate(self._values)
        sizes = {len(v) for v in self._values}
        contributions = compute_contributions(
            matrix,
            np.concatenate(self._weights),
            self.group_size,
            self.names,
            self.aggregation,
            np.concatenate(self._open),
            self.gated,
            batch_size=sizes.pop() if len(sizes) == 1 else None,
            closed_values=self.closed if self.closed is not None else [float("nan")] * len(self.names),
        )
        out = contributions.as_metrics()
        for name, weight in zip(self.names, self.weights):  # the weights of the window's last batch
            out[f"rewards/{name}/weight"] = weight
        rows, _, errors, timeouts, seconds = (self._stats[:, i] for i in range(5))
        usage = {field: self._stats[:, STAT_FIELDS.index(field)] for field in USAGE_FIELDS}
        for k, name in enumerate(self.names):
            for field, sums in usage.items():
                if sums[k]:  # only rewards that report usage (an LLM judge): calls, tokens, cost of the window
                    out[f"rewards/{name}/{field}"] = sums[k]
            out[f"rewards/{name}/error_rate"] = errors[k] / rows[k] if rows[k] else math.nan
            out[f"rewards/{name}/timeout_rate"] = timeouts[k] / rows[k] if rows[k] else math.nan
            out[f"rewards/{name}/latency_ms"] = 1000.0 * seconds[k] / rows[k] if rows[k] and self._timed[k] else math.nan
        if len(self.names) > 1 and step % self.correlation_steps == 0:
            correlation = correlation_matrix(np.concatenate(self._corr_values))
            for i, a in enumerate(self.names):
                for j in range(i + 1, len(self.names)):
                    out[f"rewards/corr/{a}~{self.names[j]}"] = float(correlation[i, j])
            self._corr_values = []
        self._values, self._weights, self._open = [], [], []
        self._stats = np.zeros_like(self._stats)
        self._timed = np.ones(len(self.names), dtype=bool)
        return {key: float(value) for key, value in out.items()}


def call_stats_rows(batch_stats: Sequence[CallStats | None], rows: int) -> tuple[list[list[float]], list[bool]]:
    """This step's call statistics of each reward (K x 5) and whether each was timed.

    Our rewards' statistics come from the step's ScoreBatch; any other callable (or a reward model)
    counts its rows and nothing else (None here), and its latency is reported as unknown.
    """
    table, timed = [], []
    for stats in batch_stats:
        if stats is None:
            table.append([float(rows)] + [0.0] * (len(STAT_FIELDS) - 1))
            timed.append(False)
        else:
            table.append([float(getattr(stats, f)) for f in STAT_FIELDS])
            timed.append(True)
    return table, timed


def make_trainer_class():
    """The GRPOTrainer subclass, built on first use so importing this module needs no torch."""
    import torch
    from trl import GRPOTrainer

    from .compat import check_trl

    check_trl(GRPOTrainer)

    def gather_texts(local: list[Any]) -> list[Any]:
        from accelerate.utils import gather_object

        return list(gather_object(local))

    def gather_rows(local: torch.Tensor) -> torch.Tensor:
        from accelerate.utils import gather  # what TRL's own _calculate_rewards gathers with

        return gather(local)

    class RewardsGRPOTrainer(GRPOTrainer):
        """GRPOTrainer that logs what each reward contributes and keeps sample completions."""

        def __init__(
            self,
            *args: Any,
            correlation_steps: int = 10,
            samples_per_step: int = 4,
            reward_set: Any = None,
            dynamic_sampling: DynamicSamplingSettings | None = None,
            canaries: CanarySettings | None = None,
            notify: Any = print,
            **kwargs: Any,
        ) -> None:
            super().__init__(*args, **kwargs)
            # the RewardSet behind reward_funcs (same order), for schedules and gates; None: plain weights
            self.reward_set = reward_set
            if reward_set is not None and reward_set.names != list(self.reward_func_names):
                raise ValueError(f"reward_set {reward_set.names} does not match reward_funcs {self.reward_func_names}")
            self.aggregation = Aggregation(self.multi_objective_aggregation, self.scale_rewards)
            weights = self.reward_weights.tolist()
            gated = [r.name for r in reward_set.rewards if r.gate is not None] if reward_set is not None else []
            closed = reward_set.closed_values if reward_set is not None else None
            self.reward_metrics = {
                "train": RewardMetrics(
                    self.reward_func_names, weights, self.num_generations, correlation_steps, self.aggregation, gated, closed
                ),
                "eval": RewardMetrics(
                    self.reward_func_names, weights, self.num_generations_eval, correlation_steps, self.aggregation, gated, closed
                ),
            }
            self.raw_reward_stats: dict[str, dict[str, list[float]]] = {"train": {}, "eval": {}}
            self.samples_per_step = samples_per_step
            self.pending_samples: list[dict[str, Any]] = []
            # our rewards (all of them) are scored together through the runtime; else TRL's own path
            ours = all(isinstance(f, RewardFunction) for f in self.reward_funcs)
            self.scorer = Scorer(list(self.reward_funcs)) if ours else None
            self.dynamic_sampling = dynamic_sampling if dynamic_sampling is not None and dynamic_sampling.enabled else None
            self.sampling_round: list[RoundScores] | None = None  # rounds of the step being sampled
            self._refills: Iterator[list[dict[str, Any]]] | None = None
            if self.dynamic_sampling is not None:
                check_dynamic_sampling(self)
            watched = [r for r in reward_set.rewards if r.canary] if reward_set is not None else []
            self.canary_every = {r.name: r.canary_every for r in watched if r.canary_every > 1}
            if self.canary_every and self.scorer is None:
                raise ValueError("canary_every needs every reward of the set to be ours (scored through the runtime)")
            self._partial_scorers: dict[tuple[str, ...], Scorer] = {}
            self.canary_watch = (
                CanaryWatch(
                    list(self.reward_func_names), [r.name for r in watched], self.num_generations, canaries or CanarySettings()
                )
                if watched
                else None
            )
            self.canary_alarms: list[Alarm] = []  # raised at this step, for the on_alarm callback
            self.notify = notify

        def create_model_card(self, model_name: Any = None, dataset_name: Any = None, tags: Any = None) -> None:
            """Our card (what was trained, where the report is), not TRL's stock one."""
            if self.is_world_process_zero():
                from .modelcard import write_model_card

                write_model_card(self.args.output_dir)

        # An override of a private method, on purpose: TRL 1.16 has no public hook that sees the
        # reward matrix after it is gathered over processes, and shares must come from that matrix.
        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            batch = None
            if self.scorer is None or getattr(self, "environments", None) is not None:
                values = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            else:
                batch = self._score_step(inputs, prompts, completions, completion_ids_list)
                local = torch.tensor(self._full_matrix(batch), dtype=torch.float32, device=self.accelerator.device)
                values = gather_rows(local)
            mode = "train" if self.model.training else "eval"
            raw = values.detach().double().cpu().numpy()
            gate_open = None
            if self.reward_set is not None:
                # TRL forms the total from self.reward_weights right after this returns (see the module doc).
                weights = self.reward_set.weights_at(self.state.global_step)
                self.reward_weights = torch.tensor(weights, dtype=torch.float32)
                if self.reward_set.has_gates:
                    gated, gate_open = self.reward_set.apply_gates(raw)
                    self._keep_raw_stats(mode, raw)
                    values = torch.as_tensor(gated, dtype=values.dtype, device=values.device)
            step_stats = (
                [batch.stats.get(n, CallStats()) for n in self.reward_func_names]
                if batch is not None
                else [None] * len(self.reward_funcs)
            )
            table, timed = call_stats_rows(step_stats, len(prompts))
            stats = torch.tensor(table, dtype=torch.float64, device=values.device)
            stats = self.accelerator.gather(stats.unsqueeze(0)).view(-1, *stats.shape).sum(dim=0)
            if mode == "train" and self.sampling_round is not None:
                # dynamic sampling: metrics and samples wait for the groups that are kept
                self.sampling_round.append(
                    RoundScores(
                        raw,
                        values.detach().double().cpu().numpy(),
                        gate_open,
                        self.reward_weights.tolist(),
                        stats.cpu().numpy(),
                        timed,
                        list(prompts),
                        list(completions),
                        self._explained(batch, len(prompts)) if self.samples_per_step else None,
                    )
                )
                return values
            self.reward_metrics[mode].add(raw, stats.cpu().numpy(), timed, self.reward_weights.tolist(), gate_open)
            if mode == "train" and self.samples_per_step and self.accelerator.is_main_process:
                kept = min(self.samples_per_step, len(prompts))
                self._keep_samples(prompts, completions, raw[: len(prompts)], self._explained(batch, kept))
            if mode == "train":
                self.watch_canaries(values.detach().double().cpu().numpy(), list(prompts), list(completions))
            return values

        def watch_canaries(self, values: np.ndarray, prompts: list[Any], completions: list[Any]) -> None:
            """Feed the canary watch the batch TRL trains on (``values`` gathered; ``prompts`` and
            ``completions`` this process's rows of it); on an alarm, warn and write its groups."""
            if self.canary_watch is None:
                return
            step = self.state.global_step + 1  # the optimizer step these completions train
            alarms = self.canary_watch.add(step, values, self.reward_weights.tolist())
            for name in self.canary_watch.canaries:
                self._metrics["train"][f"canary/{name}/alarm"].append(float(any(a.canary == name for a in alarms)))
            if not alarms:
                return
            from .alarms import write_alarm

            texts = gather_texts(list(zip(map(message_text, prompts), map(message_text, completions))))
            base = self.canary_watch.baseline()
            for alarm in alarms:
                if self.accelerator.is_main_process:
                    self.notify(f"warning: {alarm.message()}")
                if self.accelerator.is_main_process and base is not None:
                    write_alarm(
                        self.args.output_dir,
                        alarm,
                        values,
                        self.reward_weights.tolist(),
                        self.reward_func_names,
                        self.num_generations,
                        texts,
                        base,
                        self.canary_watch.canaries,
                    )
            self.canary_alarms += alarms

        def _full_matrix(self, batch: ScoreBatch) -> np.ndarray:
            """The batch's N x K raw matrix in reward order; a canary skipped at this step is NaN."""
            matrix = batch.matrix(gated=False)
            if list(batch.names) == list(self.reward_func_names):
                return matrix
            full = np.full((matrix.shape[0], len(self.reward_func_names)), np.nan)
            for j, name in enumerate(batch.names):
                full[:, self.reward_func_names.index(name)] = matrix[:, j]
            return full

        def _prepare_inputs(self, generation_batch):
            """TRL's own buffering (generate once per ``steps_per_generation`` x ``num_iterations``
            steps, shuffle, split into per-step slices), with the generation done by dynamic
            sampling when it is on; evaluation and plain runs go to TRL unchanged."""
            if self.dynamic_sampling is None or not self.model.training:
                return super()._prepare_inputs(generation_batch)
            from trl.trainer.utils import shuffle_sequence_dict, split_tensor_dict

            generate_every = self.args.steps_per_generation * self.num_iterations
            if self._step % generate_every == 0 or self._buffered_inputs is None:
                batch = shuffle_sequence_dict(generate_step(self, generation_batch))
                self._buffered_inputs = split_tensor_dict(batch, self.args.steps_per_generation)
            return self._buffered_inputs[self._step % self.args.steps_per_generation]

        def _score_step(self, inputs, prompts, completions, completion_ids_list) -> ScoreBatch:
            """Every reward of the step at once through the Scorer (what TRL's own method does reward
            after reward, async ones gathered last); TRL's ``log_metric``/``log_extra`` get what the
            rewards report per row."""
            keys = [key for key in inputs[0] if key not in ("prompt", "completion", "completion_ids")]
            columns = {key: [example[key] for example in inputs] for key in keys}
            samples = samples_from_trl(prompts, completions, completion_ids_list, columns)
            extras = {"log_metric": self._log_metric, "log_extra": self._log_completion_extra}
            step = self.state.global_step
            skipped = tuple(n for n, every in self.canary_every.items() if step % every and self.model.training)
            if not skipped:
                return self.scorer.score(samples, extras=extras)
            if skipped not in self._partial_scorers:
                kept = [f for f, n in zip(self.reward_funcs, self.reward_func_names) if n not in skipped]
                self._partial_scorers[skipped] = Scorer(kept)
            return self._partial_scorers[skipped].score(samples, extras=extras)

        def _keep_raw_stats(self, mode: str, raw: np.ndarray) -> None:
            """TRL logs rewards/<name>/{mean,std} from the matrix it receives; keep the raw ones of
            gated rewards (same formulas) to put back in ``log``."""
            for k, entry in enumerate(self.reward_set.rewards):
                if entry.gate is None:
                    continue
                column = raw[:, k]
                kept = self.raw_reward_stats[mode]
                mean = float(np.nanmean(column)) if not np.isnan(column).all() else math.nan
                kept.setdefault(f"rewards/{entry.name}/mean", []).append(mean)
                kept.setdefault(f"rewards/{entry.name}/std", []).append(float(nanstd(column)))

        def _explained(self, batch: ScoreBatch | None, rows: int) -> list[dict[str, Any]] | None:
            """The explain fields (what each reward read, why a None, a closed gate) of the rows
            ``samples.jsonl`` keeps (the first ``rows``); None when the rewards were not scored
            through the runtime."""
            if batch is None or self.reward_set is None:
                return None
            from grpo_rewards.explain import explain_rows

            return explain_rows(self.reward_set, batch, list(range(rows)), self.reward_weights.tolist())

        def _keep_samples(self, prompts, completions, local_values, explained=None) -> None:
            step = self.state.global_step + 1  # the optimizer step these completions train
            for i in range(min(self.samples_per_step, len(prompts))):
                scores = {
                    name: (None if math.isnan(v) else v) for name, v in zip(self.reward_func_names, local_values[i].tolist())
                }
                kept = {
                    "step": step,
                    "prompt": message_text(prompts[i]),
                    "completion": message_text(completions[i]),
                    "rewards": scores,
                }
                if explained is not None:
                    kept["explain"] = explained[i]
                self.pending_samples.append(kept)

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            mode = "train" if self.model.training else "eval"
            for key, value in self.reward_metrics[mode].flush(self.state.global_step).items():
                self._metrics[mode][key] = [value]  # TRL averages lists and turns NaN into None
            for key, values in self.raw_reward_stats[mode].items():
                self._metrics[mode][key] = values
            self.raw_reward_stats[mode] = {}
            super().log(logs, start_time)

    return RewardsGRPOTrainer
