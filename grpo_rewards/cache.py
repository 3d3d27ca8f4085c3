"""A least-recently-used cache bounded by bytes, not entries.

An entry-count bound (``lru_cache(maxsize=1024)``) says nothing about memory when the keys are
model completions: 1024 completions of 10 MB are 10 GB. This cache charges each entry what its
caller says it costs, evicts the least recently used until the total fits, and never keeps an entry
bigger than a fraction of the budget. Thread-safe (TRL's async rewards and serve-rewards score in
threads).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class ByteBoundedCache(Generic[V]):
    """``get``/``put`` with a total cost of at most ``max_bytes``; entries over ``max_item_bytes``
    (default: a sixteenth of the budget) are not kept at all."""

    def __init__(self, max_bytes: int, max_item_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_item_bytes = max_item_bytes if max_item_bytes is not None else max_bytes // 16
        self._entries: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: V, cost: int) -> None:
        if cost > self.max_item_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._entries[key] = (value, cost)
            self._bytes += cost
            while self._bytes > self.max_bytes and self._entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
