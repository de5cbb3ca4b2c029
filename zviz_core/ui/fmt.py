"""How times, durations, sizes and statuses look on screen."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from zviz_core.enums import ExecutionStatus

STATUS_COLORS = {
    ExecutionStatus.COMPLETED: "green",
    ExecutionStatus.FAILED: "red",
    ExecutionStatus.RUNNING: "blue",
    ExecutionStatus.INTERRUPTED: "orange",
}
STATUS_ICONS = {
    ExecutionStatus.COMPLETED: ":material/check_circle:",
    ExecutionStatus.FAILED: ":material/error:",
    ExecutionStatus.RUNNING: ":material/progress_activity:",
    ExecutionStatus.INTERRUPTED: ":material/pause_circle:",
}


def zone() -> timezone | ZoneInfo:
    """Return the browser's time zone, or UTC when the browser did not say."""
    try:
        name = st.context.timezone
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError, AttributeError):
        return UTC


def _zone_name(local: datetime) -> str:
    name = local.tzname() or "UTC"
    # Zones without an abbreviation name themselves by offset ("+0530"): say what it is from.
    return (
        name if name[:1].isalpha() else f"UTC{local.strftime('%z')[:3]}:{local.strftime('%z')[3:]}"
    )


def when(value: datetime | None) -> str:
    """Return a timestamp in the browser's time zone (UTC when unknown), to the minute, with the
    zone's name ("2026-11-30 11:22 CET"); "-" for None."""
    if value is None:
        return "-"
    local = value.astimezone(zone())
    return f"{local.strftime('%Y-%m-%d %H:%M')} {_zone_name(local)}"


@dataclass(frozen=True)
class At:
    """A timestamp inside a caption()."""

    value: datetime | None


CAPTION_STYLE = "font-size:0.875rem;line-height:1.6;color:rgba(47,45,43,0.72)"


def caption(*parts: str | At, width: Any = "stretch") -> None:
    """Draw a caption of plain-text parts, shown literally (names in it never become markup or
    links), and At timestamps, each shown by when() with its UTC time to the second on hover (a
    title attribute); returns nothing."""
    out = []
    for part in parts:
        if not isinstance(part, At):
            out.append(html.escape(part))
        elif part.value is None:
            out.append("-")
        else:
            utc = part.value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            out.append(f'<span title="{html.escape(utc)}">{html.escape(when(part.value))}</span>')
    st.html(f'<div style="{CAPTION_STYLE}">{"".join(out)}</div>', width=width)


def duration(seconds: float | None) -> str:
    """Return a duration such as '850 ms', '12.3 s', '4 min 05 s' or '2 h 03 min'."""
    if seconds is None:
        return "still running"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def status_badge(status: ExecutionStatus, where: object = None) -> None:
    """Draw a coloured badge for a run or step status (in `where`, default here)."""
    target = where if where is not None else st
    target.badge(  # type: ignore[attr-defined]
        status.value, icon=STATUS_ICONS[status], color=STATUS_COLORS[status], width="content"
    )
