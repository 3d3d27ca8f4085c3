"""The done-when: examples/mixed-rewards.toml (a classifier, the MiniLM similarity, a remote endpoint
and rule-based rewards) scores with `grpo-rewards score`, and a dead endpoint costs only counted Nones."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("transformers")

from grpo_rewards.plugins.reward_model.server import make_server  # noqa: E402

from grpo_rewards import load_config_file, load_reward_set  # noqa: E402
from grpo_rewards.cli import main  # noqa: E402

from .reward_model_support import build_bert_classifier, running  # noqa: E402

pytestmark = pytest.mark.train

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def offline_config(tmp_path: Path, url: str) -> Path:
    """The example with its hub reward model swapped for a tiny local one and the given endpoint."""
    config = load_config_file(EXAMPLES / "mixed-rewards.toml")
    entries = {entry["name"]: entry for entry in config["rewards"]}
    entries["preference"]["params"]["model"] = str(build_bert_classifier(tmp_path / "rm", max_positions=512))
    entries["preference"]["params"]["device"] = "cpu"
    entries["remote"]["params"].update(url=url, backoff=0.01, request_timeout=5.0, total_timeout=20.0)
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(config))
    return path


def score(config: Path, output: Path) -> tuple[list[dict], str]:
    result = CliRunner().invoke(
        main, ["score", str(config), "-i", str(EXAMPLES / "mixed-rewards-rows.jsonl"), "-o", str(output), "--force"]
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in output.read_text().splitlines()], result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_mixed_reward_set_scores_and_survives_a_dead_endpoint(tmp_path):
    names = ["preference", "faithful", "remote", "length", "no_loops"]
    with running(make_server(load_reward_set(EXAMPLES / "remote-rewards.toml"))) as server:
        rows, _ = score(offline_config(tmp_path, server.url), tmp_path / "scored.jsonl")
    assert len(rows) == 4 and all(list(r["rewards"]) == names for r in rows)
    assert all(v is not None for r in rows for v in r["rewards"].values())
    faithful = [r["rewards"]["faithful"] for r in rows]
    assert faithful[0] > faithful[1] and faithful[2] > faithful[3]  # the on-topic summaries win
    assert rows[3]["rewards"]["remote"] < rows[2]["rewards"]["remote"]  # the endpoint's bigram-loop penalty

    dead = offline_config(tmp_path, f"http://127.0.0.1:{free_port()}/score")
    down, summary = score(dead, tmp_path / "scored-down.jsonl")
    assert [r["rewards"]["remote"] for r in down] == [None] * 4
    for name in ("preference", "faithful", "length", "no_loops"):
        assert [r["rewards"][name] for r in down] == pytest.approx([r["rewards"][name] for r in rows], abs=1e-6)
    assert "remote (plugin reward_model): first error: RemoteError: POST http://127.0.0.1:" in " ".join(summary.split())
