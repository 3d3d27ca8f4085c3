"""A quiet progress display: one bar (or one line per logging step when not on a terminal)
with the step, total reward, each reward's mean and share, and the time left.

It replaces transformers' tqdm bar and its raw dict printing; the full figures still go to
``metrics.jsonl`` and the ``report_to`` backends.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import TrainerCallback


def summary_line(logs: dict[str, Any], names: list[str]) -> str:
    """``reward -31.2 | length -31.2 (share 1.00)``: the figures a person watches."""
    parts = []
    if logs.get("reward") is not None:
        parts.append(f"reward {logs['reward']:.3g}")
    for name in names:
        mean = logs.get(f"rewards/{name}/mean")
        if mean is None:
            continue
        text = f"{name} {mean:.3g}"
        share = logs.get(f"rewards/{name}/share")
        if share is not None and len(names) > 1:
            text += f" (share {share:.2f})"
        parts.append(text)
    if logs.get("completions/mean_length") is not None:
        parts.append(f"len {logs['completions/mean_length']:.0f} tok")
    return " | ".join(parts)


class ProgressDisplay(TrainerCallback):
    """``mode``: rich (a live bar), lines (plain lines, for logs and CI) or none."""

    def __init__(self, names: list[str], mode: str = "auto", console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        if mode == "auto":
            mode = "rich" if self.console.is_terminal else "lines"
        self.mode = mode
        self.names = names
        self.progress: Progress | None = None
        self.task = None
        self._start_time = 0.0
        self._start_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero or self.mode == "none":
            return
        self._start_time = time.monotonic()
        self._start_step = state.global_step
        if self.mode == "rich":
            self.progress = Progress(
                TextColumn("step {task.completed}/{task.total}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TextColumn("<"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=self.console,
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, status="")

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or self.mode == "none" or not logs or "reward" not in logs:
            return
        line = summary_line(logs, self.names)
        if self.progress is not None:
            self.progress.update(self.task, completed=state.global_step, status=line)
        elif self.mode == "lines":
            done = state.global_step - self._start_step
            elapsed = time.monotonic() - self._start_time
            left = ""
            if done > 0 and state.max_steps:
                seconds = elapsed / done * (state.max_steps - state.global_step)
                left = f" | {elapsed / done:.1f} s/step, {_duration(seconds)} left"
            self.console.print(f"step {state.global_step}/{state.max_steps} | {line}{left}", highlight=False, soft_wrap=True)

    def on_train_end(self, args, state, control, **kwargs):
        self.close()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 90:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 90:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class CountProgress:
    """Progress of a job counted in items (the bench's prompts to sample), updated per batch: a rich
    bar with the time left on a terminal, else one line per batch with the rate and the time left
    (``log``), so a long sampling run is never silent. ``clock`` is for tests."""

    def __init__(
        self,
        total: int,
        what: str,
        log: Any,
        console: Console | None = None,
        mode: str = "auto",
        clock: Any = time.monotonic,
    ) -> None:
        self.total, self.what, self.log, self.clock = total, what, log, clock
        self.console = console or Console(stderr=True)
        self.mode = ("rich" if self.console.is_terminal else "lines") if mode == "auto" else mode
        self.done = 0
        self.started = clock()
        self.progress: Progress | None = None
        if self.mode == "rich" and total:
            self.progress = Progress(
                TextColumn(what),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                TextColumn("<"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(what, total=total)

    def advance(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done)
            return
        if self.mode == "none":
            return
        elapsed = self.clock() - self.started
        line = f"  {self.done} of {self.total} {self.what} ({_duration(elapsed)}"
        if 0 < self.done < self.total:
            line += f", about {_duration(elapsed / self.done * (self.total - self.done))} left"
        self.log(line + ")")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
