"""Accessibility helpers: icon-only buttons that still have a name a screen reader can read, and
text colours dark enough to read (WCAG AA contrast, checked with axe-core in the browser tests)."""

from __future__ import annotations

import streamlit as st

# Widgets whose key starts with one of these show only their icon; their label stays in the
# page for screen readers (Streamlit 1.67 names an unlabelled icon button after its icon,
# "more_vert icon").
ICON_ONLY_KEYS = ("tile-menu-", "tile-dl-")

_VISUALLY_HIDDEN = (
    "position:absolute !important;width:1px !important;height:1px !important;"
    "overflow:hidden !important;clip-path:inset(50%) !important;white-space:nowrap !important;"
)

# Streamlit 1.67's light theme fades captions to about 3.9:1 and st.json's Solarized values to
# 3.0-4.5:1 against white; AA asks for 4.5:1. Each colour here is a darker one of the same hue.
_JSON_COLOURS = {
    "133, 153, 0": "#5f6d00",
    "38, 139, 210": "#1a6da8",
    "220, 50, 47": "#b3211e",
    "203, 75, 22": "#a83c10",
    "42, 161, 152": "#1c7069",
    "108, 113, 196": "#5257a8",
}
_CONTRAST = (
    '[data-testid="stCaptionContainer"]{opacity:1 !important;color:#5c5b5a !important}'
    '[data-testid="stCaptionContainer"] code{color:#5c5b5a !important}'
    + "".join(
        f'.pretty-json-container [style*="color: rgb({rgb})"]{{color:{dark} !important}}'
        for rgb, dark in _JSON_COLOURS.items()
    )
)


def style() -> None:
    """Add the page style that hides icon-only buttons' labels visually (not from screen
    readers); returns nothing. Call once per run, anywhere on the page."""
    selectors = ",".join(
        f'[class*="st-key-{prefix}"] button [data-testid="stMarkdownContainer"]'
        for prefix in ICON_ONLY_KEYS
    )
    st.html(f"<style>{selectors}{{{_VISUALLY_HIDDEN}}}{_CONTRAST}</style>")
