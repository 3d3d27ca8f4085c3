"""``grpo-rewards bench``: does a reward set measure what you think, before you train?

On held-out prompts it scores real completions (pre-generated, or sampled from a model with the
trainer's sampling settings), then reports per-reward statistics, within-group spread, agreement
with gold labels, each reward's share of the advantage, group-size guidance, hackability probes
and, with ``--compare``, before/after deltas with bootstrap confidence intervals.

Every module here is torch-free at import; model code loads inside :mod:`.generate` functions.
The entry point for code is :func:`grpo_rewards.bench.run.run_bench`.
"""
