"""``grpo-rewards attack``: completions a policy could drift into, built from each row's gold and
each reward's declared kind and answer domain, scored by the reward set; what each reward pays for
them, per attack class, with a 95% interval.

- :mod:`.model`: what an attack and an answer domain are (plugins register both through the
  ``register_attacks`` hook);
- :mod:`.domains`, :mod:`.forms`, :mod:`.generic`: the core's domains, answer forms and attack classes;
- :mod:`.plan`: which attacks each reward gets, built per row (seeded);
- :mod:`.run`: the one scoring call, the per-kind "paid" rule, the report;
- :mod:`.cli`: the command.

Only the types are imported here (the registry needs them); the generator is
``grpo_rewards.attack.run.run_attacks``.
"""

from ..attack_types import AnswerDomain, AnswerForm, Attack, AttackContext

__all__ = ["AnswerDomain", "AnswerForm", "Attack", "AttackContext"]
