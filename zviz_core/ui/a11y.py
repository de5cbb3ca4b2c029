"""Accessibility helpers: icon-only buttons that still have a name a screen reader can read."""

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


def style() -> None:
    """Add the page style that hides icon-only buttons' labels visually (not from screen
    readers); returns nothing. Call once per run, anywhere on the page."""
    selectors = ",".join(
        f'[class*="st-key-{prefix}"] button [data-testid="stMarkdownContainer"]'
        for prefix in ICON_ONLY_KEYS
    )
    st.html(f"<style>{selectors}{{{_VISUALLY_HIDDEN}}}</style>")
