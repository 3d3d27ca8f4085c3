"""Reading a final answer out of gold text, shared by data loaders, the bench and rewards."""

from __future__ import annotations

from typing import Any


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (balanced braces), or None."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def gold_answer(value: Any) -> str | None:
    """The final answer in a gold value: after GSM8K's ``####``, inside the last ``\\boxed{}``, or as is."""
    if value is None:
        return None
    text = str(value).strip()
    if "####" in text:
        text = text.rsplit("####", 1)[1].strip()
    elif "\\boxed" in text:
        text = (last_boxed(text) or text).strip()
    return text or None
