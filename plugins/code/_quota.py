"""The disk quota of one run, checked from outside the program (standalone, stdlib only).

Imported by ``sandbox.py`` for stdin/stdout runs and prepended to ``_runner.py`` for test runs.
RLIMIT_FSIZE bounds each file, not how many there are, so a watcher walks the run's work directory
every few milliseconds and kills the program once its files hold more than the quota (bytes on
disk, or entries). Under bubblewrap the work directory is also a tmpfs of the quota's size, a hard
bound on bytes; the watcher reaches it through ``/proc/<sandbox pid>/root`` and still counts
entries there.
"""

import os
import threading

QUOTA_INTERVAL = 0.02


def disk_usage(path, max_files):
    """(bytes on disk, entries) under ``path``; the walk stops once it has seen more than ``max_files``."""
    used, entries, stack = 0, 0, [path]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as listing:
                for entry in listing:
                    entries += 1
                    if entries > max_files:
                        return used, entries
                    try:
                        info = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    used += info.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            pass
    return used, entries


def _sandbox_pid(info_fd):
    """The pid bubblewrap reports on its --info-fd (its JSON, read without a JSON parser)."""
    data = b""
    with os.fdopen(info_fd, "rb", buffering=0) as source:
        while b"}" not in data and len(data) < 65536:
            chunk = source.read(4096)
            if not chunk:
                break
            data += chunk
    head, _, tail = data.partition(b'"child-pid":')
    digits = tail.split(b",")[0].split(b"}")[0].strip()
    return int(digits) if head and digits.isdigit() else None


class DiskWatch:
    """Kills the run (``kill()``) once ``path`` holds more than ``max_bytes`` or ``max_files``
    entries; ``exceeded`` then says which. With ``info_fd`` (bubblewrap's), ``path`` is looked up
    inside the sandbox's own mount namespace."""

    def __init__(self, path, max_bytes, max_files, kill, info_fd=None):
        self.path, self.max_bytes, self.max_files, self.kill = path, int(max_bytes), int(max_files), kill
        self.info_fd = info_fd
        self.exceeded = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self):
        path = self.path
        if self.info_fd is not None:
            try:
                pid = _sandbox_pid(self.info_fd)
            except (OSError, ValueError):
                pid = None
            if pid is None:
                return
            path = "/proc/" + str(pid) + "/root" + self.path
        while not self.stopped.wait(QUOTA_INTERVAL):
            if self._over(path):
                self.kill()
                return

    def _over(self, path):
        used, entries = disk_usage(path, self.max_files)
        if used > self.max_bytes or entries > self.max_files:
            self.exceeded = (
                "disk quota exceeded: more than "
                + (str(self.max_files) + " files" if entries > self.max_files else str(self.max_bytes >> 20) + " MiB")
                + " in the work directory"
            )
        return self.exceeded is not None

    def stop(self):
        """Stop watching, with one last look at a work directory we can still see: a program that
        writes faster than the watch looks can finish before it is caught, and its run then counts
        as over the quota all the same (the caller passes nothing)."""
        self.stopped.set()
        self.thread.join(5)
        if self.exceeded is None and self.info_fd is None:
            self._over(self.path)
