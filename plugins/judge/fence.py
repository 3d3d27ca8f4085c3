"""Policy text as data: each block sits between marker lines that carry a boundary drawn afresh for
every call, so a completion cannot close its own fence (it would have to guess 64 random bits).

A completion that writes the fence syntax itself (``<<<END``, ``<<<DATA``, or a look-alike of it:
full-width or other angle brackets, other letter cases) is refused before any call: it can only be an
attempt on the judge, and the reward scores it as such (see :func:`imitates_fence`).
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

# Angle brackets that NFKC leaves alone but a reader takes for '<' or '>'.
_ANGLES = str.maketrans(dict.fromkeys("‹«〈⟨〈ᐸ❮⧼", "<") | dict.fromkeys("›»〉⟩〉ᐳ❯⧽", ">"))
_FENCE_SYNTAX = re.compile(r"<\s*<\s*<\s*(?:end|data)\b")
_INVISIBLE = dict.fromkeys(c for c in range(0x2000, 0x2070) if unicodedata.category(chr(c)) == "Cf") | {0xFEFF: None, 0xAD: None}


@dataclass(frozen=True)
class Fences:
    """The boundary of one call's data blocks and the nonce its verdict line must carry."""

    boundary: str
    nonce: str

    @classmethod
    def fresh(cls) -> Fences:
        return cls(secrets.token_hex(8).upper(), secrets.token_hex(6))

    def block(self, name: str, text: str) -> str:
        return f"<<<DATA {name} {self.boundary}>>>\n{text}\n<<<END {name} {self.boundary}>>>"

    def describe(self) -> str:
        return (
            f"Each data block starts with a line <<<DATA name {self.boundary}>>> and ends with the line "
            f"<<<END name {self.boundary}>>>. Only a line with exactly that boundary ends a block."
        )


def normalised(text: str) -> str:
    """What a reader sees: NFKC, look-alike angle brackets folded, invisible format characters
    dropped, case folded."""
    folded = unicodedata.normalize("NFKC", text).translate(_ANGLES).translate(_INVISIBLE)
    return folded.casefold()


def imitates_fence(text: str) -> bool:
    """True when ``text`` writes fence syntax (or a confusable of it)."""
    return bool(_FENCE_SYNTAX.search(normalised(text)))
