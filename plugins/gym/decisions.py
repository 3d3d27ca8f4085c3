"""How each reasoning-gym task is scored, decided by the audit (:mod:`.audit`), not trusted.

- ``task``: the task's own scorer (partial credit where it gives it), behind the bounds of
  :func:`.strict.unbounded`. The audit found no attack it pays more than a wrong answer.
- ``strict``: exact match of the normalised answer against the gold (:mod:`.strict`). For every
  task on reasoning-gym's default scorer (exact match, else ``len(gold) / len(answer)`` whenever
  the gold is a substring: a hedge or the gold with junk around it is paid), and for the tasks below
  whose own scorer pays an attack while the gold is the one right answer.
- ``refused``: not offered (see :data:`REFUSED`): the scorer pays an attack and several answers are
  right, so exact match against the gold would refuse correct work.

reasoning-gym 0.1.25 is pinned; ``tests/test_gym_audit.py`` runs the audit on every offered task.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SCORER = "reasoning-gym's default scorer pays the gold inside any longer answer (len(gold) / len(answer))"

# Own scorers that pay an attack, with a unique gold: scored strictly. Measured by the audit.
TUPLE_BOARD = "its scorer compares with a tuple that the row's JSON metadata makes a list: even the gold scored 0.05"
STRICT = {
    "arc_agi": TUPLE_BOARD,
    "rearc": TUPLE_BOARD,
    "advanced_geometry": "reads the first coordinates of a hedge: two points score 1.0",
    "calendar_arithmetic": "pays any weekday 0.1 and a day count near the gold up to 0.99 (exp(-5 x relative error))",
    "chain_sum": DEFAULT_SCORER + " when the gold is not read as a number",
    "coin_flip": "pays the matching prefix of a probability (0 for a small one: about 0.9) and within 1e-4 absolute",
    "complex_arithmetic": "pays exp(-distance) to any complex number",
    "figlet_font": "pays 0.1 per letter in place: a constant word or the gold with junk",
    "fraction_simplification": "reads the first fraction of a hedge and pays the unsimplified fraction 0.1",
    "game_of_life": "pays the share of cells right: another row's grid, mostly dead cells, scored 0.98",
    "game_of_life_halting": "compares bool(answer) with bool(gold): any non-empty answer scores 1.0",
    "gsm_symbolic": "reads the first number of the answer: a hedge or the gold with junk scores 1.0",
    "letter_jumble": "pays the share of words right, extra words free: a hedge scores 1.0",
    "manipulate_matrix": DEFAULT_SCORER,
    "mini_sudoku": "pays the share of cells right and ignores characters that are not digits",
    "polynomial_equations": "pays exp(-distance) for the nearest root: a constant earns a share",
    "pool_matrix": "pays 0.1 for any grid of the gold's shape",
    "prime_factorization": "pays 0.5 for any factors whose product is the number (the number itself)",
    "products": DEFAULT_SCORER + " when the answer is not read as a number: `390 391` scores 0.43 for 390",
    "rectangle_count": "pays a count near the gold up to 0.64: a constant earns a share",
    "spell_backward": "pays the share of letters in place, extra letters free",
    "sudoku": "pays the share of cells right and ignores characters that are not digits",
    "survo": "reads only the grid's numbers: the gold with junk scores 1.0",
    "time_intervals": "pays a time near the gold and reads the first number: a hedge scores 1.0",
    "emoji_mystery": "pays the share of characters in place for any answer of the gold's length",
    "futoshiki": "pays the share of cells right and ignores characters that are not digits",
    "knights_knaves": "reads only the names and roles it knows: the gold with junk scores 1.0 (strictly, the "
    "names come in the gold's order)",
    "sentence_reordering": "pays the share of words in place for any answer of the gold's word count",
    "word_sequence_reversal": DEFAULT_SCORER,
    "word_sorting": "pays the share of words in place",
}

# Strict tasks whose own scorer ignores case in the answer: strict scoring does too.
FOLD_CASE = frozenset(
    {"figlet_font", "letter_jumble", "spell_backward", "knights_knaves", "game_of_life_halting", "sentence_reordering"}
)

# Own scorers that pay an attack where more than one answer is right: not offered.
FORMAT_CREDIT = "its scorer pays any parseable answer (`[]`, a constant) and accepts several right answers"
REFUSED = {
    "boxnet": FORMAT_CREDIT + " (0.05 for `[]`)",
    "graph_color": FORMAT_CREDIT + " (0.01 for `[]`)",
    "jugs": "its scorer accepts any move list that passes through the target amount (another row's solution "
    "scored 1.0), so the gold is not the only right answer",
    "knight_swap": FORMAT_CREDIT + " (0.05 for `[]`)",
    "propositional_logic": FORMAT_CREDIT + " (0.25 for a trivial conclusion, 0.05 for a constant)",
    "rubiks_cube": FORMAT_CREDIT + " (0.01 for any text)",
    "rush_hour": FORMAT_CREDIT + " (0.01 for any text)",
    "tower_of_hanoi": FORMAT_CREDIT + " (0.05 for any legal moves that do not solve it)",
    "kakurasu": "its scorer reads only the grid's digits (the gold with junk scores 1.0) and accepts any grid "
    "with the right sums, so the gold is not the only right answer",
    "quantum_lock": "its scorer keeps only the letters A-C (the gold with junk scores 1.0) and accepts any "
    "sequence that reaches the target, so the gold is not the only right answer",
    "sokoban": "its scorer ignores characters that are not moves and accepts any sequence that solves the "
    "puzzle (another row's solution scored 1.0), so the gold is not the only right answer",
    "tsumego": "its scorer pays a hedge of two moves 0.5, and several moves can be right",
}


@dataclass(frozen=True)
class Decision:
    kind: str  # task, strict or refused
    reason: str = ""


def decide(task: str, default_scorer: bool) -> Decision:
    """How ``task`` is scored; ``default_scorer`` says it uses reasoning-gym's default scorer."""
    if task in REFUSED:
        return Decision("refused", REFUSED[task])
    if task in STRICT:
        return Decision("strict", STRICT[task])
    if default_scorer:
        return Decision("strict", DEFAULT_SCORER)
    return Decision("task")
