"""The tutorial's timeline plot: access-token lifetimes, refreshes, rotations and errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .devserver import Event

__all__ = ["plot_timeline"]


def plot_timeline(events: Iterable[Event], ax: Any = None, title: str | None = None) -> Any:
    """Draw access-token lifetimes, refreshes, rotations and errors from ``dev.events``.

    Returns the matplotlib Axes. Times are seconds since the first event.
    """
    import matplotlib.pyplot as plt

    rows = list(events)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3))
    if not rows:
        ax.set_title("no token-endpoint calls yet")
        return ax
    start = rows[0].at
    y = 0
    for event in rows:
        x = event.at - start
        if event.endpoint != "token":
            continue
        if event.error is None and event.expires_at is not None:
            y += 1
            ax.barh(y, event.expires_at - event.at, left=x, height=0.6, color="#8fb8de")
            marker = "D" if event.detail == "rotated" else "o"
            ax.plot(x, y, marker, color="#1f5f99")
        else:
            ax.plot(x, max(y, 1), "x", color="#c0392b", markersize=10)
    ax.set_xlabel("seconds since the first token call")
    ax.set_ylabel("access tokens")
    ax.set_title(title or "access-token lifetimes (bars), refreshes (o), rotations (D), errors (x)")
    return ax
