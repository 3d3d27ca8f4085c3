"""PNG plots of a benchmark report, drawn from the report dictionary alone (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .analysis import TEXT_METRICS


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: Path) -> bool:
    """Lay out, write the PNG and free the figure (pyplot keeps every open figure alive)."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _no_data(ax: Any, note: str = "no data") -> None:
    """An empty panel says so, instead of showing bare axes (or bars of a made-up 0)."""
    ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", color="grey", fontsize=8)


def draw_all(report: dict[str, Any], folder: Path) -> list[str]:
    """Write every plot the report has data for; returns the file names written."""
    written = []
    for name, draw in (
        ("histograms.png", histograms),
        ("correlation.png", correlation),
        ("spread.png", spread),
        ("group_size.png", group_size),
        ("compare.png", compare),
        ("aggregation.png", aggregation),
    ):
        if draw(report, folder / name):
            written.append(name)
    return written


def _hist_axes(ax: Any, hist: dict[str, Any], title: str) -> None:
    ax.set_title(title, fontsize=9)
    if hist.get("kind") == "values":
        labels = [f"{v:g}" for v in hist["values"]]
        ax.bar(range(len(labels)), hist["counts"], color="#4c72b0")
        ax.set_xticks(range(len(labels)), labels, fontsize=7, rotation=45 if len(labels) > 6 else 0)
    elif hist.get("kind") == "bins":
        edges = np.array(hist["edges"])
        ax.bar(edges[:-1], hist["counts"], width=np.diff(edges), align="edge", color="#4c72b0", edgecolor="white")
        ax.tick_params(labelsize=7)
    else:
        _no_data(ax, "no data: no scores")
    ax.set_ylabel("completions", fontsize=7)


def histograms(report: dict[str, Any], path: Path) -> bool:
    panels = [(name, fig["histogram"]) for name, fig in report["per_reward"].items()]
    panels.append(("weighted total", report["total"]["histogram"]))
    plt = _pyplot()
    cols = min(3, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.8 * rows), squeeze=False)
    for ax, (name, hist) in zip(axes.flat, panels):
        _hist_axes(ax, hist, name)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    fig.suptitle("score distributions over real completions", fontsize=10)
    return _save(plt, fig, path)


def correlation(report: dict[str, Any], path: Path) -> bool:
    matrix = report["correlation"]["matrix"]
    names = report["correlation"]["names"]
    if not matrix or len(names) < 2:
        return False
    plt = _pyplot()
    values = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    size = 1.2 + 0.7 * len(names)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(np.nan_to_num(values, nan=0.0), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, "n/a" if np.isnan(values[i, j]) else f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title("correlation between rewards (real completions)", fontsize=9)
    return _save(plt, fig, path)


def spread(report: dict[str, Any], path: Path) -> bool:
    prompts = report["per_prompt"]
    names = list(report["per_reward"])
    if not prompts:
        return False
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(max(6, 0.25 * len(prompts) + 2), 2.2 + 0.35 * len(names) + 2.5),
        gridspec_kw={"height_ratios": [2.5, 0.35 * len(names) + 0.5]},
    )
    std = [p["total_std"] or 0.0 for p in prompts]
    top.bar(range(len(prompts)), std, color="#4c72b0")
    flat = [i for i, s in enumerate(std) if s <= 1e-9]
    top.scatter(flat, [0.0] * len(flat), marker="x", s=60, color="#c44e52", zorder=3, clip_on=False)
    top.set_ylabel("std of weighted total", fontsize=8)
    top.set_title("per-prompt spread (red x: no spread, GRPO learns nothing from that prompt)", fontsize=9)
    top.set_xlim(-0.5, len(prompts) - 0.5)
    top.tick_params(labelsize=7)
    separates = np.array([[1.0 if (p["range"][n] or 0) > 1e-9 else 0.0 for p in prompts] for n in names])
    from matplotlib.colors import ListedColormap

    bottom.imshow(separates, aspect="auto", cmap=ListedColormap(["#f2c4c4", "#4c9a5b"]), vmin=0, vmax=1, interpolation="nearest")
    bottom.set_yticks(range(len(names)), names, fontsize=7)
    bottom.set_xlabel("prompt", fontsize=8)
    bottom.set_title("which rewards separate each prompt's completions (green: yes, pink: no)", fontsize=8)
    bottom.tick_params(labelsize=7)
    return _save(plt, fig, path)


def group_size(report: dict[str, Any], path: Path) -> bool:
    rows = report["group_size"]
    if not rows:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.plot([r["g"] for r in rows], [r["fraction_with_spread"] for r in rows], marker="o")
    ax.set_xlabel("completions per prompt (num_generations)", fontsize=8)
    ax.set_ylabel("groups with spread in the total", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title("what each extra completion buys", fontsize=9)
    return _save(plt, fig, path)


def compare(report: dict[str, Any], path: Path) -> bool:
    data = report.get("compare")
    if not data:
        return False
    rows = [r for r in data["rows"] if r["metric"] not in TEXT_METRICS and r["delta"] is not None]
    if not rows:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.5 * len(rows) + 1.5))
    y = np.arange(len(rows))
    deltas = np.array([r["delta"] for r in rows])
    errors = np.array([[r["delta"] - r["low"] for r in rows], [r["high"] - r["delta"] for r in rows]])
    ax.errorbar(deltas, y, xerr=errors, fmt="o", capsize=4)
    ax.axvline(0, color="grey", lw=1)
    ax.set_yticks(y, [r["metric"] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("B - A (mean over prompts), 95% bootstrap interval", fontsize=8)
    ax.set_title(f"{data['b']}  vs  {data['a']}", fontsize=8)
    return _save(plt, fig, path)


def aggregation(report: dict[str, Any], path: Path) -> bool:
    """Shares per reward and collapse rate, side by side for each mode."""
    section = report.get("aggregation")
    if not section:
        return False
    plt = _pyplot()
    names = list(report["per_reward"])
    modes = section["modes"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / max(1, len(names))
    x = np.arange(len(modes))
    for i, name in enumerate(names):
        left.bar(x + i * width, [m["share"][name] or 0.0 for m in modes], width, label=name)
    left.set_xticks(
        x + width * (len(names) - 1) / 2,
        [m["label"].replace("sum_then_normalize/", "sum/").replace("normalize_then_sum", "GDPO") for m in modes],
        fontsize="small",
    )
    left.axhline(0, color="grey", lw=0.5)
    left.set_title("share of the advantage per reward")
    left.legend(fontsize="small")
    if all(m["share"][name] is None for m in modes for name in names):
        _no_data(left, "no data: no group has spread under any mode")
    if all(m["collapse"] is None for m in modes):
        _no_data(right)
    right.bar(x, [m["collapse"] or 0.0 for m in modes], color="tab:red")
    right.set_xticks(
        x,
        [m["label"].replace("sum_then_normalize/", "sum/").replace("normalize_then_sum", "GDPO") for m in modes],
        fontsize="x-small",
        rotation=30,
    )
    right.set_title("collapse")
    return _save(plt, fig, path)
