"""Trainer callbacks: writing the run files, and stopping cleanly on Ctrl-C.

A first Ctrl-C (or SIGTERM, as schedulers send before a kill) asks training to stop at the end
of the current step and to save a checkpoint there (optimizer, scheduler and RNG included), so ``--resume`` continues exactly; the report is
written afterwards. A second Ctrl-C interrupts at once. Under ``accelerate launch`` the flag is
agreed between processes at each step end, so all of them stop at the same step.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.integrations import TensorBoardCallback

from .runfiles import METRICS_FILE, SAMPLES_FILE, append_jsonl


class RunFilesCallback(TrainerCallback):
    """Appends every logged dict to ``metrics.jsonl`` and kept samples to ``samples.jsonl``."""

    def __init__(self, output_dir: Path) -> None:
        self.output_dir = Path(output_dir)
        self.trainer = None  # set after the trainer exists: it holds the pending samples

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            append_jsonl(self.output_dir / METRICS_FILE, [{"step": state.global_step, **logs}])

    def on_step_end(self, args, state, control, **kwargs):
        self.flush_samples(state)

    def on_train_end(self, args, state, control, **kwargs):
        self.flush_samples(state)

    def flush_samples(self, state) -> None:
        trainer = self.trainer
        if trainer is None or not getattr(trainer, "pending_samples", None):
            return
        samples, trainer.pending_samples = trainer.pending_samples, []
        if state.is_world_process_zero:
            append_jsonl(self.output_dir / SAMPLES_FILE, samples)


class StopOnInterrupt(TrainerCallback):
    """Turns the first SIGINT into 'save a checkpoint and stop after this step'."""

    def __init__(self, notify: Callable[[str], None] = print) -> None:
        self.requested = False
        self.stopped_early = False
        self.notify = notify
        self._previous: Any = None

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def uninstall(self) -> None:
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            for sig, handler in self._previous.items():
                signal.signal(sig, handler)
            self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            self.uninstall()
            raise KeyboardInterrupt
        self.requested = True
        self.notify("interrupted: saving a checkpoint at the end of this step (Ctrl-C again to quit now)")

    def _agreed(self) -> bool:
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return self.requested
        import torch

        flag = torch.tensor([1.0 if self.requested else 0.0])
        if dist.get_backend() == "nccl":
            flag = flag.cuda()
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item() > 0)

    def on_step_end(self, args, state, control, **kwargs):
        if self._agreed():
            self.requested = True
            self.stopped_early = True
            control.should_save = True
            control.should_training_stop = True
        return control


class SaveAtEnd(TrainerCallback):
    """Checkpoint the last step too, so a finished run can be extended with ``--resume`` and a
    larger ``grpo.max_steps`` (TRL only saves every ``save_steps``)."""

    def on_step_end(self, args, state, control, **kwargs):
        if state.max_steps and state.global_step >= state.max_steps:
            control.should_save = True
        return control


class OnCanaryAlarm(TrainerCallback):
    """``[canaries] on_alarm``: after a step that raised a canary alarm, save a checkpoint
    (``checkpoint``) or save and stop (``stop``); ``warn`` only warns (done where it is raised).
    Every process raised the same alarm at the same step, so they all act together."""

    def __init__(self, on_alarm: str) -> None:
        self.on_alarm = on_alarm
        self.trainer: Any = None
        self.stopped = False

    def on_step_end(self, args, state, control, **kwargs):
        trainer = self.trainer
        if trainer is None or not getattr(trainer, "canary_alarms", None):
            return control
        trainer.canary_alarms = []
        if self.on_alarm in ("checkpoint", "stop"):
            control.should_save = True
        if self.on_alarm == "stop":
            control.should_training_stop = True
            self.stopped = True
        return control


def quiet_tensorboard(trainer: Any) -> None:
    """Swap transformers' TensorBoard callback, when ``report_to`` has it, for one that leaves out
    the metrics that have no value at a step (None: a share without spread, a canary not scored this
    step) instead of warning once per metric per step."""
    if any(type(cb) is TensorBoardCallback for cb in trainer.callback_handler.callbacks):
        trainer.remove_callback(TensorBoardCallback)
        trainer.add_callback(NoneFreeTensorBoard())


class NoneFreeTensorBoard(TensorBoardCallback):  # type: ignore[misc]
    """transformers' TensorBoard callback, given only the logged values it can write."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        kept = {k: v for k, v in (logs or {}).items() if v is not None}
        return super().on_log(args, state, control, logs=kept, **kwargs)
