"""Where each key of a config file sits: ``rewards[1].params.target`` -> line 9.

tomllib and json give no positions, so TOML is read line by line (table headers, ``key =`` lines
and the keys of one-line inline tables); YAML's own composer gives every node's line. A key not
found has no line, and a message then names only the file, entry and key, as everywhere else.
"""

from __future__ import annotations

import re
from pathlib import Path

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]\s*(?:#.*)?$")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_\-.\"']+?)\s*=\s*(.*)$")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+)\s*=")
MAX_NODES = 100_000  # a YAML alias bomb is refused earlier; this bounds the walk anyway


def key_lines(path: Path, text: str) -> dict[str, int]:
    """Dotted paths (``rewards[0].params.target``, ``bench``) to 1-based line numbers."""
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return _toml_lines(text)
    if suffix in (".yaml", ".yml"):
        return _yaml_lines(text)
    return {}


def _toml_lines(text: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}  # array-of-tables name (no indices) -> its current index
    current = ""

    def indexed(name: str) -> str:
        plain, out = "", ""
        for part in (p.strip().strip("\"'") for p in name.split(".")):
            plain = f"{plain}.{part}" if plain else part
            out = f"{out}.{part}" if out else part
            if plain in counts:
                out += f"[{counts[plain]}]"
        return out

    for number, line in enumerate(text.splitlines(), 1):
        match = _ARRAY_HEADER.match(line)
        if match:
            plain = ".".join(p.strip().strip("\"'") for p in match[1].split("."))
            counts[plain] = counts.get(plain, -1) + 1
            current = indexed(match[1])
            lines.setdefault(current, number)
            continue
        match = _TABLE_HEADER.match(line)
        if match:
            current = indexed(match[1])
            lines.setdefault(current, number)
            continue
        match = _KEY_LINE.match(line)
        if match:
            key = ".".join(p.strip().strip("\"'") for p in match[1].split("."))
            where = f"{current}.{key}" if current else key
            lines.setdefault(where, number)
            if match[2].lstrip().startswith("{"):
                for inner in _INLINE_KEY.findall(match[2]):
                    lines.setdefault(f"{where}.{inner}", number)
    return lines


def _yaml_lines(text: str) -> dict[str, int]:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    lines: dict[str, int] = {}
    budget = [MAX_NODES]

    def walk(node: yaml.Node, where: str) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            return
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = f"{where}.{key.value}" if where else str(key.value)
                lines.setdefault(name, key.start_mark.line + 1)
                walk(value, name)
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                name = f"{where}[{index}]"
                lines.setdefault(name, value.start_mark.line + 1)
                walk(value, name)

    if root is not None:
        walk(root, "")
    return lines
