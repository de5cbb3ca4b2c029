"""One renderer per visualization type; whatever goes wrong stays inside that visualization's box."""

from __future__ import annotations

import html
import io
import json
import logging
import os
import posixpath
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from zviz_core.artifacts.store import is_remote
from zviz_core.client import Client
from zviz_core.enums import VisualizationType
from zviz_core.errors import ArtifactLoadError, ArtifactStoreUnreachableError, ArtifactTooLargeError
from zviz_core.models import ArtifactVisualizationResponse
from zviz_core.settings import settings
from zviz_core.ui import outside
from zviz_core.ui.notices import contained, md_escape

log = logging.getLogger("zviz.ui")

MB = 1_000_000
TILE_HEIGHT = 420
EXPANDED_HEIGHT = 760
# An HTML report is as tall as its content, at least this and at most the height it is given
# (TILE_HEIGHT in a tile, HTML_TILE_MAX_HEIGHT on a dashboard), then it scrolls.
MIN_HTML_HEIGHT = 120
HTML_TILE_MAX_HEIGHT = 640
# Bigger files are not sent to the browser whole (a 24 MB HTML tile took 27 s over the
# websocket): CSVs get a preview, the rest a notice and a download.
INLINE_LIMITS: dict[VisualizationType, int] = {
    VisualizationType.HTML: 5 * MB,
    VisualizationType.IMAGE: 20 * MB,
    VisualizationType.CSV: 5 * MB,
    VisualizationType.MARKDOWN: 2 * MB,
    VisualizationType.JSON: 5 * MB,
    VisualizationType.VEGA_LITE: 5 * MB,
}
# What the app reads into its memory for one download; ZVIZ_DOWNLOAD_LIMIT_MB changes it.
DOWNLOAD_LIMIT_ENV = "ZVIZ_DOWNLOAD_LIMIT_MB"
CSV_PREVIEW_ROWS = 500
# A table this wide already needs sideways scrolling; hundreds of thousands of columns took
# 27 s of CPU and 1.6 GB to show whole.
CSV_PREVIEW_COLUMNS = 100
# A CSV's first bytes decide how it is previewed, and DuckDB reads remote CSVs only with its
# httpfs extension: a remote or very wide CSV is previewed from this much of its start.
CSV_HEAD_BYTES = 2 * MB
REMOTE_CSV_PREVIEW_BYTES = CSV_HEAD_BYTES
MAX_PIXELS = 40_000_000
JSON_FULLY_EXPANDED_CHARS = 20_000
# Longer Markdown or JSON scrolls inside a fixed-height tile; shorter keeps its natural height.
SHORT_TEXT_CHARS = 1_500
SHORT_TEXT_LINES = 25
SHORT_JSON_CHARS = 600  # a JSON tree takes a line per value
# st.image scales wider images down to this on every run; zviz does it once, cached.
MAX_IMAGE_WIDTH = 2 * 730
LABELS = {
    VisualizationType.HTML: "HTML",
    VisualizationType.IMAGE: "Image",
    VisualizationType.CSV: "CSV",
    VisualizationType.MARKDOWN: "Markdown",
    VisualizationType.JSON: "JSON",
    VisualizationType.VEGA_LITE: "Chart",
}
BADGE_COLORS = {
    VisualizationType.HTML: "orange",
    VisualizationType.IMAGE: "violet",
    VisualizationType.CSV: "blue",
    VisualizationType.MARKDOWN: "gray",
    VisualizationType.JSON: "green",
    VisualizationType.VEGA_LITE: "red",
}
MIMES = {
    VisualizationType.HTML: "text/html",
    VisualizationType.IMAGE: "application/octet-stream",
    VisualizationType.CSV: "text/csv",
    VisualizationType.MARKDOWN: "text/markdown",
    VisualizationType.JSON: "application/json",
    VisualizationType.VEGA_LITE: "application/json",
}
EXPAND_KEY = "zviz.expand"
T = TypeVar("T")


def download_limit() -> int:
    """Return the largest file, in bytes, the app reads into memory for one download or
    preview: ZVIZ_DOWNLOAD_LIMIT_MB megabytes (default 200). A value that is not a positive
    number is logged and the default used."""
    return int(settings().DOWNLOAD_LIMIT_MB * MB)


def inline_limit(vtype: VisualizationType) -> int:
    """Return the largest file of a type shown whole in the app (never above the download
    limit: showing a file reads it into memory just as downloading it does)."""
    return min(INLINE_LIMITS[vtype], download_limit())


def _mb(size: int) -> str:
    return f"{size / MB:,.1f} MB" if size < 10 * MB else f"{size / MB:,.0f} MB"


# -- remembered failures ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Failed:
    """What a cached preparation returns instead of raising, so that a file that failed once is
    not read and parsed again on every rerun (a 100 MB one-line CSV took 20 s to fail)."""

    message: str


def _remembered(work: Callable[[], T], what: str) -> T | _Failed:
    try:
        return work()
    except ArtifactStoreUnreachableError:
        raise  # the store may be back on the next run: nothing to remember
    except ArtifactLoadError as exc:
        return _Failed(str(exc))
    except Exception:
        log.exception("zviz: preparing %s failed", what)
        return _Failed(
            f"{what} could not be shown because of an unexpected error; the app's log has the "
            "details."
        )


def _unwrap(result: T | _Failed) -> T:
    if isinstance(result, _Failed):
        raise ArtifactLoadError(result.message)
    return result


# -- reading files ------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, ttl=60, max_entries=1024)
def _remote_size(_client: Client, viz: ArtifactVisualizationResponse) -> int:
    return _client.visualization_size(viz)


def file_size(client: Client, viz: ArtifactVisualizationResponse) -> int:
    """Return the size in bytes of a visualization file (remote sizes cached for a minute);
    raises ArtifactLoadError when it is missing and ArtifactStoreUnreachableError when the
    store cannot be reached."""
    return _remote_size(client, viz) if is_remote(viz.uri) else client.visualization_size(viz)


def _load(client: Client, viz: ArtifactVisualizationResponse) -> str | bytes:
    return client.load_visualization_content(viz, max_bytes=inline_limit(viz.type)).value


def _text(client: Client, viz: ArtifactVisualizationResponse) -> str:
    value = _load(client, viz)
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


# Each prepared value is cached per user and visualization: the Client checked access when it
# returned `viz`, and a file behind a visualization id never changes.


@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def _sandbox_document(
    user: str, viz_id: str, uri: str, max_height: int, _client: Client, _viz: Any
) -> str:
    return sandbox_document(_text(_client, _viz), max_height)


# Runs inside the sandbox, with the report: it only tells the frame around it how tall the
# report is. The report could send the same message itself; the frame only ever takes a number
# from it, within bounds.
_HEIGHT_REPORTER = (
    "<script>(function(){function s(){var d=document.documentElement,b=document.body;"
    "var h=Math.max(d.getBoundingClientRect().height,b?b.scrollHeight:0);"
    'parent.postMessage({zvizHeight:Math.ceil(h)},"*");}'
    'addEventListener("load",s);setTimeout(s,0);'
    "if(window.ResizeObserver){new ResizeObserver(s).observe(document.documentElement);}"
    "})();</script>"
)


def sandbox_document(content: str, max_height: int = TILE_HEIGHT) -> str:
    """Return an outer HTML document whose only content is `content` in a sandboxed iframe,
    as tall as the content up to `max_height` pixels (then the content scrolls), with a
    full-screen button.

    The inner frame gets `sandbox="allow-scripts"` and no `allow-same-origin`: its scripts run
    (self-contained reports keep working) in an opaque origin that cannot touch the app page,
    its cookies or its storage. The outer document accepts one thing from it: a height, as a
    number, clamped to [MIN_HTML_HEIGHT, max_height].
    """
    escaped = html.escape(content + _HEIGHT_REPORTER, quote=True)
    low = min(MIN_HTML_HEIGHT, max_height)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        "html,body{margin:0;padding:0;overflow:hidden;background:#fff}"
        f"#zviz-report{{border:0;width:100%;height:{low}px;display:block}}"
        "#zviz-full{position:absolute;top:4px;right:4px;font:12px sans-serif;opacity:.75;"
        "border:1px solid #ccc;border-radius:4px;background:#fff;cursor:pointer;padding:2px 6px}"
        "#zviz-full:hover,#zviz-full:focus{opacity:1}"
        '</style></head><body><iframe id="zviz-report" sandbox="allow-scripts" '
        'referrerpolicy="no-referrer" allow="fullscreen" title="HTML visualization" '
        f'srcdoc="{escaped}"></iframe>'
        '<button id="zviz-full" type="button" aria-label="Show this report full screen" '
        "hidden>Full screen</button><script>(function(){"
        'var f=document.getElementById("zviz-report"),b=document.getElementById("zviz-full");'
        f"var low={low},high={int(max_height)};"
        'addEventListener("message",function(e){'
        "if(e.source!==f.contentWindow||!e.data||typeof e.data.zvizHeight!=='number')return;"
        "var h=e.data.zvizHeight;if(!isFinite(h))return;"
        'f.style.height=Math.max(low,Math.min(high,Math.ceil(h)))+"px";});'
        "if(document.fullscreenEnabled&&f.requestFullscreen){b.hidden=false;"
        'b.addEventListener("click",function(){f.requestFullscreen();});}'
        "})();</script></body></html>"
    )


@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def _image(
    user: str, viz_id: str, uri: str, _client: Client, _viz: Any
) -> tuple[bytes, int, int, str] | _Failed:
    def work() -> tuple[bytes, int, int, str]:
        value = _load(_client, _viz)
        data = value if isinstance(value, bytes) else value.encode("utf-8", "replace")
        return checked_image(data)

    return _remembered(work, "This image")


def checked_image(data: bytes) -> tuple[bytes, int, int, str]:
    """Return (bytes to show, original width, original height, format of the bytes) after
    checking that `data` is an image.

    Formats other than PNG, JPEG and GIF become PNG, and images wider than Streamlit shows are
    scaled down here (once, cached) rather than by st.image on every run. Raises
    ArtifactLoadError for anything Pillow cannot verify as an image and for images with so many
    pixels that decoding them could exhaust memory (decompression bombs).
    """
    from PIL import Image, UnidentifiedImageError

    bomb = ArtifactLoadError(
        f"This image has more than {MAX_PIXELS // 1_000_000} million pixels; it is not shown "
        "so that it cannot exhaust the app's memory. Download it instead."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                fmt = img.format or ""
                if width * height > MAX_PIXELS:
                    raise bomb
                img.verify()
            if fmt == "GIF" or (fmt in ("PNG", "JPEG") and width <= MAX_IMAGE_WIDTH):
                return data, width, height, fmt
            with Image.open(io.BytesIO(data)) as img:
                shown = img
                if width > MAX_IMAGE_WIDTH:
                    size = (MAX_IMAGE_WIDTH, max(1, round(height * MAX_IMAGE_WIDTH / width)))
                    shown = img.resize(size, Image.Resampling.LANCZOS)
                out_fmt = "JPEG" if fmt == "JPEG" else "PNG"
                if shown.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                    shown = shown.convert("RGBA" if out_fmt == "PNG" else "RGB")
                out = io.BytesIO()
                shown.save(out, format=out_fmt)
                return out.getvalue(), width, height, out_fmt
    except ArtifactLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise bomb from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ArtifactLoadError(
            "This file is not an image that can be shown (it may be damaged or of another type); "
            "download it to look at it."
        ) from exc


@dataclass(frozen=True, slots=True)
class CsvPreview:
    """What a CSV tile shows: `frame`, the file's data rows (None when not counted) and, when
    only the first CSV_PREVIEW_COLUMNS are shown, its columns (a lower bound when
    `header_cut`: the header line alone is longer than CSV_HEAD_BYTES)."""

    frame: Any
    rows: int | None = None
    columns: int | None = None
    header_cut: bool = False


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # maps every byte: a preview still shows


def _unnamed_index(frame: Any) -> Any:
    # A frame saved with its index (df.describe().to_csv()) reads back with an unnamed column.
    if len(frame.columns) and str(frame.columns[0]) == "Unnamed: 0":
        frame = frame.rename(columns={frame.columns[0]: ""})
    return frame


def wide_csv_preview(
    head: bytes, whole: bool, rows: int = CSV_PREVIEW_ROWS, columns: int = CSV_PREVIEW_COLUMNS
) -> CsvPreview | None:
    """Return a preview of the first `columns` columns and `rows` rows of a CSV whose header has
    more than `columns` fields, read from its first bytes `head` (`whole`: all of the file), or
    None for a narrower CSV. Only `head` is parsed, so the cost is bounded whatever the width.
    """
    import csv

    import pandas as pd

    newline = head.find(b"\n")
    if newline < 0 and not whole:
        # One line longer than `head`: a header without its end; its last field may be cut.
        fields = next(csv.reader([_decode(head)]), [])[:-1]
        frame = pd.DataFrame(columns=_unique(fields[:columns]))
        return CsvPreview(frame, None, len(fields), header_cut=True)
    if not whole:
        head = head[: head.rfind(b"\n") + 1]
    reader = csv.reader(io.StringIO(_decode(head), newline=""))
    header = next(reader, [])
    if len(header) <= columns:
        return None
    kept = []
    total = 0
    for record in reader:
        total += 1
        if len(kept) < rows:
            kept.append(record[:columns])
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header[:columns], *kept])
    buffer.seek(0)
    try:
        frame = pd.read_csv(buffer)
    except (pd.errors.ParserError, ValueError):
        frame = pd.DataFrame(kept, columns=_unique(header[:columns]))
    return CsvPreview(_unnamed_index(frame), total if whole else None, len(header))


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}.{count}")
    return out


def _csv_whole(text: str) -> Any:
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text))
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError:
        # Ragged rows: keep the table; pandas drops the extra fields of long rows (with a
        # ParserWarning) and pads short ones.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), engine="python", on_bad_lines=lambda f: f)
    except ValueError as exc:
        raise ArtifactLoadError(f"This CSV file could not be read as a table: {exc}") from exc
    return _unnamed_index(frame)


def _large_csv(uri: str, head: bytes, rows: int) -> CsvPreview:
    """The first `rows` rows of a CSV too large to read whole, with its row count when known."""
    if is_remote(uri):
        import pandas as pd

        head = head[: head.rfind(b"\n") + 1] or head
        try:
            frame = pd.read_csv(io.BytesIO(head), nrows=rows)
        except (pd.errors.ParserError, ValueError) as exc:
            raise ArtifactLoadError(f"This CSV file could not be read as a table: {exc}") from exc
        return CsvPreview(frame)
    from zviz_core.store.csvfile import head_and_count

    frame, total = head_and_count(uri, rows)
    return CsvPreview(frame, total)


@st.cache_data(show_spinner=False, max_entries=64, ttl=3600)
def _csv_table(
    user: str, uri: str, size: int, mtime: float, limit: int, _client: Client, _viz: Any
) -> CsvPreview | _Failed:
    """A CSV's preview: whole when at most `limit` bytes and narrow, else bounded."""

    def work() -> CsvPreview:
        head = _client.read_visualization_bytes(_viz, CSV_HEAD_BYTES, head=True)
        wide = wide_csv_preview(head, whole=len(head) >= size)
        if wide is not None:
            return wide
        if size > limit:
            return _large_csv(uri, head, CSV_PREVIEW_ROWS)
        text = _decode(head) if len(head) >= size else _text(_client, _viz)
        return CsvPreview(_csv_whole(text))

    return _remembered(work, "This CSV visualization")


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _json(
    user: str, viz_id: str, uri: str, _client: Client, _viz: Any
) -> tuple[Any, int, int] | _Failed:
    def work() -> tuple[Any, int, int]:
        text = _text(_client, _viz)
        document, long_numbers = parse_json(text, "JSON")
        return document, len(text), long_numbers

    return _remembered(work, "This JSON visualization")


def _int_digits_limit() -> int:
    return sys.get_int_max_str_digits() or 1_000_000_000


def parse_json(text: str, what: str) -> tuple[Any, int]:
    """Return the parsed document and how many of its integers were kept as text because they
    have more digits than Python converts (4,300 by default); raises ArtifactLoadError saying
    where the JSON is invalid."""
    limit = _int_digits_limit()
    long_numbers = [0]

    def integer(digits: str) -> int | str:
        if len(digits.lstrip("-")) <= limit:
            return int(digits)
        long_numbers[0] += 1
        return digits

    try:
        return json.loads(text, parse_int=integer), long_numbers[0]
    except json.JSONDecodeError as exc:
        raise ArtifactLoadError(
            f"This {what} visualization is not valid JSON ({exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}); download it to inspect it."
        ) from exc
    except RecursionError as exc:
        raise ArtifactLoadError(
            f"This {what} visualization is nested too deeply to show (hundreds of levels); "
            "download it to inspect it."
        ) from exc
    except ValueError as exc:  # e.g. a float literal Python cannot convert
        raise ArtifactLoadError(
            f"This {what} visualization holds a value that cannot be read ({exc}); download it "
            "to inspect it."
        ) from exc


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _vega_spec(
    user: str, viz_id: str, uri: str, _client: Client, _viz: Any
) -> outside.Safe | _Failed:
    def work() -> outside.Safe:
        spec, _ = parse_json(_text(_client, _viz), "chart")
        if not isinstance(spec, dict):
            raise ArtifactLoadError("This chart is not a Vega-Lite specification (a JSON object).")
        safe = outside.vega_lite_spec(spec)
        return outside.Safe(interactive(safe.content), safe.blocked)

    return _remembered(work, "This chart")


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _markdown_html(
    user: str, viz_id: str, uri: str, _client: Client, _viz: Any
) -> tuple[outside.Safe, bool] | _Failed:
    def work() -> tuple[outside.Safe, bool]:
        text = _text(_client, _viz)
        long = len(text) > SHORT_TEXT_CHARS or text.count("\n") > SHORT_TEXT_LINES
        return outside.markdown_html(text), long

    return _remembered(work, "This Markdown visualization")


def interactive(spec: dict) -> dict:
    """Return the spec with pan/zoom bound to its scales, as altair's `.interactive()` does,
    when it is a single view without selections of its own."""
    single_view = "mark" in spec and "encoding" in spec
    if not single_view or spec.get("params") or spec.get("selection"):
        return spec
    encodings = [e for e in ("x", "y") if e in spec["encoding"]]
    if not encodings:
        return spec
    zoom = {"name": "zviz_zoom", "select": {"type": "interval", "encodings": encodings}}
    return {**spec, "params": [{**zoom, "bind": "scales"}]}


# -- renderers ----------------------------------------------------------------------------------


def _html(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    high = max(ctx.height, HTML_TILE_MAX_HEIGHT)
    document = _sandbox_document(ctx.user, str(viz.id), viz.uri, high, client, viz)
    # Streamlit sizes the outer frame to the outer document, which grows with the report.
    st.iframe(document, height="content", alt="HTML visualization")
    if ctx.expandable:
        st.button(
            "Expand",
            icon=":material/open_in_full:",
            key=f"{ctx.key}-expand",
            type="tertiary",
            on_click=request_expand,
            args=(viz.id, "HTML report"),
        )


def _image_renderer(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    data, width, height, fmt = _unwrap(_image(ctx.user, str(viz.id), viz.uri, client, viz))
    # Naming the format stops st.image from re-encoding (PNG to JPEG) on every run.
    st.image(
        data,
        width="content",
        output_format=fmt if fmt in ("PNG", "JPEG") else "auto",
        caption=None if ctx.in_tile else f"{width} x {height} px",
        alt=f"Image {posixpath.basename(viz.uri.rstrip('/'))}, {width} x {height} px",
    )


def _csv(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    uri = client.checked_uri(viz)
    mtime = 0.0 if is_remote(uri) else os.stat(uri).st_mtime
    limit = inline_limit(viz.type)
    preview = _unwrap(_csv_table(ctx.user, uri, ctx.size, mtime, limit, client, viz))
    frame = preview.frame
    parts = []
    if preview.columns is not None:
        of = f"more than {preview.columns:,}" if preview.header_cut else f"{preview.columns:,}"
        parts.append(f"the first {len(frame.columns):,} of {of} columns")
    if preview.header_cut:
        parts.append(f"only the first {_mb(CSV_HEAD_BYTES)} of its first line were read")
    elif ctx.size > limit or preview.columns is not None:
        of = f"{preview.rows:,}" if preview.rows is not None else "an unknown number of"
        parts.append(f"the first {len(frame):,} of {of} rows")
    if parts:
        st.caption(
            f"Preview: {', '.join(parts)} of a {_mb(ctx.size)} file. Download it for all of it."
        )
    st.dataframe(frame, height=_table_height(len(frame), ctx.height), hide_index=True)


def _markdown(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    safe, long = _unwrap(_markdown_html(ctx.user, str(viz.id), viz.uri, client, viz))
    if safe.blocked:
        st.caption(outside.blocked_note(safe.blocked), help="Outside content is blocked")
    box = st.container(height=ctx.height, border=False) if ctx.in_tile and long else st.container()
    # Rendered by zviz (raw HTML escaped, links and images filtered) and shown by st.html,
    # which sanitises again; st.markdown would turn bare URLs into links.
    box.html(safe.content)


def _json_renderer(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    document, chars, long_numbers = _unwrap(_json(ctx.user, str(viz.id), viz.uri, client, viz))
    if long_numbers:
        st.caption(
            f"{long_numbers:,} number(s) with more than {_int_digits_limit():,} digits are shown "
            "as text."
        )
    expanded: bool | int = True if chars <= JSON_FULLY_EXPANDED_CHARS else 1
    long = chars > SHORT_JSON_CHARS
    box = st.container(height=ctx.height, border=False) if ctx.in_tile and long else st.container()
    if isinstance(document, (dict, list)):
        box.json(document, expanded=expanded)
    else:
        # Streamlit's JSON tree shows only objects and arrays: a bare number, string, true,
        # false or null reads "src property must be a valid json object" in the browser.
        box.code(json.dumps(document, ensure_ascii=False), language="json", wrap_lines=True)


def _vega(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    safe = _unwrap(_vega_spec(ctx.user, str(viz.id), viz.uri, client, viz))
    if safe.blocked:
        st.caption(outside.blocked_note(safe.blocked))
    st.vega_lite_chart(spec=safe.content, width="stretch")


def _table_height(rows: int, limit: int) -> int | str:
    # st.dataframe rows are 35 px plus a header; small tables keep their natural height.
    return "auto" if rows * 35 + 40 <= limit else limit


@dataclass(frozen=True, slots=True)
class _Context:
    user: str
    key: str
    height: int
    in_tile: bool
    expandable: bool
    size: int


_RENDERERS: dict[
    VisualizationType, Callable[[Client, ArtifactVisualizationResponse, _Context], None]
]
_RENDERERS = {
    VisualizationType.HTML: _html,
    VisualizationType.IMAGE: _image_renderer,
    VisualizationType.CSV: _csv,
    VisualizationType.MARKDOWN: _markdown,
    VisualizationType.JSON: _json_renderer,
    VisualizationType.VEGA_LITE: _vega,
}


def render_visualization(
    client: Client,
    viz: ArtifactVisualizationResponse,
    *,
    key: str,
    height: int = TILE_HEIGHT,
    in_tile: bool = False,
    expandable: bool = True,
) -> None:
    """Render one visualization here and return nothing; any failure (missing file, unreachable
    store, invalid content, over-size file) becomes a message inside its own box.

    `key` must be unique on the page. `in_tile` keeps the output compact (fixed heights, no
    extra buttons); `expandable` offers an "Expand" dialog for HTML.
    """
    box = st.container()
    what = f"This {LABELS.get(viz.type, 'visualization')} visualization"
    with contained(box, what=what), box:
        size = file_size(client, viz)
        ctx = _Context(client.user or "", key, height, in_tile, expandable, size)
        limit = inline_limit(viz.type)
        if size > limit and viz.type is not VisualizationType.CSV:
            # CSVs get a bounded preview instead; anything else would be read whole.
            then = (
                "Download it instead."
                if size <= download_limit()
                else "It is too large to download through the app, too."
            )
            st.warning(
                f"This {LABELS[viz.type]} visualization is {_mb(size)}, more than the "
                f"{_mb(limit)} shown in the app. {then}",
                icon=":material/file_download:",
            )
        else:
            _RENDERERS[viz.type](client, viz, ctx)


def too_large_to_download(size: int, limit: int | None = None) -> str:
    """The sentence shown instead of a download button for a file of `size` bytes."""
    limit = download_limit() if limit is None else limit
    return (
        f"Too large to download through the app: {_mb(size)}, and the app reads at most "
        f"{_mb(limit)} for a download ({DOWNLOAD_LIMIT_ENV})."
    )


def _download_bytes(client: Client, viz: ArtifactVisualizationResponse, limit: int) -> bytes:
    # Checked again at click time: the file may have grown since the page was drawn.
    data = client.read_visualization_bytes(viz, limit + 1, head=True)
    if len(data) > limit:
        raise ArtifactTooLargeError(too_large_to_download(len(data), limit), len(data))
    return data


def download_button(
    client: Client,
    viz: ArtifactVisualizationResponse,
    *,
    key: str,
    size: int | None = None,
    label: str = "Download",
    icon_only: bool = False,
) -> None:
    """Draw a button that downloads the visualization's file; the bytes are read only on click.

    A file over the download limit (download_limit()) gets a message instead, and is never
    read; a file whose size cannot be found gets nothing (its visualization says why).
    """
    if size is None:
        try:
            size = file_size(client, viz)
        except ArtifactLoadError:
            return
    limit = download_limit()
    if size > limit:
        message = too_large_to_download(size, limit)
        if icon_only:
            st.caption(
                ":material/file_download_off: Too large to download", help=message, width="content"
            )
        else:
            st.caption(
                f":material/file_download_off: {message} Copy it from the artifact store: "
                f"{md_escape(viz.uri)}"
            )
        return
    name = posixpath.basename(viz.uri.rstrip("/")) or f"{viz.type.value}-{viz.id}"
    st.download_button(
        f"Download {md_escape(name)}" if icon_only else label,  # a11y.style() hides it visually
        data=lambda: _download_bytes(client, viz, limit),
        file_name=name,
        mime=MIMES.get(viz.type, "application/octet-stream"),
        key=key,
        on_click="ignore",
        icon=":material/download:",
        type="tertiary" if icon_only else "secondary",
        help=f"Download {md_escape(name)} ({_mb(size)})",
    )


# -- the expand dialog --------------------------------------------------------------------------


def request_expand(viz_id: Any, title: str) -> None:
    """Ask for the expand dialog to show a visualization on the next run (a button callback)."""
    st.session_state[EXPAND_KEY] = {"viz": str(viz_id), "title": title}


def _close_expand() -> None:
    st.session_state.pop(EXPAND_KEY, None)


@st.dialog("Visualization", width="large", on_dismiss=_close_expand)
def _expand_dialog(client: Client, viz_id: str, title: str) -> None:
    if title:
        st.markdown(f"**{md_escape(title)}**")
    with contained(what="This visualization"):
        viz = client.get_artifact_visualization(viz_id)
        render_visualization(
            client, viz, key=f"expanded-{viz_id}", height=EXPANDED_HEIGHT, expandable=False
        )
        download_button(client, viz, key=f"expanded-{viz_id}-dl")
    if st.button("Close", key="zviz-expand-close"):
        _close_expand()
        st.rerun()


def show_expand_dialog(client: Client) -> None:
    """Show the expand dialog if a button asked for it; call once per run, after the page."""
    wanted = st.session_state.get(EXPAND_KEY)
    if wanted:
        _expand_dialog(client, wanted["viz"], wanted.get("title", ""))
