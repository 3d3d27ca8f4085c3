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
# (path, qualname) -> the function, loading the file through the registry (which installs itself
# here: the registry knows this module, never the other way round).
_loader: list[Callable[[str, str], Callable[..., Any]] | None] = [None]


def install_file_loader(loader: Callable[[str, str], Callable[..., Any]]) -> None:
    _loader[0] = loader


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

    def loaded(self) -> Callable[..., Any] | None:
        """The function when this process has loaded it already, else None."""
        return self._fn

    def resolve(self) -> Callable[..., Any]:
        if self._fn is None:
            if _loader[0] is None:
                raise ImportError(f"no plugin loader in this process to load {self.path}")
            self._fn = _loader[0](self.path, self.qualname)
        return self._fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FileFunction({self.path!r}, {self.qualname!r})"
