"""Text copied from the prompt is not an answer: the echoed question states the question's numbers.

A policy that copies the question back ("... If Erin had $6.00, how many scoops should she buy?")
gives the last-number reader a number from the prompt; when the question happens to contain the
answer, that echo would be paid. Sentences of the completion found verbatim in the prompt (spaces
collapsed, at least ``MIN_ECHO_CHARS`` long), and those that are a whole sentence or line of the
prompt ("Find $2.4 \\div 6$.", a line of an Asymptote figure), are blanked before any extractor
reads it, so a value read only from the echo is no answer, while a short fact restated in the
model's own words or the model's own sentences are read as written. Bounded: the prompt's first ``MAX_PROMPT_CHARS`` and the
completion's last ``MAX_SENTENCES`` sentences are compared.
"""

from __future__ import annotations

import re

MIN_ECHO_CHARS = 20
MIN_LINE_CHARS = 6  # a whole sentence or line of the prompt, copied, at least this long
MAX_PROMPT_CHARS = 50_000
MAX_SENTENCES = 400
_SPACES = re.compile(r"\s+")
# a sentence ends at ".", "?" or "!" before a space, or at a line break (not inside "6.00")
_BREAK = re.compile(r"(?<=[.?!])\s+|\n+")


def without_echo(completion: str, prompt: str | None) -> str:
    """``completion`` with the sentences it copied from ``prompt`` blanked (replaced by spaces, so
    positions hold); unchanged when there is no prompt or nothing was copied."""
    if not prompt or not completion:
        return completion
    haystack = _SPACES.sub(" ", prompt[:MAX_PROMPT_CHARS])
    lines = {_SPACES.sub(" ", p).strip() for p in _BREAK.split(prompt[:MAX_PROMPT_CHARS])}
    pieces = _BREAK.split(completion)
    head = max(0, len(pieces) - MAX_SENTENCES)
    out = []
    at = 0
    changed = False
    for k, piece in enumerate(pieces):
        start = completion.find(piece, at) if piece else at
        end = start + len(piece)
        out.append(completion[at:start])
        normal = _SPACES.sub(" ", piece).strip()
        if k >= head and (
            (len(normal) >= MIN_ECHO_CHARS and normal in haystack) or (len(normal) >= MIN_LINE_CHARS and normal in lines)
        ):
            out.append(" " * len(piece))
            changed = True
        else:
            out.append(piece)
        at = end
    out.append(completion[at:])
    return "".join(out) if changed else completion
