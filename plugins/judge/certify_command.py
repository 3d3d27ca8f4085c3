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
@click.option("--min-kappa", type=float, default=None, help="Least lower bound of kappa's 95% interval [entry's, else 0.4].")
@click.option("--max-flip", type=float, default=None, help="Most position flips (share of items) [0.1].")
@click.option("--max-injection-lift", type=float, default=None, help="Most injected rows lifted [0.05].")
@click.option("--max-length-lift", type=float, default=None, help="Most extra wins a padded worse answer gets [0.05].")
@click.option("--min-retest", type=float, default=None, help="Least test-retest agreement [0.9].")
@click.option("--max-unscored", type=float, default=None, help="Most rows the judge leaves unscored [0.1].")
@click.option("--bootstrap", "resamples", type=click.IntRange(100, 100_000), default=1000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--label-name", default=None, help="The label set's name in the certificate (default: the file name).")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Write the certificate JSON here.")
@click.option("--report", type=click.Path(path_type=Path), default=None, help="Write the certificate as a Markdown section here.")
def certify(
    config: Path,
    labels_path: Path,
    entry_name: str | None,
    pass_at: float,
    positive_at: float,
    min_kappa: float | None,
    max_flip: float | None,
    max_injection_lift: float | None,
    max_length_lift: float | None,
    min_retest: float | None,
    max_unscored: float | None,
    resamples: int,
    seed: int,
    label_name: str | None,
    output: Path | None,
    report: Path | None,
) -> None:
    """Score a labelled set with CONFIG's judge reward and report agreement (accuracy and Cohen's kappa,
    beside the base rate), position flips, length bias, test-retest agreement and injection lift, each
    with a 95% interval; exit 1 when the judge is below any threshold (the entry's
    certificate_thresholds, else the defaults, else these options)."""
    from grpo_rewards.terminal import fail, load_reward_set_or_fail

    from .certificate import Verify
    from .certify import LabelError, markdown, read_labels
    from .certify import certify as run

    reward_set = load_reward_set_or_fail(config)
    ours = [e for e in reward_set.rewards if e.spec.certification is not None and isinstance(e.spec.certification.verify, Verify)]
    judges = [e for e in ours if entry_name is None or e.name == entry_name]
    if len(judges) != 1:
        fail(
            f"{config}: expected one judge reward to certify (--reward NAME); judge entries: {', '.join(e.name for e in ours) or 'none'}"
        )
    entry = judges[0]
    try:
        labels = read_labels(labels_path, positive_at)
    except (LabelError, OSError, UnicodeDecodeError) as exc:
        fail(str(exc))
    given = {
        "min_kappa": min_kappa,
        "max_flip": max_flip,
        "max_injection_lift": max_injection_lift,
        "max_length_lift": max_length_lift,
        "min_retest": min_retest,
        "max_unscored": max_unscored,
    }
    thresholds = {**entry.certificate_thresholds, **{k: v for k, v in given.items() if v is not None}}
    try:
        cert = run(
            entry,
            labels,
            thresholds=thresholds,
            pass_at=pass_at,
            resamples=resamples,
            seed=seed,
            label_name=label_name,
            progress=lambda message: click.echo(f"... {message}", err=True),
        )
    except LabelError as exc:
        fail(str(exc))
    cert["config"] = str(config)
    section = "\n".join(markdown(cert))
    for path, text in ((output, json.dumps(cert, indent=2)), (report, section)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
    click.echo(section)
    for reason in cert["refusals"]:
        click.echo(f"refused: {reason}", err=True)
    if cert["refusals"]:
        raise SystemExit(1)
    click.echo("certified")
