"""One renderer per visualization type; whatever goes wrong stays inside that visualization's box."""

from __future__ import annotations

import html
import io
import json
import logging
import os
import posixpath
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from zviz_core.artifacts.store import is_remote
from zviz_core.client import Client
from zviz_core.enums import VisualizationType
from zviz_core.errors import ArtifactLoadError, ArtifactStoreUnreachableError
from zviz_core.models import ArtifactVisualizationResponse
from zviz_core.ui.notices import contained, md_escape

log = logging.getLogger("zviz.ui")

MB = 1_000_000
TILE_HEIGHT = 420
EXPANDED_HEIGHT = 760
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
DOWNLOAD_LIMIT = 200 * MB
CSV_PREVIEW_ROWS = 500
# DuckDB reads remote CSVs only with its httpfs extension: preview a remote one's first bytes.
REMOTE_CSV_PREVIEW_BYTES = 2 * MB
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
    return client.load_visualization_content(viz, max_bytes=INLINE_LIMITS[viz.type]).value


def _text(client: Client, viz: ArtifactVisualizationResponse) -> str:
    value = _load(client, viz)
    return value if isinstance(value, str) else value.decode("utf-8", errors="replace")


# Each prepared value is cached per user and visualization: the Client checked access when it
# returned `viz`, and a file behind a visualization id never changes.


@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def _sandbox_document(user: str, viz_id: str, uri: str, _client: Client, _viz: Any) -> str:
    return sandbox_document(_text(_client, _viz))


def sandbox_document(content: str) -> str:
    """Return an outer HTML document whose only content is `content` in a sandboxed iframe.

    The inner frame gets `sandbox="allow-scripts"` and no `allow-same-origin`: its scripts run
    (self-contained reports keep working) in an opaque origin that cannot touch the app page,
    its cookies or its storage.
    """
    escaped = html.escape(content, quote=True)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        "html,body{margin:0;padding:0;height:100%;overflow:hidden;background:#fff}"
        "iframe{border:0;width:100%;height:100%;display:block}"
        '</style></head><body><iframe sandbox="allow-scripts" referrerpolicy="no-referrer" '
        f'title="HTML visualization" srcdoc="{escaped}"></iframe></body></html>'
    )


@st.cache_data(show_spinner=False, max_entries=128, ttl=3600)
def _image(
    user: str, viz_id: str, uri: str, _client: Client, _viz: Any
) -> tuple[bytes, int, int, str]:
    value = _load(_client, _viz)
    return checked_image(value if isinstance(value, bytes) else value.encode("utf-8", "replace"))


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


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _csv_frame(user: str, viz_id: str, uri: str, _client: Client, _viz: Any) -> Any:
    import pandas as pd

    text = _text(_client, _viz)
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
    # A frame saved with its index (df.describe().to_csv()) reads back with an unnamed column.
    if len(frame.columns) and str(frame.columns[0]) == "Unnamed: 0":
        frame = frame.rename(columns={frame.columns[0]: ""})
    return frame


def _duckdb_preview(con: Any, uri: str, rows: int, encoding: str) -> tuple[Any, Any]:
    # Ragged rows are padded or skipped rather than failing the whole preview.
    source = (
        "read_csv($path, encoding = $enc, null_padding = true, ignore_errors = true, "
        "strict_mode = false)"
    )
    params = {"path": uri, "enc": encoding}
    frame = con.execute(f"SELECT * FROM {source} LIMIT {int(rows)}", params).df()
    total = con.execute(f"SELECT count(*) FROM {source}", params).fetchone()
    return frame, total


@st.cache_data(show_spinner=False, max_entries=32, ttl=3600)
def _csv_preview(
    user: str, uri: str, size: int, mtime: float, rows: int, _client: Client
) -> tuple[Any, int | None]:
    """The first `rows` rows of a large CSV and its row count (None when unknown)."""
    if is_remote(uri):
        import pandas as pd

        head = _client.artifact_store.read_bytes(uri, REMOTE_CSV_PREVIEW_BYTES)
        head = head[: head.rfind(b"\n") + 1] or head
        try:
            frame = pd.read_csv(io.BytesIO(head), nrows=rows)
        except (pd.errors.ParserError, ValueError) as exc:
            raise ArtifactLoadError(f"This CSV file could not be read as a table: {exc}") from exc
        return frame, None
    import duckdb

    # A private in-memory database: the CSV never touches the store's connection.
    config = {"threads": "2", "memory_limit": "256MB", "preserve_insertion_order": "false"}
    try:
        with duckdb.connect(":memory:", config=config) as con:
            try:
                frame, total = _duckdb_preview(con, uri, rows, "utf-8")
            except duckdb.InvalidInputException:
                # Not UTF-8: latin-1 maps every byte, so the preview still shows.
                frame, total = _duckdb_preview(con, uri, rows, "latin-1")
    except duckdb.IOException as exc:
        raise ArtifactStoreUnreachableError(
            f"The app cannot read {uri} ({str(exc).splitlines()[0]})."
        ) from exc
    except duckdb.Error as exc:
        raise ArtifactLoadError(
            f"This CSV file could not be read as a table: {str(exc).splitlines()[0]}"
        ) from exc
    return frame, None if total is None else int(total[0])


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _json(user: str, viz_id: str, uri: str, _client: Client, _viz: Any) -> tuple[Any, int]:
    text = _text(_client, _viz)
    return parse_json(text, "JSON"), len(text)


def parse_json(text: str, what: str) -> Any:
    """Return the parsed document; raises ArtifactLoadError saying where the JSON is invalid."""
    try:
        return json.loads(text)
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


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _vega_spec(user: str, viz_id: str, uri: str, _client: Client, _viz: Any) -> dict:
    spec = parse_json(_text(_client, _viz), "chart")
    if not isinstance(spec, dict):
        raise ArtifactLoadError("This chart is not a Vega-Lite specification (a JSON object).")
    return interactive(spec)


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
    document = _sandbox_document(ctx.user, str(viz.id), viz.uri, client, viz)
    st.iframe(document, height=ctx.height)
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
    data, width, height, fmt = _image(ctx.user, str(viz.id), viz.uri, client, viz)
    # Naming the format stops st.image from re-encoding (PNG to JPEG) on every run.
    st.image(
        data,
        width="content",
        output_format=fmt if fmt in ("PNG", "JPEG") else "auto",
        caption=None if ctx.in_tile else f"{width} x {height} px",
    )


def _csv(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    frame = _csv_frame(ctx.user, str(viz.id), viz.uri, client, viz)
    st.dataframe(frame, height=_table_height(len(frame), ctx.height), hide_index=True)


def _csv_large(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    mtime = 0.0 if is_remote(viz.uri) else os.stat(viz.uri).st_mtime
    frame, total = _csv_preview(ctx.user, viz.uri, ctx.size, mtime, CSV_PREVIEW_ROWS, client)
    of = f"{total:,}" if total is not None else "an unknown number of"
    st.caption(
        f"Preview: the first {len(frame):,} of {of} rows of a {ctx.size / MB:,.1f} MB file. "
        "Download it for all of it."
    )
    st.dataframe(frame, height=_table_height(len(frame), ctx.height), hide_index=True)
    if not ctx.in_tile:
        download_button(client, viz, key=f"{ctx.key}-dl-big", size=ctx.size)


def _markdown(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    text = _text(client, viz)
    long = len(text) > SHORT_TEXT_CHARS or text.count("\n") > SHORT_TEXT_LINES
    box = st.container(height=ctx.height, border=False) if ctx.in_tile and long else st.container()
    box.markdown(text, unsafe_allow_html=False)


def _json_renderer(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    document, chars = _json(ctx.user, str(viz.id), viz.uri, client, viz)
    expanded: bool | int = True if chars <= JSON_FULLY_EXPANDED_CHARS else 1
    long = chars > SHORT_JSON_CHARS
    box = st.container(height=ctx.height, border=False) if ctx.in_tile and long else st.container()
    box.json(document, expanded=expanded)


def _vega(client: Client, viz: ArtifactVisualizationResponse, ctx: _Context) -> None:
    spec = _vega_spec(ctx.user, str(viz.id), viz.uri, client, viz)
    st.vega_lite_chart(spec=spec, width="stretch")


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
        if viz.type is VisualizationType.CSV and size > INLINE_LIMITS[viz.type]:
            _csv_large(client, viz, ctx)
        elif size > INLINE_LIMITS[viz.type]:
            st.warning(
                f"This {LABELS[viz.type]} visualization is {size / MB:,.1f} MB, more than the "
                f"{INLINE_LIMITS[viz.type] // MB} MB shown in the app. Download it instead.",
                icon=":material/file_download:",
            )
            download_button(client, viz, key=f"{key}-dl-big", size=size)
        else:
            _RENDERERS[viz.type](client, viz, ctx)


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

    Files over DOWNLOAD_LIMIT get a disabled button that says where the file is instead.
    """
    name = posixpath.basename(viz.uri.rstrip("/")) or f"{viz.type.value}-{viz.id}"
    too_big = size is not None and size > DOWNLOAD_LIMIT
    st.download_button(
        "" if icon_only else label,
        data=(lambda: b"") if too_big else (lambda: client.artifact_store.read_bytes(viz.uri)),
        file_name=name,
        mime=MIMES.get(viz.type, "application/octet-stream"),
        key=key,
        on_click="ignore",
        icon=":material/download:",
        type="tertiary" if icon_only else "secondary",
        disabled=too_big,
        help=(
            f"Too large to download through the app; it is at {viz.uri}."
            if too_big
            else f"Download {name}"
        ),
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
