"""Reasoning-model output: the answer is what follows the reasoning block.

A reasoning model writes ``<think> ... </think>`` and then its answer; anything boxed inside the
block is a draft. With ``after_think`` a reward reads only the text after the last closing tag,
and a completion that never closes the block (truncated mid-thought) has no answer at all, as in
TRL's ``reasoning_accuracy_reward``. The opening tag is optional (chat templates often put it in
the prompt).
"""

from __future__ import annotations

THINK_CLOSE = "</think>"


def after_reasoning(text: str, closing_tag: str = THINK_CLOSE) -> str | None:
    """The text after the last ``closing_tag``; None when the tag never appears."""
    at = text.rfind(closing_tag)
    if at < 0:
        return None
    return text[at + len(closing_tag) :]
