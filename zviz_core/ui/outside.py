"""Artifact content that could reach other hosts from the app's page (Markdown and Vega-Lite),
made safe to show there: every outside link, image and data URL is taken out and counted."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

# Inline images need no request; everything else (http, relative paths, protocol-relative
# //host, javascript:, other data: types) either reaches the network or runs as a link.
_INLINE_IMAGE = re.compile(r"(?i)^data:image/(png|jpe?g|gif|webp);")
_INLINE_DATA = re.compile(r"(?i)^data:")
# Vega-Lite keys whose string values are fetched (data, image marks) or followed (href).
_FETCHED_KEYS = frozenset({"url", "href"})
# Channels that turn data values into image URLs or links.
_URL_CHANNELS = frozenset({"url", "href"})


@dataclass(frozen=True, slots=True)
class Safe:
    """Content ready to show in the app's page and how many outside references it lost."""

    content: Any
    blocked: int


def blocked_note(blocked: int) -> str:
    """The sentence a tile shows under content that lost `blocked` outside references."""
    things = "reference" if blocked == 1 else "references"
    return (
        f"{blocked:,} outside link, image or data {things} blocked: the app does not let an "
        "artifact reach other sites. Download the file to see them."
    )


# -- Markdown -----------------------------------------------------------------------------------


def _link_open(self: Any, tokens: list[Any], idx: int, options: Any, env: dict) -> str:
    href = tokens[idx].attrGet("href") or ""
    keep = href.startswith("#")  # a jump within the same text reaches nothing
    env.setdefault("links", []).append(keep)
    if keep:
        return self.renderToken(tokens, idx, options, env)
    env["blocked"] = env.get("blocked", 0) + 1
    return '<span class="zviz-blocked-link">'


def _link_close(self: Any, tokens: list[Any], idx: int, options: Any, env: dict) -> str:
    kept = env.get("links", [True]).pop() if env.get("links") else True
    return self.renderToken(tokens, idx, options, env) if kept else "</span>"


def _image(self: Any, tokens: list[Any], idx: int, options: Any, env: dict) -> str:
    token = tokens[idx]
    src = token.attrGet("src") or ""
    if _INLINE_IMAGE.match(src):
        token.attrSet("alt", self.renderInlineAsText(token.children or [], options, env))
        return self.renderToken(tokens, idx, options, env)
    env["blocked"] = env.get("blocked", 0) + 1
    alt = self.renderInlineAsText(token.children or [], options, env)
    return f'<span class="zviz-blocked-image">[image: {html.escape(alt or "untitled")}]</span>'


def _markdown_parser() -> MarkdownIt:
    # Raw HTML is escaped and bare URLs stay text (no linkify): only Markdown syntax makes
    # links or images, and the rules above decide each of those.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    return md


_MD = _markdown_parser()
MARKDOWN_STYLE = (
    "<style>"
    ".zviz-md{overflow-wrap:anywhere}"
    ".zviz-md table{border-collapse:collapse;margin:0.5rem 0}"
    ".zviz-md th,.zviz-md td{border:1px solid rgba(49,51,63,0.2);padding:0.25rem 0.5rem}"
    ".zviz-md img{max-width:100%}"
    ".zviz-md .zviz-blocked-image{color:rgba(49,51,63,0.6);font-style:italic}"
    "</style>"
)


def markdown_html(text: str) -> Safe:
    """Return the Markdown `text` as HTML for st.html, with raw HTML escaped, bare URLs left as
    text, links kept only within the text (#anchors), and images kept only when inline
    (data:image/png, jpeg, gif or webp); each link or image taken out is counted."""
    env: dict[str, Any] = {}
    body = _MD.render(text, env)
    return Safe(f'{MARKDOWN_STYLE}<div class="zviz-md">{body}</div>', int(env.get("blocked", 0)))


# -- Vega-Lite ----------------------------------------------------------------------------------


def _allowed(key: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if key == "href":
        return False  # a link, wherever it points
    return bool(_INLINE_DATA.match(value))


def _clean(node: Any, counter: list[int], parent: str = "") -> Any:
    if isinstance(node, list):
        return [_clean(item, counter) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned: dict[str, Any] = {}
    for key, value in node.items():
        if key == "usermeta":
            # vega-embed reads usermeta.embedOptions (loader base URL, renderer, actions).
            counter[0] += 1
        elif parent == "encoding" and key in _URL_CHANNELS:
            counter[0] += 1  # data values become image URLs or links
        elif key in _FETCHED_KEYS and not isinstance(value, dict | list):
            if _allowed(key, value):
                cleaned[key] = value
            else:
                counter[0] += 1
        else:
            cleaned[key] = _clean(value, counter, key)
    if parent == "data" and "url" in node and "url" not in cleaned:
        # A data source without its URL would make Vega-Lite fail: show an empty chart.
        cleaned = {k: v for k, v in cleaned.items() if k == "name"} | {"values": []}
    return cleaned


def vega_lite_spec(spec: dict[str, Any]) -> Safe:
    """Return a copy of a Vega-Lite spec that makes no request from the app's page: `url` and
    `href` values other than inline data URLs go (a data source that loses its URL becomes
    empty), so do the `url` and `href` encoding channels and `usermeta`; each is counted."""
    counter = [0]
    cleaned = _clean(spec, counter)
    return Safe(cleaned, counter[0])
