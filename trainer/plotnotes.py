"""What an empty plot panel says: the training report's plots share one wording."""

from __future__ import annotations

from typing import Any


def no_data(ax: Any) -> None:
    """An empty panel says so, instead of showing bare axes."""
    ax.text(0.5, 0.5, "no data logged", transform=ax.transAxes, ha="center", va="center", color="grey")
