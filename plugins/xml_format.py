"""XML format rewards: does a completion follow a tag schema such as ``<think>...</think><answer>...</answer>``?

Model output is tag soup: ``3 < 5`` in the reasoning, a missing ``</think>``, a stray ``</answer>``,
chatty text around the tags. Parsing it as XML as-is goes wrong in two ways: libxml2's recovering
parser silently drops everything after a stray end tag, and a completion may carry a DTD with
entity declarations (billion laughs, ``SYSTEM "file:///etc/passwd"``). So parsing goes in two steps:

1. A scan for the schema's own tags only. Everything else is text and is escaped. The schema is
   flat (its elements follow one another), so an opener while another element is open closes
   that one implicitly, as HTML does for ``<p>``, and it is recorded as unclosed; a closer with no
   open element is dropped and counted. Each opener is renamed to an internal name carrying a
   ``closed`` flag. Completions carrying markup declarations (``<!DOCTYPE``, ``<!ENTITY``, ``<?``)
   or longer than ``max_chars`` are rejected before any parser sees them.
2. lxml builds the tree from that string with a locked-down parser (no entity resolution, no DTD,
   no network, no huge trees); the tree gives the elements in order with their text, and the
   text outside them.

:func:`parse_completion` caches its result, so the format reward, :func:`answer_field` and the
consistency reward share one parse per completion. The cache is bounded by bytes (``CACHE_BYTES``),
keeps no completion bigger than a sixteenth of that, and never keeps a rejected one.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from lxml import etree

from grpo_rewards import Param, Sample, Scored, hookimpl, reward
from grpo_rewards.cache import ByteBoundedCache

MAX_CHARS = 200_000
CACHE_BYTES = 32 * 1024 * 1024  # a few GRPO batches of ordinary completions
DEFAULT_TAGS = ("think", "answer")

# Markup declarations and processing instructions have no place in a model's answer; they are
# how entity-expansion and external-entity payloads arrive.
_DECLARATION = re.compile(r"<\s*!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)|<\?", re.IGNORECASE)
# Characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _safe_parser() -> etree.XMLParser:
    """A recovering parser that never resolves entities, loads a DTD or touches the network."""
    return etree.XMLParser(
        recover=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


@dataclass(frozen=True)
class Element:
    """One schema element found in a completion."""

    tag: str
    text: str  # its text content, as written
    closed: bool  # it had its own closing tag


@dataclass(frozen=True)
class ParsedCompletion:
    """What a completion looks like against a tag schema; shared between rewards."""

    elements: tuple[Element, ...] = ()  # in document order of their opening tags
    outside_text: tuple[str, ...] = ()  # non-blank text runs between top-level elements
    stray_closers: int = 0  # closing tags with no matching opener
    rejected: str | None = None  # why nothing was parsed ("too long", "markup declaration", ...)

    def all(self, tag: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag]

    def field(self, tag: str) -> str | None:
        """Stripped text of the last closed ``tag`` element, or None."""
        for element in reversed(self.elements):
            if element.tag == tag and element.closed:
                return element.text.strip()
        return None


@lru_cache(maxsize=64)
def _tag_pattern(tags: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(re.escape(t) for t in sorted(tags, key=len, reverse=True))
    return re.compile(rf"<(/?)({names})\s*(/?)>")


_cache: ByteBoundedCache[ParsedCompletion] = ByteBoundedCache(CACHE_BYTES)


def parse_completion(text: str, tags: tuple[str, ...] = DEFAULT_TAGS, max_chars: int = MAX_CHARS) -> ParsedCompletion:
    """Parse ``text`` against the schema ``tags`` (cached: call it freely from any reward)."""
    key = (text, tags, max_chars)
    parsed = _cache.get(key)
    if parsed is None:
        parsed = _parse(text, tags, max_chars)
        if parsed.rejected is None:  # the key and the element texts: about twice the text
            _cache.put(key, parsed, 2 * sys.getsizeof(text))
    return parsed


def _parse(text: str, tags: tuple[str, ...], max_chars: int) -> ParsedCompletion:
    if len(text) > max_chars:
        return ParsedCompletion(rejected="too long")
    if _DECLARATION.search(text):
        return ParsedCompletion(rejected="markup declaration")
    if not tags:
        return ParsedCompletion(outside_text=(text,) if text.strip() else ())
    text = _NOT_XML_CHAR.sub("\ufffd", text)
    document, stray = _to_document(text, tags)
    root = etree.fromstring(document.encode("utf-8"), _safe_parser())
    if root is None:  # cannot happen for a document we built, but never trust a parser blindly
        return ParsedCompletion(rejected="unparseable")
    elements = tuple(Element(tag=tags[int(node.tag[1:])], text=node.text or "", closed=node.get("c") == "1") for node in root)
    outside = [root.text or ""] + [child.tail or "" for child in root]
    return ParsedCompletion(
        elements=elements,
        outside_text=tuple(t for t in outside if t.strip()),
        stray_closers=stray,
    )


def _to_document(text: str, tags: tuple[str, ...]) -> tuple[str, int]:
    """The completion as a well-formed flat document: schema tags renamed ``t<i>`` and matched,
    every other character escaped. Returns it with the number of stray closers."""
    index = {t: i for i, t in enumerate(tags)}
    pieces: list[str] = []
    open_tag: str | None = None  # the element now open, if any
    opened_at = 0  # its opener's index in pieces
    stray = 0
    pos = 0
    for match in _tag_pattern(tags).finditer(text):
        pieces.append(escape(text[pos : match.start()], quote=False))
        pos = match.end()
        closing, name, self_closing = match.group(1), match.group(2), match.group(3)
        if closing:
            if self_closing or name != open_tag:
                stray += 1
                continue
            pieces.append(f"</t{index[name]}>")
            pieces[opened_at] = f'<t{index[name]} c="1">'
            open_tag = None
            continue
        if open_tag is not None:  # implicitly closed by this opener: stays c="0"
            pieces.append(f"</t{index[open_tag]}>")
            open_tag = None
        if self_closing:
            pieces.append(f'<t{index[name]} c="1"/>')
        else:
            open_tag, opened_at = name, len(pieces)
            pieces.append(f'<t{index[name]} c="0">')
    pieces.append(escape(text[pos:], quote=False))
    if open_tag is not None:
        pieces.append(f"</t{index[open_tag]}>")
    return "<r>" + "".join(pieces) + "</r>", stray


def answer_field(text: str, tag: str = "answer") -> str | None:
    """The text of the completion's closed ``<answer>`` element (or ``tag``), parsed once."""
    tags = DEFAULT_TAGS if tag in DEFAULT_TAGS else (*DEFAULT_TAGS, tag)
    return parse_completion(text, tags).field(tag)


@dataclass(frozen=True)
class FormatReport:
    """How a completion scores against a schema: the credit earned and the violations found."""

    credit: float  # fraction of required elements present, closed and non-empty
    violations: dict[str, int]

    @property
    def count(self) -> int:
        return sum(self.violations.values())


def check_format(
    parsed: ParsedCompletion,
    tags: tuple[str, ...],
    optional: frozenset[str] = frozenset(),
    allow_outside_text: bool = False,
    allow_empty: bool = False,
) -> FormatReport:
    """Score a parsed completion against the schema ``tags`` (in this order)."""
    required = [t for t in tags if t not in optional]
    good = 0
    for tag in required:
        if any(e.closed and (allow_empty or e.text.strip()) for e in parsed.all(tag)):
            good += 1
    order = [tags.index(e.tag) for e in parsed.elements]
    violations = {
        "duplicates": sum(max(0, len(parsed.all(t)) - 1) for t in tags),
        "unclosed": sum(not e.closed for e in parsed.elements),
        "stray_closers": parsed.stray_closers,
        "out_of_order": int(any(a > b for a, b in zip(order, order[1:]))),
        "outside_text": 0 if allow_outside_text else len(parsed.outside_text),
    }
    credit = good / len(required) if required else 1.0
    return FormatReport(credit=credit, violations=violations)


_SCHEMA_PARAMS = [
    Param(
        "elements",
        list,
        list(DEFAULT_TAGS),
        "the schema's element names, in the order they must appear (matched case-sensitively)",
        role="tags",
    ),
    Param(
        "optional", list, [], "elements that may be left out: they earn no credit, and are checked like the others when present"
    ),
    Param(
        "allow_outside_text",
        bool,
        False,
        "allow non-blank text before, between and after the elements (whitespace is always allowed)",
    ),
    Param("allow_empty", bool, False, "let an element with blank content earn its credit (e.g. `<think></think>`)"),
]


@reward(
    "xml.format",
    kind="format",
    description=(
        "Does the completion follow an XML tag schema (default <think>...</think> then "
        "<answer>...</answer>)? strict: 1.0 only when it all conforms. partial: 1/len(required) per "
        "required element present, closed and non-empty, minus `penalty` per violation (duplicate, "
        "unclosed, stray closer, wrong order, text outside), floored at 0. Markup declarations "
        "(DOCTYPE, ENTITY, <?...?>) or more than max_chars score 0."
    ),
    params=[
        *_SCHEMA_PARAMS,
        Param(
            "mode",
            str,
            "partial",
            "'strict' (all or nothing) or 'partial' (credit per element, minus penalties)",
            choices=["strict", "partial"],
        ),
        Param("penalty", float, 0.25, "partial mode: what each violation costs", min=0.0, max=1.0),
        Param("max_chars", int, MAX_CHARS, "longer completions are not parsed and score 0", min=1, max=10_000_000),
    ],
    value_range=(0.0, 1.0),
)
def xml_format(
    sample: Sample,
    elements: list[str],
    optional: list[str],
    allow_outside_text: bool,
    allow_empty: bool,
    mode: str,
    penalty: float,
    max_chars: int,
) -> Scored:
    tags = tuple(dict.fromkeys(elements))
    parsed = parse_completion(sample.completion, tags, max_chars)
    if parsed.rejected:
        return Scored(0.0, {"why": f"not parsed: {parsed.rejected}"})
    report = check_format(parsed, tags, frozenset(optional), allow_outside_text, allow_empty)
    found = [e.tag for e in parsed.elements]
    details = {
        "found": " ".join(found) or "no element",
        "credit": report.credit,
        "violations": ", ".join(f"{k} {v}" for k, v in report.violations.items() if v) or "none",
    }
    if mode == "strict":
        return Scored(1.0 if report.credit == 1.0 and report.count == 0 else 0.0, details)
    return Scored(max(0.0, report.credit - penalty * report.count), details)


@hookimpl
def register_rewards(register):
    register(xml_format)
