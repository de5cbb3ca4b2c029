"""Errors shown where they happen: a failing part of a page becomes a message in that part."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

import streamlit as st

from zviz_core.errors import ZvizError

log = logging.getLogger("zviz.ui")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")
# Streamlit's Markdown (remark-gfm) turns bare URLs and e-mail addresses into links after
# backslash escapes are resolved, so escaping cannot stop it; an invisible word joiner inside
# the trigger ("http", "www", "@") does, and the text still reads the same.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|xmpp|www)(?=\\?[:.])|(@)")
WORD_JOINER = "\u2060"


def md_escape(text: str) -> str:
    """Return `text` escaped so that st.markdown shows it literally: no HTML, styling or links,
    bare URLs and e-mail addresses included."""
    escaped = _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " "))
    return _AUTOLINK.sub(lambda m: m.group(0) + WORD_JOINER, escaped)


def show_error(exc: BaseException, box: Any = None, what: str = "This part of the page") -> None:
    """Show `exc` in `box` (default: here): a ZvizError's own message, otherwise a generic one.

    The message is shown literally: it may quote a URL parameter, a name or a path, none of
    which may become a link. Unexpected errors are logged with their traceback and never shown.
    """
    target = box if box is not None else st
    if isinstance(exc, ZvizError):
        target.error(md_escape(str(exc)), icon=":material/error:")
    else:
        log.error("zviz: %s failed", what, exc_info=exc)
        target.error(
            f"{what} could not be shown because of an unexpected error; the app's log has the "
            "details.",
            icon=":material/error:",
        )


@contextlib.contextmanager
def contained(box: Any = None, what: str = "This part of the page") -> Iterator[None]:
    """Run a block of rendering; any error in it becomes a message in `box` instead of spreading.

    st.stop()/st.rerun() pass through (they are BaseExceptions, not Exceptions).
    """
    try:
        yield
    except Exception as exc:
        show_error(exc, box, what)
