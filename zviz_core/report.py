"""One shared stylesheet and helpers that wrap HTML step outputs in complete, consistent documents."""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from zviz_core.types import HTMLString

if TYPE_CHECKING:
    import pandas as pd

# Colours are CSS variables so a team can restyle every report with one `extra_css` override,
# e.g. `:root { --zviz-accent: #7c3aed; }`.
STYLESHEET = """
:root {
  --zviz-font: "Source Sans Pro", "Source Sans 3", system-ui, -apple-system, "Segoe UI",
    Roboto, "Helvetica Neue", Arial, sans-serif;
  --zviz-mono: "Source Code Pro", ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  --zviz-text: #262730;
  --zviz-muted: #6b6f80;
  --zviz-bg: #ffffff;
  --zviz-surface: #f6f7fb;
  --zviz-border: #e2e4ec;
  --zviz-accent: #ff4b4b;
  --zviz-good: #1f9d55;
  --zviz-warn: #c98a00;
  --zviz-bad: #d64545;
  --zviz-radius: 8px;
  color-scheme: light;
}
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: var(--zviz-bg); }
body {
  font-family: var(--zviz-font); color: var(--zviz-text);
  font-size: 15px; line-height: 1.5; padding: 16px 20px;
}
main.zviz-report { max-width: 1100px; margin: 0 auto; }
h1, h2, h3 { line-height: 1.25; margin: 1.2em 0 0.5em; }
h1 { font-size: 1.6rem; margin-top: 0.2em; }
h2 { font-size: 1.25rem; border-bottom: 1px solid var(--zviz-border); padding-bottom: 0.25em; }
h3 { font-size: 1.05rem; }
p { margin: 0.5em 0; }
a { color: var(--zviz-accent); }
code, pre { font-family: var(--zviz-mono); font-size: 0.9em; }
pre {
  background: var(--zviz-surface); border: 1px solid var(--zviz-border);
  border-radius: var(--zviz-radius); padding: 10px 12px; overflow-x: auto;
}
img { max-width: 100%; height: auto; }
.zviz-muted { color: var(--zviz-muted); font-size: 0.9em; }
.zviz-cards {
  display: grid; gap: 12px; margin: 12px 0 20px;
  grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
}
.zviz-card {
  background: var(--zviz-surface); border: 1px solid var(--zviz-border);
  border-radius: var(--zviz-radius); padding: 10px 14px;
}
.zviz-card .zviz-label {
  color: var(--zviz-muted); font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.04em;
}
.zviz-card .zviz-value { font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.zviz-table-wrap { overflow-x: auto; margin: 8px 0 16px; }
table.zviz-table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
table.zviz-table th, table.zviz-table td {
  border-bottom: 1px solid var(--zviz-border); padding: 6px 10px; text-align: left;
}
table.zviz-table td { font-variant-numeric: tabular-nums; }
table.zviz-table thead th { background: var(--zviz-surface); font-weight: 600; }
table.zviz-table tbody tr:hover { background: var(--zviz-surface); }
.zviz-badge {
  display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 0.8rem;
  font-weight: 600; border: 1px solid currentColor;
}
.zviz-good { color: var(--zviz-good); }
.zviz-warn { color: var(--zviz-warn); }
.zviz-bad { color: var(--zviz-bad); }
.zviz-figure { margin: 12px 0; text-align: center; }
.zviz-figure figcaption { color: var(--zviz-muted); font-size: 0.85rem; margin-top: 4px; }
""".strip()

_STYLE_END = re.compile(r"</\s*style", re.IGNORECASE)


def html_report(body: str, title: str | None = None, extra_css: str = "") -> HTMLString:
    """Wrap an HTML fragment in a complete, self-contained document using STYLESHEET.

    `body` is trusted HTML and is inserted as it is; `title` is plain text and is escaped (it
    becomes the document's <title> and an <h1>). `extra_css` is appended after the shared
    stylesheet, so it can override its variables and rules.

    Returns an HTMLString (stored and shown as an HTML visualization when a step returns it).
    Raises ValueError when `extra_css` contains `</style`, which would end the style element.
    """
    if _STYLE_END.search(extra_css):
        raise ValueError("extra_css must not contain '</style'; pass plain CSS rules only.")
    escaped = html.escape(title) if title else ""
    heading = f"<h1>{escaped}</h1>\n" if title else ""
    css = STYLESHEET + ("\n" + extra_css.strip() if extra_css.strip() else "")
    return HTMLString(
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escaped or 'zviz report'}</title>\n"
        f"<style>\n{css}\n</style>\n</head>\n<body>\n"
        f'<main class="zviz-report">\n{heading}{body}\n</main>\n</body>\n</html>\n'
    )


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def metric_cards(metrics: Mapping[str, object]) -> str:
    """Return an HTML fragment with one card per metric: its name and its formatted value.

    Floats show three decimals, integers thousands separators; names and values are escaped.
    """
    cards = "".join(
        '<div class="zviz-card">'
        f'<div class="zviz-label">{html.escape(str(name))}</div>'
        f'<div class="zviz-value">{html.escape(_format(value))}</div>'
        "</div>"
        for name, value in metrics.items()
    )
    return f'<div class="zviz-cards">{cards}</div>'


def table(df: pd.DataFrame, max_rows: int = 50, index: bool = True, float_digits: int = 3) -> str:
    """Return an HTML fragment showing at most `max_rows` rows of `df` as a styled table.

    Cell values and headers are escaped. When rows are left out, a note below says how many.
    Raises ValueError when `max_rows` is less than 1.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, not {max_rows}.")
    shown = df.head(max_rows)
    markup = shown.to_html(
        classes="zviz-table",
        border=0,
        index=index,
        escape=True,
        float_format=lambda x: f"{x:.{float_digits}f}",
    )
    note = ""
    if len(df) > max_rows:
        note = f'<p class="zviz-muted">First {max_rows:,} of {len(df):,} rows.</p>'
    return f'<div class="zviz-table-wrap">{markup}</div>{note}'


def figure(png: bytes, alt: str, caption: str | None = None) -> str:
    """Return an HTML fragment embedding PNG bytes as a data URI, so the report stays one file.

    `alt` and `caption` are plain text and are escaped.
    """
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        '<figure class="zviz-figure">'
        f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">{cap}</figure>'
    )
