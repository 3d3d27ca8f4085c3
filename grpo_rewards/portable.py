"""Reward functions that cross into other processes, including those from local plugin files.

Pickle sends a function by reference (module and qualified name). A function from a local plugin
file (``plugins = ["my_rewards.py"]``) lives in a module that exists only in the process that
loaded the file, so a worker process cannot import it. :func:`portable` swaps such a function for
a :class:`FileFunction` that carries the file's path instead; the worker loads the file through
its own registry (so the file's other hooks, such as extractors, are registered there too) and
finds the function again.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOCAL_MODULE_PREFIX = "grpo_rewards_local_"


def _importable(fn: Any) -> bool:
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    if module is None or getattr(fn, "__module__", "").startswith(LOCAL_MODULE_PREFIX):
        return False
    target: Any = module
    for part in getattr(fn, "__qualname__", "").split("."):
        target = getattr(target, part, None)
    return target is fn


def portable(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` itself when pickle can send it by reference, else a :class:`FileFunction`."""
    if isinstance(fn, FileFunction) or not inspect.isfunction(fn) or _importable(fn):
        return fn
    try:
        path = inspect.getfile(fn)
    except TypeError:
        return fn
    return FileFunction(str(Path(path).resolve()), fn.__qualname__, fn)


class FileFunction:
    """A function defined in a local plugin file, picklable by the file's path."""

    def __init__(self, path: str, qualname: str, fn: Callable[..., Any] | None = None) -> None:
        self.path = path
        self.qualname = qualname
        self._fn = fn

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "qualname": self.qualname}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self.qualname, self._fn = state["path"], state["qualname"], None

    def resolve(self) -> Callable[..., Any]:
        if self._fn is None:
            from .registry import get_registry

            registry = get_registry()
            registry.load_file(self.path)
            target: Any = registry.pm.get_plugin(f"local:{Path(self.path).name}")
            if target is None:
                raise ImportError(f"could not load plugin file {self.path} in this process")
            for part in self.qualname.split("."):
                target = getattr(target, part)
            self._fn = target
        return self._fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FileFunction({self.path!r}, {self.qualname!r})"
