"""``grpo-rewards train`` and ``grpo-rewards generate``.

Nothing heavy is imported at module level (torch, transformers and TRL load inside the
commands), so ``grpo-rewards --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from grpo_rewards.terminal import fail, say

ALARM_EXIT = 3  # exit status of a run stopped by a canary alarm (on_alarm = "stop")


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config value, e.g. --set grpo.max_steps=20 --set output.dir=runs/a (repeatable).",
)
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in the output folder.")
@click.option("--output-dir", type=str, default=None, help="Output folder (same as --set output.dir=...).")
@click.option("--overwrite", is_flag=True, help="Start over in an existing output folder of an earlier run.")
@click.option(
    "--dry-run", is_flag=True, help="Check everything `check` checks, print what would run, and stop before any model loads."
)
@click.option(
    "--progress",
    type=click.Choice(["auto", "rich", "lines", "none"]),
    default=None,
    help="Progress display (default: output.progress, 'auto').",
)
def train(
    config: Path,
    overrides: tuple[str, ...],
    resume: bool,
    output_dir: str | None,
    overwrite: bool,
    dry_run: bool,
    progress: str | None,
) -> None:
    """Fine-tune a model with GRPO on the reward set of CONFIG (TOML/YAML).

    Every config problem is reported before any model is loaded. Logs per-reward contributions,
    writes OUTPUT/metrics.jsonl, checkpoints, and OUTPUT/report.md with plots (and report.html).
    """
    from grpo_rewards.errors import ConfigError, GrpoRewardsError
    from grpo_rewards.terminal import fail_config
    from grpo_rewards.validate import validate_config

    from .run import train as run_train

    # the same checks as `check`, every problem in one pass, before anything loads
    assignments = (*overrides, *((f"output.dir={output_dir}",) if output_dir is not None else ()))
    validation = validate_config(config, assignments)
    if dry_run:
        from grpo_rewards.check_command import report_validation

        report_validation(validation)
        say("dry run: nothing was loaded or trained")
        return
    if validation.problems:
        fail_config(ConfigError(validation.problems))
    try:
        result = run_train(
            config, overrides, resume=resume, output_dir=output_dir, overwrite=overwrite, progress=progress, log=say
        )
    except ConfigError as exc:
        fail_config(exc)
    except GrpoRewardsError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    if result.status == "alarm":
        sys.exit(ALARM_EXIT)  # a canary stopped the run: not a success, not a Ctrl-C
    if result.status != "finished":
        sys.exit(130)


@click.command()
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--prompt", "prompts", multiple=True, help="A prompt (repeatable).")
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="A JSONL file of prompts: strings or objects with a 'prompt' field.",
)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--temperature", type=click.FloatRange(min=0), default=0.0, show_default=True, help="0 means greedy decoding.")
@click.option("--system", "system_prompt", default=None, help="A system prompt for the chat template.")
@click.option("--no-chat", is_flag=True, help="Feed the prompt as plain text, without the chat template.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per prompt.")
def generate(
    model_dir: Path,
    prompts: tuple[str, ...],
    prompts_file: Path | None,
    max_new_tokens: int,
    temperature: float,
    system_prompt: str | None,
    no_chat: bool,
    as_json: bool,
) -> None:
    """Generate completions from a trained model (a run folder, a saved model or a LoRA adapter)."""
    from .generate import generate as run_generate
    from .generate import load_for_generation, read_prompts, resolve_model_dir

    all_prompts = list(prompts)
    if prompts_file is not None:
        try:
            all_prompts += read_prompts(prompts_file)
        except (ValueError, json.JSONDecodeError) as exc:
            fail(str(exc))
    if not all_prompts:
        fail("give --prompt TEXT or --prompts FILE.jsonl")
    try:
        folder = resolve_model_dir(model_dir)
    except FileNotFoundError as exc:
        fail(str(exc))
    model, tokenizer = load_for_generation(folder)
    outputs = run_generate(
        model,
        tokenizer,
        all_prompts,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        system_prompt=system_prompt,
        chat=not no_chat,
    )
    for prompt, completion in zip(all_prompts, outputs):
        if as_json:
            click.echo(json.dumps({"prompt": prompt, "completion": completion}, ensure_ascii=False))
        else:
            click.echo(f"### {prompt}\n{completion}\n")
