"""A row's tests: what they are (HumanEval ``check``, assert statements, stdin/stdout pairs) and how
a program's output is compared with the expected one."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

FORMATS = ("auto", "check", "assert", "stdio")
_CHECK = re.compile(r"^def check\s*\(", re.MULTILINE)
MAX_TOKENS = 1_000_000


@dataclass(frozen=True)
class StdioCase:
    stdin: str
    expected: str


@dataclass(frozen=True)
class Tests:
    """Parsed tests: ``style`` is check, assert or stdio; ``code`` for the first two, ``cases`` for stdio."""

    style: str
    code: str = ""
    cases: tuple[StdioCase, ...] = ()

    def key(self) -> str:
        return self.style + "\0" + self.code + "\0" + json.dumps([[c.stdin, c.expected] for c in self.cases])


def parse_tests(raw: Any, test_format: str = "auto") -> Tests | None:
    """The tests of a row, or None when it has none. ValueError for tests that cannot be read."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        if test_format == "stdio" or (test_format == "auto" and text[0] in "[{"):
            try:
                raw = json.loads(text)
            except ValueError:
                if test_format == "stdio":
                    raise ValueError("stdio tests must be JSON: a list of {input, output} or {inputs, outputs}") from None
            else:
                return _stdio(raw)
        if test_format == "check" or (test_format == "auto" and _CHECK.search(raw)):
            return Tests("check", raw)
        return Tests("assert", raw)
    if test_format in ("check", "assert"):
        raise ValueError(f"{test_format} tests must be Python source, got {type(raw).__name__}")
    return _stdio(raw)


def _stdio(raw: Any) -> Tests | None:
    if isinstance(raw, dict) and "inputs" in raw:
        inputs, outputs = raw.get("inputs") or [], raw.get("outputs") or []
        if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
            raise ValueError("stdio tests need lists 'inputs' and 'outputs' of the same length")
        pairs = list(zip(inputs, outputs))
    elif isinstance(raw, list):
        pairs = []
        for case in raw:
            if not isinstance(case, dict) or "input" not in case or "output" not in case:
                raise ValueError("each stdio test must be an object with 'input' and 'output'")
            pairs.append((case["input"], case["output"]))
    else:
        raise ValueError(f"unreadable tests: {type(raw).__name__}")
    cases = tuple(StdioCase(_text(i), _text(o)) for i, o in pairs)
    return Tests("stdio", cases=cases) if cases else None


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "\n".join(str(v) for v in value) + "\n"
    return value if isinstance(value, str) else str(value)


def outputs_match(got: str, expected: str, float_tol: float = 0.0) -> bool:
    """Whitespace-tolerant: the same tokens in the same order, however spaced or split into lines;
    with ``float_tol`` > 0, tokens that both read as finite numbers may differ by that much
    (absolute, or relative to the expected value)."""
    a, b = got.split(), expected.split()
    if len(a) != len(b) or len(b) > MAX_TOKENS:
        return False
    for x, y in zip(a, b):
        if x == y:
            continue
        if float_tol <= 0:
            return False
        try:
            fx, fy = float(x), float(y)
        except ValueError:
            return False
        if not (math.isfinite(fx) and math.isfinite(fy)) or not math.isclose(fx, fy, rel_tol=float_tol, abs_tol=float_tol):
            return False
    return True
