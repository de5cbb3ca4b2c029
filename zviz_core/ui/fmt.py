"""How times, durations, sizes and statuses look on screen."""

from __future__ import annotations

from datetime import UTC, datetime, timezone
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


def when(value: datetime | None) -> str:
    """Return a timestamp in the browser's time zone (UTC when unknown), to the minute."""
    if value is None:
        return "-"
    tz = zone()
    local = value.astimezone(tz)
    suffix = " UTC" if tz is UTC else ""
    return local.strftime("%Y-%m-%d %H:%M") + suffix


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
