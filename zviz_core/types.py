"""String types whose content a step output is visualized as (ZenML's special return types)."""

from __future__ import annotations


class HTMLString(str):
    """A string holding HTML; stored as `report.html` and shown as an HTML visualization."""


class MarkdownString(str):
    """A string holding Markdown; shown as Markdown with raw HTML turned off."""


class CSVString(str):
    """A string holding CSV; shown as a table."""


class JSONString(str):
    """A string holding a JSON document; shown as a collapsible tree."""
