"""The report's dynamic-sampling part: a plot of dropped groups and the effective batch per step,
and a short section with the run's totals. Kept apart from report.py, which it only plugs into."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PLOT = "sampling.png"
PREFIX = "dynamic_sampling/"


def has_sampling(history: Any) -> bool:
    return any(key.startswith(PREFIX) for record in history.steps for key in record)


def plot_sampling(history: Any, output_dir: Path) -> Path | None:
    """Dropped groups and extra rounds (top), effective batch (bottom), per logged step."""
    if not has_sampling(history):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, figsize=(8, 5.2), sharex=True)
    for key, label in (
        ("groups_dropped", "groups dropped"),
        ("extra_rounds", "extra rounds"),
        ("filled_groups", "slots left empty"),
    ):
        xs, ys = history.series(PREFIX + key)
        if xs:
            axes[0].plot(xs, ys, label=label)
    xs, ys = history.series(PREFIX + "effective_batch")
    if xs:
        axes[1].plot(xs, ys, color="tab:green")
    axes[0].set_title("dynamic sampling: groups without spread, refill rounds")
    axes[1].set_title("effective batch (completions in groups with spread)")
    axes[1].set_xlabel("step")
    from .plotnotes import no_data

    for ax in axes:
        ax.grid(alpha=0.3)
        if not ax.lines:
            no_data(ax)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(loc="best", fontsize="small")
    fig.tight_layout()
    path = output_dir / PLOT
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sampling_section(history: Any, plot: Path | None, config: dict[str, Any]) -> list[str]:
    if not has_sampling(history):
        return []

    def total(key: str) -> float:
        return sum(history.series(PREFIX + key)[1])

    batch = history.series(PREFIX + "effective_batch")[1]
    settings = config.get("dynamic_sampling", {})
    short = sum(1 for v in history.series(PREFIX + "filled_groups")[1] if v > 0)
    lines = [
        "## Dynamic sampling",
        "",
        f"Groups whose advantage spread was at most {settings.get('tolerance', '?')} were dropped and refilled, "
        f"up to {settings.get('max_rounds', '?')} extra generation rounds a step (figures per logging step, "
        "averaged over its generation batches).",
        "",
        f"- groups dropped: {total('groups_dropped'):g} over {len(batch)} logged steps",
        f"- extra generation rounds: {total('extra_rounds'):g}, taking {total('extra_seconds'):.1f} s",
        f"- effective batch: {sum(batch) / len(batch):.3g} completions on average" if batch else "- effective batch: n/a",
        f"- steps that reached the round limit short of a full batch: {short}",
        "",
    ]
    if plot is not None:
        lines += [f"![Dynamic sampling]({plot.name})", ""]
    return lines
