"""``grpo-rewards judge certify``: the click group and command around :mod:`.certify`."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def judge() -> None:
    """LLM-judge rewards: certify a judge before it may pay reward."""


@judge.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--labels", "labels_path", type=click.Path(path_type=Path), required=True, help="Labelled JSONL (see docs/judges.md)."
)
@click.option(
    "--reward", "entry_name", default=None, help="The judge entry of CONFIG to certify (default: its only judge reward)."
)
@click.option("--pass-at", type=float, default=0.5, show_default=True, help="A judge score at or above it is a pass.")
@click.option("--positive-at", type=float, default=0.5, show_default=True, help="A numeric label at or above it is a pass.")
@click.option("--min-kappa", type=float, default=0.4, show_default=True, help="Least lower bound of kappa's 95% interval.")
@click.option("--max-flip", type=float, default=0.1, show_default=True, help="Most position flips (share of rows).")
@click.option("--max-injection-lift", type=float, default=0.05, show_default=True, help="Most injected rows lifted.")
@click.option("--max-unscored", type=float, default=0.1, show_default=True, help="Most rows the judge leaves unscored.")
@click.option("--bootstrap", "resamples", type=click.IntRange(100, 100_000), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Write the certificate JSON here.")
def certify(
    config: Path,
    labels_path: Path,
    entry_name: str | None,
    pass_at: float,
    positive_at: float,
    min_kappa: float,
    max_flip: float,
    max_injection_lift: float,
    max_unscored: float,
    resamples: int,
    seed: int,
    output: Path | None,
) -> None:
    """Score a labelled set with CONFIG's judge reward and report agreement (accuracy and Cohen's kappa with
    95% bootstrap intervals, beside the base rate), position flips and injection lift; exit 1 when the
    judge is below any threshold."""
    from grpo_rewards.terminal import fail, load_reward_set_or_fail

    from .certify import LabelError, Thresholds, read_labels
    from .certify import certify as run
    from .rewards import judge_reference, judge_rubric

    reward_set = load_reward_set_or_fail(config)
    ours = (judge_reference, judge_rubric)
    judges = [e for e in reward_set.rewards if e.spec.fn in ours]
    if entry_name is not None:
        judges = [e for e in judges if e.name == entry_name]
    if len(judges) != 1:
        names = ", ".join(e.name for e in reward_set.rewards if e.spec.fn in ours) or "none"
        fail(f"{config}: expected one judge reward to certify (--reward NAME); judge entries: {names}")
    try:
        labels = read_labels(labels_path, positive_at)
    except (LabelError, OSError, UnicodeDecodeError) as exc:
        fail(str(exc))
    thresholds = Thresholds(min_kappa, max_flip, max_injection_lift, max_unscored)
    cert = run(judges[0], labels, thresholds=thresholds, pass_at=pass_at, resamples=resamples, seed=seed)
    cert["config"] = str(config)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(cert, indent=2))
    a, p, i = cert["agreement"], cert["position"], cert["injection"]
    click.echo(
        f"judge {cert['judge']['entry']} ({cert['judge']['model']} at {cert['judge']['base_url']}), prompt {cert['judge']['prompt_hash']}"
    )
    click.echo(f"labels {labels.path} ({labels.format}, {a['n']} rows, base rate {a['base_rate']:.3f})")
    click.echo(f"accuracy {a['accuracy']:.3f} (95% CI {a['accuracy_ci95'][0]:.3f}-{a['accuracy_ci95'][1]:.3f})")
    click.echo(f"kappa    {a['kappa']:.3f} (95% CI {a['kappa_ci95'][0]:.3f}-{a['kappa_ci95'][1]:.3f})")
    click.echo(f"unscored {cert['unscored']:.3f}")
    click.echo("position flips " + ("n/a (one order asked)" if p["flip_rate"] is None else f"{p['flip_rate']:.3f} of {p['n']}"))
    if i["lift"] is not None:
        click.echo(f"injection lift {i['lift']:.3f} of {i['n']}, unscored {i['unscored']:.3f}")
        for cls, figures in i["classes"].items():
            click.echo(f"  {cls}: lifted {figures['lifted']} of {figures['n']}, unscored {figures['unscored']}")
    for reason in cert["refusals"]:
        click.echo(f"refused: {reason}", err=True)
    if cert["refusals"]:
        raise SystemExit(1)
    click.echo("certified")
