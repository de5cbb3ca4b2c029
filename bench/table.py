"""The pieces both benchmark commands print with: figure formatting, the table, the load."""

from __future__ import annotations

import os
from collections.abc import Sequence


def fmt(value: float | None, unit: str) -> str:
    """A figure with its unit: seconds, milliseconds, megabytes, or a ratio ("x")."""
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.2f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:.2f}"


def render(header: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """Rows of already formatted cells as an aligned, pipe-separated table under `header`."""
    table = [tuple(header), *(tuple(row) for row in cells)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(lines)


def load_average() -> float | None:
    """The 1-minute load average, where the platform has one."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
