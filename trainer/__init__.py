"""The TRL-backed GRPO trainer (needs the ``[train]`` extra: torch, transformers, trl, peft)."""
