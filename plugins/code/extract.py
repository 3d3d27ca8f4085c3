"""The program in a completion: fenced code blocks, found line by line (linear time, no regex
backtracking), or the whole completion."""

from __future__ import annotations

LANGUAGE_ALIASES = {"python": ("python", "py", "python3", "py3")}
MAX_PROGRAM_CHARS = 100_000


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every closed ``` block as (language tag, lower-cased; code). An unclosed block is left out:
    a completion cut off mid-program has no program."""
    blocks: list[tuple[str, str]] = []
    tag: str | None = None
    body: list[str] = []
    fence = ""
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        if tag is None:
            if stripped.startswith("```") and len(line) - len(stripped) <= 3:
                fence = "`" * (len(stripped) - len(stripped.lstrip("`")))
                info = stripped[len(fence) :].strip().split()
                tag, body = (info[0].lower() if info else ""), []
        elif stripped.startswith(fence) and not stripped[len(fence) :].strip():
            blocks.append((tag, "\n".join(body)))
            tag = None
        else:
            body.append(line)
    return blocks


def extract_program(text: str, language: str = "python", mode: str = "last", after_think: bool = False) -> str | None:
    """The program to run: ``last`` fenced block of ``language`` (or, with none tagged, the last
    untagged block), ``all`` such blocks joined, or the ``whole`` completion. With ``after_think``
    only the text after the last ``</think>`` counts (none: no program). None when there is none."""
    if after_think:
        cut = text.rfind("</think>")
        if cut < 0:
            return None
        text = text[cut + len("</think>") :]
    if mode == "whole":
        program = text
    else:
        blocks = fenced_blocks(text)
        aliases = LANGUAGE_ALIASES.get(language, (language,))
        chosen = [code for tag, code in blocks if tag in aliases] or [code for tag, code in blocks if tag == ""]
        if not chosen:
            return None
        program = chosen[-1] if mode == "last" else "\n\n".join(chosen)
    program = program.strip("\n")
    return program if program.strip() and len(program) <= MAX_PROGRAM_CHARS else None


def compiles(program: str) -> bool:
    """Whether ``program`` is valid Python (compiled, never run; the size is bounded by the caller)."""
    try:
        compile(program, "<candidate>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, MemoryError, RecursionError, OverflowError):
        return False
    return True
