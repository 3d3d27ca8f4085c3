"""The run folder's README.md: what this model is, in place of TRL's stock card.

TRL writes a card at every checkpoint that says "a fine-tuned version of [None]" for a model loaded
from a local folder and offers a pipeline snippet for a model named "None". Ours names the base
model as the config gave it and points at the files that say how it was trained.
"""

from __future__ import annotations

from pathlib import Path

from grpo_rewards.rows import shareable_location, write_atomically

from .runfiles import RUN_CONFIG_FILE, read_run_config

CARD_FILE = "README.md"


def model_card(output_dir: Path) -> str:
    config = read_run_config(output_dir) or {}
    model = config.get("model", {})
    data = config.get("data", {})
    rewards = ", ".join(f"`{r.get('name')}` ({r.get('use')})" for r in config.get("rewards", [])) or "see the config"
    how = "a LoRA adapter on" if model.get("lora") else "a full fine-tune of"
    return "\n".join(
        [
            "---",
            "library_name: transformers",
            "tags: [grpo, grpo-rewards, trl]",
            "---",
            "",
            f"# {output_dir.name}",
            "",
            f"GRPO training with grpo-rewards: {how} `{shareable_location(model.get('name', 'an unknown model'))}`, on "
            f"`{shareable_location(data.get('source', 'unknown data'))}`, rewarded by {rewards}.",
            "",
            f"- the config as run: `{RUN_CONFIG_FILE}`; what each reward contributed, plots and findings: `report.md` (and `report.html`, one page to open in a browser)",
            "- the trained model: `final/` (a LoRA run may also have `adapter/`); "
            "try it with `grpo-rewards generate <this folder> --prompt ...`",
            "",
        ]
    )


def write_model_card(output_dir: str | Path) -> Path:
    path = Path(output_dir) / CARD_FILE
    write_atomically(path, model_card(Path(output_dir)))
    return path
