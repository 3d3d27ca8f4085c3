"""One training run, from a config file to a trained model, run files and a report.

The order is the point: the config, the data columns and TRL's own argument checks are all
settled before the tokenizer or the model is loaded, so a mistake costs seconds.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from grpo_rewards.aggregation import Aggregation
from grpo_rewards.errors import ConfigError, RunError

from .config import TrainerConfig, load_trainer_config
from .runfiles import METRICS_FILE, RUN_CONFIG_FILE, SAMPLES_FILE, read_run_config, truncate_after_step, write_run_config


@dataclass
class RunResult:
    output_dir: Path
    global_step: int
    status: str  # finished, stopped (Ctrl-C, checkpoint saved), alarm (a canary's on_alarm = stop) or interrupted
    report: Path | None = None
    model_dirs: dict[str, Path] = field(default_factory=dict)
    checkpoint: str | None = None


def check_output_dir(output_dir: Path, resume: bool, overwrite: bool) -> str | None:
    """The checkpoint to resume from, or None; refuses to clobber a non-empty folder.

    ``--overwrite`` clears only a folder that one of our runs wrote (it has run_config.json).
    """
    from transformers.trainer_utils import get_last_checkpoint

    exists = output_dir.is_dir() and any(output_dir.iterdir())
    if resume:
        checkpoint = get_last_checkpoint(str(output_dir)) if output_dir.is_dir() else None
        if checkpoint is None:
            raise RunError(f"--resume: no checkpoint-* folder in {output_dir} to resume from")
        return checkpoint
    if exists and not overwrite:
        raise RunError(
            f"output folder {output_dir} is not empty; use --resume to continue the run in it, "
            f"--overwrite to start over, or --output-dir / --set output.dir=... for a new folder"
        )
    if exists and overwrite and not (output_dir / RUN_CONFIG_FILE).is_file():
        raise RunError(
            f"--overwrite: {output_dir} does not look like a grpo-rewards run (no {RUN_CONFIG_FILE}); refusing to delete it"
        )
    return None


def _clear(output_dir: Path) -> None:
    for child in output_dir.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _checkpoint_step(checkpoint: str) -> int:
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
    return int(state.get("global_step", 0))


def resolved_config(config: TrainerConfig, grpo: dict[str, Any], model_location: str) -> dict[str, Any]:
    """What run_config.json records: the config as run, with defaults filled in."""
    return {
        "config_file": config.source,
        "model": {**asdict(config.model), "location": model_location},
        "data": asdict(config.data),
        "rewards": [
            {
                "name": r.name,
                "use": r.spec.name,
                "weight": r.weight,
                "params": r.params,
                "timeout": r.timeout,
                **({"schedule": r.schedule.describe()} if r.schedule else {}),
                **({"when": r.when} if r.when else {}),
                **({"eval_only": True} if r.eval_only else {}),
                **({"canary": True, "canary_every": r.canary_every} if r.canary else {}),
            }
            for r in config.reward_set.rewards
        ],
        "aggregation": Aggregation.from_grpo(grpo).label,
        "grpo": {k: v for k, v in grpo.items() if k not in ("output_dir", "reward_weights")},
        "output": asdict(config.output),
        "dynamic_sampling": asdict(config.dynamic_sampling),
        "canaries": asdict(config.canaries),
    }


def _config_drift(saved: dict[str, Any] | None, current: dict[str, Any]) -> list[str]:
    if not saved:
        return []
    current = json.loads(json.dumps(current, default=str))
    changed = [k for k in ("model", "data", "rewards") if saved.get(k) != current.get(k)]
    grpo_saved, grpo_now = saved.get("grpo", {}), current.get("grpo", {})
    changed += [
        f"grpo.{k}" for k in sorted(set(grpo_saved) | set(grpo_now)) if grpo_saved.get(k) != grpo_now.get(k) and k != "max_steps"
    ]
    return changed


def train(
    config_path: str | Path,
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    output_dir: str | None = None,
    overwrite: bool = False,
    progress: str | None = None,
    log: Callable[[str], None] = print,
    extra_callbacks: Sequence[Any] = (),
) -> RunResult:
    """Validate, load, train, save and report. Raises ConfigError / RunError before loading
    anything heavy when the config or the output folder is wrong."""
    config = load_trainer_config(config_path, overrides, output_dir)
    out_dir = config.output_dir
    checkpoint = check_output_dir(out_dir, resume, overwrite)
    _quiet_libraries()

    from .data import build_prompts, column_problems, load_data

    loaded = load_data(config.data, config.source, config.base_dir)
    problems = column_problems(config.data, loaded.columns, config.reward_set, config.source)
    if problems:
        raise ConfigError(problems)

    from .arguments import build_grpo_config, grpo_kwargs
    from .device import choose_device

    device = choose_device(config.model.dtype, config.grpo)
    args = build_grpo_config(config, device, has_eval=loaded.eval is not None)

    from accelerate import PartialState

    from .model import ModelSourceError, load_model, load_tokenizer, local_folder, lora_config, resolve_model

    state = PartialState()
    is_main = state.is_main_process
    say = log if is_main else (lambda message: None)
    for warning in config.warnings:
        say(f"warning: {warning}")
    try:
        source = resolve_model(config.model.name, config.base_dir)
    except ModelSourceError as exc:
        raise ConfigError.single(config.source, "model", "name", str(exc)) from None

    with state.main_process_first():  # the overwrite and the GGUF conversion happen once
        if is_main and overwrite and not resume and out_dir.is_dir():
            _clear(out_dir)
        location = local_folder(source, log=say)
    say(f"model: {source.describe()} on {device.description}")
    say(f"data: {loaded.description}")
    try:
        tokenizer = load_tokenizer(
            location, config.model.chat_template, config.base_dir, config.model.revision, config.model.trust_remote_code
        )
        loaded = build_prompts(loaded, config.data, tokenizer, log=say)
        model = load_model(location, device.dtype, config.model.revision, config.model.trust_remote_code)
    except OSError as exc:  # a hub id with no hub, a folder without weights
        raise ConfigError.single(
            config.source, "model", "name", f"cannot load {source.describe()}: {str(exc).splitlines()[0]}"
        ) from None
    peft_config = lora_config(config.model.lora) if config.model.lora is not None else None

    from .canary_default import with_default_canary

    training_set, default = with_default_canary(
        config.reward_set.training_set(),  # eval_only rewards are left to score and bench
        config.data.template_fields(),
        loaded.train.column_names,
    )
    if default is not None:
        args.reward_weights = training_set.weights_at(0)  # one weight per reward TRL gets, the canary's 0
        say(
            f"canary: {default.name} ({default.spec.name} against column {default.columns[0]!r}) "
            "watches this run: every weighted reward of the set reads only the form (length, format, style)"
        )
    record = resolved_config(config, grpo_kwargs(config, device, loaded.eval is not None), location)
    if default is not None:
        record["rewards"].append(
            {
                "name": default.name,
                "use": default.spec.name,
                "weight": 0.0,
                "params": default.params,
                "canary": True,
                "default": True,
            }
        )
    if is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        if checkpoint:
            drift = _config_drift(read_run_config(out_dir), record)
            if drift:
                say(f"warning: resuming with a config that differs from the saved run in: {', '.join(drift)}")
            step = _checkpoint_step(checkpoint)
            for name in (METRICS_FILE, SAMPLES_FILE):
                truncate_after_step(out_dir / name, step)
            say(f"resuming from {checkpoint} (step {step})")
        write_run_config(out_dir, record)

    from transformers import PrinterCallback

    from .callbacks import OnCanaryAlarm, RunFilesCallback, SaveAtEnd, StopOnInterrupt, quiet_tensorboard
    from .metrics import make_trainer_class
    from .progress import ProgressDisplay

    files = RunFilesCallback(out_dir)
    alarm_action = OnCanaryAlarm(config.canaries.on_alarm)
    stopper = StopOnInterrupt(notify=say)
    display = ProgressDisplay(training_set.names, progress or config.output.progress)
    reward_funcs, _ = training_set.to_trl()
    trainer = make_trainer_class()(
        model=model,
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=loaded.train,
        eval_dataset=loaded.eval,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[files, stopper, alarm_action, SaveAtEnd(), display, *extra_callbacks],
        correlation_steps=config.output.correlation_steps,
        samples_per_step=config.output.samples_per_step,
        reward_set=training_set,
        dynamic_sampling=config.dynamic_sampling,
        canaries=config.canaries,
        notify=say,
    )
    trainer.remove_callback(PrinterCallback)
    quiet_tensorboard(trainer)
    files.trainer = trainer
    alarm_action.trainer = trainer

    status = "finished"
    stopper.install()
    try:
        trainer.train(resume_from_checkpoint=checkpoint)
        if stopper.stopped_early:
            status = "stopped"
        elif alarm_action.stopped:
            status = "alarm"
    except KeyboardInterrupt:
        status = "interrupted"
    finally:
        stopper.uninstall()
        display.close()
        files.flush_samples(trainer.state)

    result = RunResult(out_dir, trainer.state.global_step, status, checkpoint=checkpoint)
    if status == "finished":
        result.model_dirs = save_final(trainer, tokenizer, config, out_dir)
        for kind, path in result.model_dirs.items():
            say(f"saved {kind} to {path}")
    elif status in ("stopped", "alarm"):
        say(f"stopped at step {result.global_step}; continue with --resume")
    if config.output.report and is_main:
        label = {
            "finished": "finished",
            "stopped": "stopped early by Ctrl-C (checkpoint saved; --resume continues)",
            "alarm": "stopped by a canary alarm (checkpoint saved; see alarms/ and the Canaries section)",
            "interrupted": "interrupted (no checkpoint at the last step)",
        }[status]
        from .report import write_report

        result.report = write_report(out_dir, status=f"{label} at step {result.global_step}")
        say(f"report: {result.report}")
        from .findings import findings
        from .history import load_history

        for finding in findings(load_history(out_dir)):
            say(f"finding: {finding.message}")
    if status == "interrupted":
        raise KeyboardInterrupt
    return result


def save_final(trainer, tokenizer, config: TrainerConfig, out_dir: Path) -> dict[str, Path]:
    """Save the trained model: the LoRA adapter, the merged model (merge_and_unload), or both."""
    saved: dict[str, Path] = {}
    final = out_dir / "final"
    mode = config.output.save_model if config.uses_lora else "full"
    if mode in ("adapter", "full", "both"):
        target = out_dir / "adapter" if mode == "both" else final
        trainer.save_model(str(target))
        if trainer.accelerator.is_main_process:
            tokenizer.save_pretrained(target)
        saved["adapter" if config.uses_lora else "model"] = target
    if mode in ("merged", "both"):
        trainer.accelerator.wait_for_everyone()
        if trainer.accelerator.is_main_process:
            merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
            merged.save_pretrained(final)
            tokenizer.save_pretrained(final)
        saved["merged model"] = final
    trainer.accelerator.wait_for_everyone()
    return saved


def _quiet_libraries() -> None:
    """No per-file progress bars from transformers/datasets inside our own display, and no
    deprecation notice that TRL itself triggers at every step."""
    import warnings

    import datasets
    import transformers

    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)
