"""Run import-linter's contracts (pyproject.toml) on the package as it is installed.

``plugins/`` and ``trainer/`` are installed as ``grpo_rewards.plugins`` and
``grpo_rewards.trainer`` through setuptools' package-dir mapping, which grimp (import-linter's
graph builder) cannot follow: it only walks the folder of a top-level package. So the three
folders are copied into one ``grpo_rewards`` tree in a temporary folder, which is put first on
the path, and lint-imports checks that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYOUT = {"grpo_rewards": "grpo_rewards", "plugins": "grpo_rewards/plugins", "trainer": "grpo_rewards/trainer"}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="grpo-rewards-layers-") as staging:
        for source, target in LAYOUT.items():
            shutil.copytree(REPO / source, Path(staging) / target, ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([staging, os.environ.get("PYTHONPATH", "")])}
        command = [
            str(Path(sys.executable).with_name("lint-imports")),
            "--config",
            str(REPO / "pyproject.toml"),
            "--no-cache",
            *sys.argv[1:],
        ]
        return subprocess.call(command, cwd=staging, env=env)


if __name__ == "__main__":
    sys.exit(main())
