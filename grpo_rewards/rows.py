"""Row files in and out: every input problem found before any scoring, every output written whole.

Reading (:func:`read_rows`): JSONL/JSON are read here, line by line from bytes, so that every
problem carries its line number: text that is not UTF-8 (Latin-1, UTF-16: named, with the line),
invalid JSON, a line that is not an object, an integer too long to be a number, nesting too deep,
a lone surrogate (valid JSON, but not writable as UTF-8: caught here rather than after scoring).
CSV and parquet go through ``datasets``; its failures become an :class:`InputError` too.

Writing (:func:`write_atomically`): a temporary file in the target's folder, flushed to disk and
renamed over the target only when complete, with the permissions a plain ``open`` would give
(the umask), removed on any failure, Ctrl-C or SIGTERM. A target that is a symbolic link, a FIFO,
a device or a socket is refused, never replaced (:func:`check_target`). :func:`check_writable`
tries the same folder before any work starts, so an unwritable target fails in a second, not after
scoring.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import InputError

MAX_REPORTED = 20
LINE_KEY = "__line__"  # where the reader keeps a JSONL row's line number; a user column of that name is refused
MAX_DEPTH = 64  # nesting a row may have; deeper is certainly not a dataset row
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_BOMS = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}


def summarise(problems: list[str]) -> str:
    """The first problems, one per line, and how many more there are."""
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    return "\n".join(shown + ([f"... and {more} more"] if more else []))


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL/JSON file (with ``__line__`` for JSONL) or CSV/parquet (via ``datasets``).

    A row that brings its own ``__line__`` column is refused: it would be overwritten by, or
    taken for, the reader's line number."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl(path)
    if suffix == ".json":
        rows = _read_json(path)
    elif suffix in (".csv", ".parquet"):
        rows = _read_table(path, suffix)
    else:
        raise InputError(f"{path}: unsupported input format {suffix!r}; use .jsonl, .json, .csv or .parquet")
    clashes = [f"{path}: row {i + 1}: {_line_key_clash()}" for i, row in enumerate(rows) if LINE_KEY in row]
    if clashes:
        raise InputError(summarise(clashes))
    return rows


def _line_key_clash() -> str:
    return f"has a column {LINE_KEY!r}, a name the reader keeps for line numbers; rename the column"


def completion_ids_problem(value: Any) -> str | None:
    """Why ``value`` is not usable as ``completion_ids`` (a list of token ids: whole numbers), or None.

    A string would be counted character by character, a float or a bool taken for a token."""
    if value is None:
        return None
    if not isinstance(value, list):
        return f"'completion_ids' must be a list of token ids (integers), got {type(value).__name__}"
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            return f"'completion_ids'[{index}] must be a token id (an integer >= 0), got {type(item).__name__} {str(item)[:20]}"
    return None


def _check_encoding_start(path: Path, head: bytes) -> None:
    for bom, name in _BOMS.items():
        if head.startswith(bom):
            raise InputError(f"{path}:1: the file is {name}; save it as UTF-8")


def _decode(path: Path, number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start : exc.start + 1].hex()
        hint = (
            " (it looks like Latin-1/Windows-1252; save the file as UTF-8)"
            if b"\x00" not in raw
            else " (it holds NUL bytes: UTF-16? save the file as UTF-8)"
        )
        raise _LineProblem(f"{path}:{number}: not UTF-8 text: byte 0x{byte} at column {exc.start + 1}{hint}") from None


class _LineProblem(Exception):
    pass


class _NonFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    """Python's json reads ``NaN`` and ``Infinity``, which JSON has not: they would be written
    back as invalid JSON, so they are refused at reading."""
    raise _NonFinite(name)


def _parse_json(text: str, where: str, problem: type[Exception], with_line: bool = False) -> Any:
    """``json.loads`` with each failure as ``problem`` naming ``where`` (and the line, for a whole file)."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except _NonFinite as exc:
        raise problem(f"{where}: holds {exc}, which is not JSON (a number must be finite)") from None
    except json.JSONDecodeError as exc:
        at = f"{where}:{exc.lineno}" if with_line else where
        raise problem(f"{at}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise problem(f"{where}: JSON nested too deeply") from None
    except ValueError as exc:  # an integer with more digits than Python converts
        raise problem(f"{where}: not usable JSON ({str(exc)[:120]})") from None


def _loads(path: Path, where: str, text: str, raw: bytes) -> Any:
    value = _parse_json(text, where, _LineProblem)
    problem = _shape_problem(value, _SURROGATE_ESCAPE.search(raw) is not None)
    if problem:
        raise _LineProblem(f"{where}: {problem}")
    return value


def _shape_problem(value: Any, check_surrogates: bool) -> str | None:
    """Too deep, or (when the raw text escapes a surrogate) a lone surrogate in a string."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(item, dict):
            if check_surrogates:
                stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif check_surrogates and isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"holds a lone surrogate \\u{ord(item[exc.start]):04x}, which cannot be written as UTF-8"
    return None


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        _check_encoding_start(path, handle.read(2))
        handle.seek(0)
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            where = f"{path}:{number}"
            try:
                text = _decode(path, number, raw)
                if not text.strip():
                    continue
                row = _loads(path, where, text, raw)
            except _LineProblem as exc:
                problems.append(str(exc))
                if len(problems) > 10 * MAX_REPORTED:
                    break
                continue
            if not isinstance(row, dict):
                problems.append(f"{where}: expected a JSON object, got {type(row).__name__}")
                continue
            if LINE_KEY in row:
                problems.append(f"{where}: {_line_key_clash()}")
                continue
            row[LINE_KEY] = number
            rows.append(row)
    if problems:
        raise InputError(summarise(problems))
    return rows


def _read_json(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    _check_encoding_start(path, raw[:2])
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}:{line}: not UTF-8 text: byte 0x{raw[exc.start : exc.start + 1].hex()}; save the file as UTF-8"
        ) from None
    data = _parse_json(text, str(path), InputError, with_line=True)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InputError(f"{path}: expected a JSON list of objects")
    check = _SURROGATE_ESCAPE.search(raw) is not None
    problems = []
    for index, row in enumerate(data):
        problem = _shape_problem(row, check)
        if problem:
            problems.append(f"{path}: row {index + 1}: {problem}")
    if problems:
        raise InputError(summarise(problems))
    return data


def _read_table(path: Path, suffix: str) -> list[dict[str, Any]]:
    try:
        from datasets import load_dataset
    except ImportError:  # pragma: no cover - datasets comes with the [train] extra
        raise InputError(f"{path}: reading {suffix} needs the `datasets` package (pip install 'grpo-rewards[train]')") from None
    try:
        dataset = load_dataset(suffix.lstrip("."), data_files=str(path), split="train")
    except Exception as exc:
        message = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: could not be read as {suffix}: {message}") from None
    return [dict(r) for r in dataset]


# -- writing ------------------------------------------------------------------------------------
def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it (and put it back at once)
    os.umask(mask)
    return mask


def check_target(path: Path) -> None:
    """Raise InputError unless ``path`` is absent or a regular file: the rename of an atomic write
    would replace a symbolic link, a FIFO, a device or a socket with a regular file, so those are
    refused whatever ``--force`` says (write to the file a link points to by its own name)."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there to replace; creating it is check_writable's question
    except OSError as exc:
        raise InputError(f"{path}: cannot be written ({exc.strerror or exc})") from None
    if stat.S_ISLNK(mode):
        raise InputError(
            f"{path}: is a symbolic link; refusing to replace it with a file (name the file it points to, "
            f"{os.path.realpath(path)}, or remove the link)"
        )
    if stat.S_ISDIR(mode):
        raise InputError(f"{path}: is a folder; give a file name for the output")
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise InputError(f"{path}: is {kind}, not a regular file; outputs are only ever written as regular files")


def check_writable(path: Path) -> None:
    """Raise InputError unless ``path`` can be written (its folder created if missing): before any
    work starts, so an output problem never costs a scoring run."""
    path = Path(path)
    check_target(path)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(f"{path}: cannot be written ({exc.strerror or exc})") from None


@contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """While writing, SIGTERM raises SystemExit so the temporary file is removed (main thread and
    default handler only: a host's own handler is left alone)."""
    installed = False
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)
        if previous == signal.SIG_DFL:

            def on_term(signum: int, frame: Any) -> None:
                raise SystemExit(128 + signum)

            signal.signal(signal.SIGTERM, on_term)
            installed = True
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, previous)


def write_atomically(path: Path, content: str | Iterable[str]) -> None:
    """Write ``content`` (a string or lines) to a temporary file beside ``path``, flush it to disk
    and rename it over ``path``; nothing is left behind on failure, Ctrl-C or SIGTERM. A ``path``
    that is a symbolic link or not a regular file is refused (InputError), never replaced."""
    path = Path(path)
    check_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _terminate_as_exit():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                if isinstance(content, str):
                    handle.write(content)
                else:
                    for line in content:
                        handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            check_target(path)  # again: the target may have changed while the content was written
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    try:  # the rename itself survives a crash only once the folder is synced (best effort)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def shareable_location(location: object) -> str:
    """A file, folder or model location as a shared report shows it: an absolute local path only by
    its last part (``…/tiny-llama``), since reports travel; the full path stays in the run's JSON."""
    text = str(location)
    path = Path(text).expanduser()
    return f"…/{path.name}" if path.is_absolute() else text
