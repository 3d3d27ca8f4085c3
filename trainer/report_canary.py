"""The report's canary part: each canary's mean against the optimised total per step, and the
alarms raised (read back from ``alarms/``). Kept apart from report.py, which it only plugs into."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .alarms import ALARMS_DIR

PLOT = "canaries.png"


def canary_names(config: dict[str, Any]) -> list[str]:
    return [r["name"] for r in config.get("rewards", []) if r.get("canary")]


def read_alarms(output_dir: Path) -> list[dict[str, Any]]:
    """The first line of every ``alarms/step-N.jsonl``, in step order."""
    folder = Path(output_dir) / ALARMS_DIR
    alarms = []
    for path in folder.glob("step-*.jsonl") if folder.is_dir() else []:
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            if record.get("kind") == "alarm":
                alarms.append({**record, "file": f"{ALARMS_DIR}/{path.name}"})
    return sorted(alarms, key=lambda a: (a["step"], a["canary"]))


def plot_canaries(history: Any, output_dir: Path, names: list[str]) -> Path | None:
    """One panel per canary: its mean raw score (left axis) and the total (right axis)."""
    if not names or not history.steps:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alarms = read_alarms(output_dir)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.8 * len(names)), sharex=True, squeeze=False)
    for ax, name in zip((row[0] for row in axes), names):
        xs, ys = history.series(f"rewards/{name}/mean")
        ax.plot(xs, ys, color="tab:red", label=f"{name} (canary)")
        scored = bool(xs)
        ax.set_ylabel(name, color="tab:red")
        twin = ax.twinx()
        xs, ys = history.series("reward")
        twin.plot(xs, ys, color="tab:blue", alpha=0.6, label="total")
        twin.set_ylabel("total", color="tab:blue")
        for alarm in alarms:
            if alarm["canary"] == name:
                ax.axvline(alarm["step"], color="black", ls="--", lw=1)
        if not scored:
            from .plotnotes import no_data

            no_data(ax)
        ax.set_title(f"canary {name} against the optimised total (dashed: alarms)", fontsize="medium")
        ax.grid(alpha=0.3)
    axes[-1][0].set_xlabel("step")
    fig.tight_layout()
    path = output_dir / PLOT
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def canary_section(output_dir: Path, plot: Path | None, config: dict[str, Any]) -> list[str]:
    names = canary_names(config)
    if not names:
        return []
    settings = config.get("canaries", {})
    alarms = read_alarms(output_dir)
    lines = [
        "## Canaries",
        "",
        f"Watched: {', '.join(names)} (window {settings.get('window', '?')} steps, threshold "
        f"{settings.get('threshold', '?')}, on_alarm = {settings.get('on_alarm', '?')}).",
        "",
    ]
    if not alarms:
        lines += ["No alarm: no canary fell while the total rose.", ""]
    for alarm in alarms:
        lines.append(f"- **step {alarm['step']}**: {alarm['message']} ([{alarm['file']}]({alarm['file']}))")
    if alarms:
        lines.append("")
    if plot is not None:
        lines += [f"![Canaries]({plot.name})", ""]
    return lines
