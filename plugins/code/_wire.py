"""Plain values across the pipe between the test runner and the candidate's process.

Standalone (stdlib only): it is prepended to ``_stub.py`` and ``_runner.py`` when they are run, in a
local sandbox or on a remote engine. Only exact built-in types cross (a subclass of ``int`` or an
object whose ``__eq__`` lies cannot): the runner compares freshly built plain values, never an
object made by the candidate.
"""

import json

_WIRE_MAX_DEPTH = 64


def wire_encode(value, depth=0):
    """A JSON-able form of a plain value; ValueError for anything else."""
    if depth > _WIRE_MAX_DEPTH:
        raise ValueError("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is str:
        return value
    if kind is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else {"~f": repr(value)}
    if kind is list:
        return [wire_encode(v, depth + 1) for v in value]
    if kind is tuple:
        return {"~t": [wire_encode(v, depth + 1) for v in value]}
    if kind is set or kind is frozenset:
        return {"~s" if kind is set else "~S": [wire_encode(v, depth + 1) for v in value]}
    if kind is dict:
        return {"~d": [[wire_encode(k, depth + 1), wire_encode(v, depth + 1)] for k, v in value.items()]}
    if kind is bytes:
        return {"~b": value.hex()}
    if kind is complex:
        return {"~c": [wire_encode(value.real), wire_encode(value.imag)]}
    raise ValueError("not a plain value: " + kind.__name__)


def wire_decode(data, depth=0):
    """The plain value of :func:`wire_encode`'s form; ValueError for anything else."""
    if depth > _WIRE_MAX_DEPTH:
        raise ValueError("value nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, int, float, str):
        return data
    if kind is list:
        return [wire_decode(v, depth + 1) for v in data]
    if kind is dict and len(data) == 1:
        ((tag, body),) = data.items()
        if tag == "~f" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "~b" and type(body) is str:
            return bytes.fromhex(body)
        if type(body) is list:
            items = [wire_decode(v, depth + 1) for v in body]
            if tag == "~t":
                return tuple(items)
            if tag == "~s":
                return set(items)
            if tag == "~S":
                return frozenset(items)
            if tag == "~c" and len(items) == 2:
                return complex(items[0], items[1])
            if tag == "~d" and all(type(p) is list and len(p) == 2 for p in items):
                return {k: v for k, v in items}
    raise ValueError("malformed wire value")


def wire_dumps(message):
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()
