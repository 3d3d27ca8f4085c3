"""Self-contained HTML reports: the typed model of a group browser, and the page pieces (escaping,
tables, inline images and SVG curves, the browser's script) shared by the bench and the trainer.

Nothing here reads a report folder or knows a reward: the bench (grpo_rewards/bench/html.py) and the
trainer (trainer/report_html.py) fill the model and choose the sections.
"""

from .model import MAX_GROUPS, MAX_TEXT, Browser, CompletionView, GroupView, SideView, bound_groups, clip_text
from .page import data_script, figure, inline_png, page, svg_curves, table

__all__ = [
    "MAX_GROUPS",
    "MAX_TEXT",
    "Browser",
    "CompletionView",
    "GroupView",
    "SideView",
    "bound_groups",
    "clip_text",
    "data_script",
    "figure",
    "inline_png",
    "page",
    "svg_curves",
    "table",
]
