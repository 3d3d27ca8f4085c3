"""The judges' response cache: a verdict read once is reused for the same question, answer and settings.

The prompt sent differs on every call (fresh fences and nonce), so the cache is keyed by what the
prompt is built from, not by its text: the judge kind, the question, the completion, the columns the
judge reads, and every parameter that can change a verdict (endpoint, model, temperature, scale,
rubric, orders, guidance, defences...); retries, deadlines, prices and the key's variable do not.
Only read verdicts are kept: a failed call or an unreadable verdict is tried again next time.

Per process, bounded (least recently used out first). By default (``cache = "auto"``) only a judge at
temperature 0 uses it: a sampling judge's verdict is one draw, and reusing it would hide its noise.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

MAX_ENTRIES = 65_536
# parameters that change how a call is made, never what it answers (the certificate's hash leaves
# them out too)
CALL_SETTINGS = frozenset(
    {"max_concurrency", "retries", "deadline", "request_timeout", "price_input", "price_output", "api_key_env", "cache"}
)
# a fenced completion is refused before any call, so what is done then is not part of a cached verdict
NOT_IN_KEY = CALL_SETTINGS | {"on_fence"}

_entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
_lock = threading.Lock()
STATS = {"hits": 0, "misses": 0}


def enabled(params: Mapping[str, Any]) -> bool:
    mode = params["cache"]
    return mode == "on" or (mode == "auto" and params["temperature"] == 0)


def key(kind: str, parts: Any, params: Mapping[str, Any]) -> str:
    settings = {k: v for k, v in sorted(params.items()) if k not in NOT_IN_KEY}
    return hashlib.sha256(json.dumps([kind, parts, settings], sort_keys=True, default=str).encode()).hexdigest()


def get(entry: str) -> tuple[float, dict[str, Any]] | None:
    with _lock:
        found = _entries.get(entry)
        if found is None:
            STATS["misses"] += 1
            return None
        _entries.move_to_end(entry)
        STATS["hits"] += 1
        return found[0], dict(found[1])


def put(entry: str, value: float, details: Mapping[str, Any]) -> None:
    with _lock:
        _entries[entry] = (value, dict(details))
        _entries.move_to_end(entry)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def clear() -> None:
    with _lock:
        _entries.clear()
        STATS.update(hits=0, misses=0)
