"""The core stays light: importing it and scoring with rule-based rewards never imports torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_core_and_rule_based_scoring_do_not_import_torch():
    script = textwrap.dedent("""
        import sys
        import grpo_rewards
        from grpo_rewards import Row, get_registry, parse_reward_set, score_rows
        from grpo_rewards.cli import main
        registry = get_registry()
        entries = [{"use": name} for name, spec in registry.rewards.items() if not spec.name.startswith(("reward_model.", "judge."))]
        reward_set = parse_reward_set(entries)
        columns = {c: "42" for cols in reward_set.required_columns().values() for c in cols}
        score_rows(reward_set, [Row("<think>6*7=42</think><answer>42</answer>", "q", columns)])
        print(len(entries), "torch" in sys.modules, "transformers" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    count, torch_loaded, transformers_loaded = result.stdout.split()
    assert int(count) >= 5
    assert (torch_loaded, transformers_loaded) == ("False", "False")
