"""List building blocks: filters kept in the URL, pagination, and resource rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import streamlit as st

from zviz_core.ui import nav

PAGE_SIZE = 20


PAGE_MAX = 1_000_000  # far past any list; larger numbers overflow the store's OFFSET


def current_page(param: str = "page", *, warn: bool = False) -> int:
    """Return the 1-based page number from the URL: 1 when absent, and 1 with a warning (when
    `warn`) when it is not a whole number from 1 to PAGE_MAX."""
    raw = nav.param(param)
    if raw is None:
        return 1
    text = raw.strip()
    # Checked before int(): 5,000 digits would raise inside int() itself.
    if text.isascii() and text.isdigit() and len(text) <= len(str(PAGE_MAX)):
        number = int(text)
        if 1 <= number <= PAGE_MAX:
            return number
    if warn:
        st.warning(
            "The page number in this address is not a page of this list; showing the first page.",
            icon=":material/warning:",
        )
    return 1


def _changed(key: str, param: str, to_url: Callable[[Any], str | None], reset: Sequence[str]):
    def callback() -> None:
        nav.set_params(**{param: to_url(st.session_state.get(key))}, **dict.fromkeys(reset))

    return callback


def url_selectbox(
    label: str,
    options: Sequence[str],
    *,
    param: str,
    key: str,
    reset: Sequence[str] = ("page",),
    **kwargs: Any,
) -> str:
    """Draw a selectbox whose value lives in the URL parameter `param`; returns the value.

    `options[0]` stands for "no filter" and removes the parameter. Changing it removes the
    parameters in `reset` (by default the page number).
    """
    wanted = nav.param(param)
    st.session_state[key] = wanted if wanted in options else options[0]
    return st.selectbox(
        label,
        options,
        key=key,
        on_change=_changed(key, param, lambda v: v or None, reset),
        **kwargs,
    )


def url_text_input(
    label: str, *, param: str, key: str, reset: Sequence[str] = ("page",), **kwargs: Any
) -> str:
    """Draw a text input whose value lives in the URL parameter `param`; returns it stripped."""
    st.session_state[key] = nav.param(param) or ""
    value = st.text_input(
        label,
        key=key,
        on_change=_changed(key, param, lambda v: (v or "").strip() or None, reset),
        **kwargs,
    )
    return (value or "").strip()


def url_date_input(
    label: str, *, param: str, key: str, reset: Sequence[str] = ("page",), **kwargs: Any
) -> date | None:
    """Draw an optional date input kept in the URL as YYYY-MM-DD; returns the date or None."""
    try:
        wanted = date.fromisoformat(nav.param(param) or "")
    except ValueError:
        wanted = None
    st.session_state[key] = wanted
    return st.date_input(
        label,
        value=None,
        key=key,
        on_change=_changed(key, param, lambda v: v.isoformat() if v else None, reset),
        **kwargs,
    )


def paginator(total: int, size: int = PAGE_SIZE, *, key: str, param: str = "page") -> None:
    """Draw page buttons kept in the URL (`param`) when `total` items need more than one page."""
    pages = max(1, -(-total // size))
    if pages <= 1:
        return
    current = min(current_page(param), pages)
    # The key carries the page so that a page number from the URL is the widget's default.
    widget_key = f"{key}-{current}"
    st.pagination(
        pages,
        default=current,
        key=widget_key,
        on_change=_changed(widget_key, param, lambda v: None if not v or v == 1 else str(v), ()),
    )


def rows(items: Sequence[Any], draw: Callable[[Any], None], *, key: str) -> None:
    """Draw the items in one bordered box, each with `draw(item)`."""
    with st.container(border=True, key=key, gap="xsmall"):
        for item in items:
            draw(item)
