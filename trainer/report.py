"""The run report: ``report.md`` with PNG plots, built from ``metrics.jsonl`` and ``samples.jsonl``.

Written at the end of a run and after an interruption, and rebuildable at any time from the
files alone (``write_report(output_dir)``), so a report never depends on a live trainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from grpo_rewards.rows import shareable_location, write_atomically

from .history import History, load_history
from .plotnotes import no_data
from .report_canary import canary_names, canary_section, plot_canaries
from .report_model import TrainReport
from .report_sampling import plot_sampling, sampling_section
from .report_tables import PLOT_TITLES, REWARD_HEADER, grpo_line, reward_extras, reward_table
from .report_tables import fmt as _fmt
from .runfiles import read_run_config

REPORT_FILE = "report.md"
REPORT_HTML = "report.html"
PLOTS = {"reward": "reward.png", "shares": "shares.png", "weights": "weights.png", "length": "length.png"}


def _smooth(ys: Sequence[float]) -> list[float]:
    window = max(1, len(ys) // 10)
    out = []
    for i in range(len(ys)):
        chunk = ys[max(0, i - window + 1) : i + 1]
        out.append(sum(chunk) / len(chunk))
    return out


def plot_history(history: History, output_dir: Path) -> dict[str, Path]:
    """Write the PNGs; returns what was written (plots with no data are skipped)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: dict[str, Path] = {}
    names = history.names
    if history.steps:
        fig, axes = plt.subplots(1 + len(names), 1, figsize=(8, 2.6 * (1 + len(names))), sharex=True, squeeze=False)
        _curve(axes[0][0], history, "reward", "total reward (weighted sum)")
        for i, name in enumerate(names):
            _curve(axes[i + 1][0], history, f"rewards/{name}/mean", f"{name}: mean raw score")
        axes[-1][0].set_xlabel("step")
        fig.tight_layout()
        written["reward"] = output_dir / PLOTS["reward"]
        fig.savefig(written["reward"], dpi=100)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(8, 3.2))
        drawn = False
        for name in names:
            xs, ys = history.series(f"rewards/{name}/share")
            if xs:
                ax.plot(xs, _smooth(ys), label=name)
                drawn = True
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title("share of the advantage signal per reward (sums to 1)")
        ax.set_xlabel("step")
        if drawn:
            ax.legend(loc="best", fontsize="small")
        else:
            no_data(ax)
        fig.tight_layout()
        written["shares"] = output_dir / PLOTS["shares"]
        fig.savefig(written["shares"], dpi=100)
        plt.close(fig)

        if any(history.series(f"rewards/{name}/weight")[0] for name in names):
            fig, axes = plt.subplots(2, 1, figsize=(8, 5.2), sharex=True)
            for name in names:
                xs, ys = history.series(f"rewards/{name}/weight")
                if xs:
                    axes[0].step(xs, ys, where="post", label=name)
                xs, ys = history.series(f"rewards/{name}/gated_rate")
                if xs:
                    axes[1].plot(xs, ys, label=name)
            axes[0].set_title("effective weight per reward (schedules applied)")
            axes[1].set_title("gated rate: rows where the reward's gate was closed")
            axes[1].set_xlabel("step")
            for ax in axes:
                ax.grid(alpha=0.3)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(loc="best", fontsize="small")
                else:
                    no_data(ax)
            fig.tight_layout()
            written["weights"] = output_dir / PLOTS["weights"]
            fig.savefig(written["weights"], dpi=100)
            plt.close(fig)

        fig, ax = plt.subplots(figsize=(8, 3.2))
        for key, label in (
            ("completions/mean_length", "mean"),
            ("completions/min_length", "min"),
            ("completions/max_length", "max"),
        ):
            xs, ys = history.series(key)
            if xs:
                ax.plot(xs, ys, label=label, lw=1.5 if label == "mean" else 0.8)
        ax.set_title("completion length (tokens)")
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small")
        else:
            no_data(ax)
        fig.tight_layout()
        written["length"] = output_dir / PLOTS["length"]
        fig.savefig(written["length"], dpi=100)
        plt.close(fig)
    return written


def _curve(ax, history: History, key: str, title: str) -> None:
    xs, ys = history.series(key)
    if xs:
        ax.plot(xs, ys, color="tab:blue", alpha=0.35, lw=1)
        ax.plot(xs, _smooth(ys), color="tab:blue", lw=2)
    else:
        no_data(ax)
    ax.set_title(title, fontsize="medium")
    ax.grid(alpha=0.3)


def render_markdown(report: TrainReport, output_dir: Path, plots: dict[str, Path], history: History) -> str:
    config = report.config
    lines = [f"# GRPO run report: {report.name}", "", f"Status: {report.status}.", ""]
    if config:
        model = config.get("model", {})
        data = config.get("data", {})
        lines += [
            f"- model: `{shareable_location(model.get('name', '?'))}`" + (" with LoRA" if model.get("lora") else ""),
            f"- data: `{shareable_location(data.get('source', '?'))}` split `{data.get('split', 'train')}`",
        ]
        lines.append("- grpo: " + grpo_line(config))
        lines.append(
            f"- aggregation: `{config.get('aggregation', 'sum_then_normalize/group')}` (the shares decompose "
            "the advantage of this mode)"
        )
        for reward, extras in reward_extras(config):
            lines.append(f"- {reward}: " + "; ".join(extras))
    lines.append(f"- steps logged: {report.steps_logged} (last step {report.last_step})")
    if report.train_runtime is not None:
        lines.append(f"- train time: {report.train_runtime:.0f} s this session")
    lines.append("")

    from .findings import markdown

    lines += markdown(report.findings)
    lines += [
        "## Rewards",
        "",
        "First and last 20% of logged steps; contribution figures averaged over the run.",
        "",
        "| " + " | ".join(REWARD_HEADER) + " |",
        "|" + "---|" * len(REWARD_HEADER),
    ]
    total, *rows = reward_table(report, bold_total=True)
    lines.append("|" + "|".join(f" {cell} " if cell else " " for cell in total) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if report.length is not None:
        start, end = report.length
        lines += ["", f"Completion length: {_fmt(start)} tokens at the start, {_fmt(end)} at the end."]
    if report.correlations:
        lines += [
            "",
            "Correlation between rewards' raw scores (mean over the logged intervals; near 1: one reward "
            "counted twice, negative: a tug of war):",
            "",
            "| pair | correlation |",
            "|---|---|",
        ]
        lines += [f"| {pair} | {_fmt(value)} |" for pair, value in report.correlations.items()]
    lines.append("")
    for key, title in PLOT_TITLES.items():
        if key in plots:
            lines += [f"## {title}", "", f"![{title}]({plots[key].name})", ""]
    lines += canary_section(output_dir, plots.get("canaries"), config)
    lines += sampling_section(history, plots.get("sampling"), config)
    lines += _sample_section(history)
    return "\n".join(lines) + "\n"


def _sample_section(history: History) -> list[str]:
    if not history.samples:
        return []
    first_step = min(s["step"] for s in history.samples)
    last_step = max(s["step"] for s in history.samples)
    lines = ["## Sample completions", ""]
    for label, step in (("first", first_step), ("last", last_step)):
        if label == "last" and last_step == first_step:
            break
        lines += [f"### Step {step} ({label})", ""]
        for sample in [s for s in history.samples if s["step"] == step]:
            scores = ", ".join(f"{k} = {_fmt(v)}" for k, v in sample.get("rewards", {}).items())
            prompt = " ".join(sample.get("prompt", "").split())
            lines += [
                f"- prompt: {prompt[:160]}{'...' if len(prompt) > 160 else ''}",
                f"  - scores: {scores}",
                "",
                "  ```text",
                *["  " + l for l in sample.get("completion", "").splitlines() or [""]],
                "  ```",
                "",
            ]
    return lines


def write_report(output_dir: str | Path, status: str = "finished", html: bool = True) -> Path:
    """Build ``report.md``, ``report.html`` and the plots from the run files in ``output_dir``."""
    output_dir = Path(output_dir)
    history = load_history(output_dir)
    plots = plot_history(history, output_dir)
    sampling = plot_sampling(history, output_dir)
    if sampling is not None:
        plots["sampling"] = sampling
    canaries = plot_canaries(history, output_dir, canary_names(read_run_config(output_dir) or {}))
    if canaries is not None:
        plots["canaries"] = canaries
    report = TrainReport.from_history(history, output_dir, status)
    path = output_dir / REPORT_FILE
    write_atomically(path, render_markdown(report, output_dir, plots, history))
    if html:
        from .report_html import render_html

        write_atomically(output_dir / REPORT_HTML, render_html(report, plots))
    return path
