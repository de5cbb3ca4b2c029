"""A DataFrame's profile as one Vega-Lite spec: a chart and the statistics of each column, and a
correlation heatmap of the numeric ones, from a bounded uniform sample of the rows.

The spec is written as plain Vega-Lite JSON rather than through Altair: importing Altair takes
about a second and building a chart tens of milliseconds, paid by every step that returns a
DataFrame; these dictionaries cost well under a millisecond per column. Field names inside the
spec are fixed (`start`, `end`, `count`, `value`), so no column name is ever read as an
expression or a field path; column names appear only as title text.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
MAX_COLUMNS = 100
SAMPLE_ROWS = 100_000
BINS = 20
TOP_VALUES = 10
HEATMAP_COLUMNS = 30
MAX_LABEL = 40


def _short(value: Any) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _number(value: float) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:,.4g}"


def _size(nbytes: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:,.1f} {unit}"
    return f"{nbytes:,.0f} B"


def sample_rows(frame: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """Return `frame` itself when it has at most `limit` (default SAMPLE_ROWS) rows, else a
    uniform sample of `limit` rows without replacement (seeded, so the same frame gives the same
    profile), in row order."""
    limit = SAMPLE_ROWS if limit is None else limit
    if len(frame) <= limit:
        return frame
    picked = np.sort(np.random.default_rng(0).choice(len(frame), size=limit, replace=False))
    return frame.take(picked)


def _kind(column: pd.Series) -> str:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


def _hashable(column: pd.Series) -> pd.Series:
    try:
        column.nunique()
        return column
    except TypeError:  # lists, dicts: compared by their text
        return column.astype(str)


def _numeric_chart(values: np.ndarray) -> tuple[dict, list[str]]:
    finite = values[np.isfinite(values)]
    if not len(finite):
        return {"values": []}, ["no finite values"]
    counts, edges = np.histogram(finite, bins=BINS)
    rows = [
        {"start": float(edges[i]), "end": float(edges[i + 1]), "count": int(counts[i])}
        for i in range(len(counts))
    ]
    q05, q25, q50, q75, q95 = np.quantile(finite, [0.05, 0.25, 0.5, 0.75, 0.95])
    lines = [
        f"min {_number(finite.min())} · mean {_number(finite.mean())} · max {_number(finite.max())}",
        f"5% {_number(q05)} · 25% {_number(q25)} · 50% {_number(q50)} · 75% {_number(q75)} "
        f"· 95% {_number(q95)}",
    ]
    return {"values": rows}, lines


def _datetime_chart(column: pd.Series) -> tuple[dict, list[str]]:
    present = column.dropna()
    if present.dt.tz is not None:
        present = present.dt.tz_convert("UTC").dt.tz_localize(None)
    if present.empty:
        return {"values": []}, ["no dates"]
    stamps = present.to_numpy(dtype="datetime64[ns]").astype("int64")
    counts, edges = np.histogram(stamps, bins=BINS)
    as_time = pd.to_datetime(edges)
    rows = [
        {"start": as_time[i].isoformat(), "end": as_time[i + 1].isoformat(), "count": int(c)}
        for i, c in enumerate(counts)
    ]
    return {"values": rows}, [f"from {present.min()} to {present.max()}"]


def _categorical_chart(column: pd.Series) -> tuple[dict, list[str]]:
    counts = _hashable(column).value_counts(dropna=True)
    top = counts.head(TOP_VALUES)
    rows = [{"value": _short(v), "count": int(c)} for v, c in top.items()]
    more = len(counts) - len(top)
    return {"values": rows}, [f"top {len(top)} values" + (f" of {len(counts):,}" if more else "")]


_ENCODINGS = {
    "numeric": {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "start", "type": "quantitative", "bin": {"binned": True}, "title": None},
            "x2": {"field": "end"},
            "y": {"field": "count", "type": "quantitative", "title": "rows"},
        },
    },
    "datetime": {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "start", "type": "temporal", "title": None},
            "x2": {"field": "end"},
            "y": {"field": "count", "type": "quantitative", "title": "rows"},
        },
    },
    "categorical": {
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "y": {"field": "value", "type": "nominal", "sort": "-x", "title": None},
            "x": {"field": "count", "type": "quantitative", "title": "rows"},
        },
    },
}


def profile_spec(frame: pd.DataFrame | pd.Series) -> dict[str, Any]:
    """Return a Vega-Lite spec profiling `frame` (a Series is profiled as one column).

    For each of the first MAX_COLUMNS columns, a chart titled with its name, type, missing %,
    distinct count and memory: numeric columns a histogram with min, mean, max and quantiles;
    datetime columns their range and a count over time; other columns their top values. Then
    a correlation heatmap of up to HEATMAP_COLUMNS numeric columns. Statistics come from a
    uniform sample of SAMPLE_ROWS rows when the frame has more (memory is measured on the
    whole frame, deep sizes of text columns estimated from the sample); the title says so.
    """
    if isinstance(frame, pd.Series):
        frame = frame.to_frame(name=str(frame.name) if frame.name is not None else "value")
    rows, width = frame.shape
    shown = frame.iloc[:, :MAX_COLUMNS]
    sample = sample_rows(shown)
    shallow = shown.memory_usage(index=False, deep=False).to_numpy()
    charts: list[dict[str, Any]] = []
    numeric: list[tuple[str, np.ndarray]] = []
    # Series from .items(): positional indexing of a frame costs a millisecond a call.
    pairs = zip(shown.items(), sample.items(), strict=True)
    for position, ((name, full), (_, column)) in enumerate(pairs):
        kind = _kind(full)
        memory = float(shallow[position])
        if full.dtype == object and len(column):
            memory = column.memory_usage(index=False, deep=True) * rows / len(column)
        missing = float(column.isna().mean()) if len(column) else 0.0
        distinct = int(_hashable(column).nunique(dropna=True))
        if kind == "numeric":
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            data, lines = _numeric_chart(values)
            numeric.append((f"{len(numeric) + 1}. {_short(name)}", values))
        elif kind == "datetime":
            data, lines = _datetime_chart(column)
        else:
            data, lines = _categorical_chart(column)
        charts.append(
            {
                "title": {
                    "text": _short(name),
                    "subtitle": [
                        f"{full.dtype} · {missing:.1%} missing · {distinct:,} distinct · "
                        f"{_size(memory)}",
                        *lines,
                    ],
                    "anchor": "start",
                },
                "data": data,
                "width": 240,
                "height": 120,
                **_ENCODINGS[kind],
            }
        )
    heat = _heatmap(numeric[:HEATMAP_COLUMNS])
    if heat is not None:
        charts.append(heat)
    notes = [f"{rows:,} rows, {width:,} columns"]
    if width > MAX_COLUMNS:
        notes.append(f"the first {MAX_COLUMNS} of {width:,} columns are profiled")
    if len(sample) < rows:
        notes.append(f"statistics from a uniform sample of {len(sample):,} rows")
    return {
        "$schema": SCHEMA,
        "title": {"text": "Profile", "subtitle": "; ".join(notes), "anchor": "start"},
        "columns": 2,
        "concat": charts,
        "config": {"title": {"subtitleFontSize": 10}},
    }


def _heatmap(columns: list[tuple[str, np.ndarray]]) -> dict[str, Any] | None:
    if len(columns) < 2 or len(columns[0][1]) < 2:
        return None
    names = [name for name, _ in columns]
    corr = pd.DataFrame(np.column_stack([values for _, values in columns])).corr().to_numpy()
    cells = [
        {"a": names[i], "b": names[j], "r": None if math.isnan(r) else round(float(r), 3)}
        for i in range(len(names))
        for j, r in enumerate(corr[i])
    ]
    side = min(520, 24 * len(names) + 40)
    return {
        "title": {"text": "Correlation of the numeric columns", "anchor": "start"},
        "data": {"values": cells},
        "width": side,
        "height": side,
        "mark": {"type": "rect", "tooltip": True},
        "encoding": {
            "x": {"field": "a", "type": "ordinal", "sort": names, "title": None},
            "y": {"field": "b", "type": "ordinal", "sort": names, "title": None},
            "color": {
                "field": "r",
                "type": "quantitative",
                "scale": {"scheme": "redblue", "domain": [-1, 1], "reverse": True},
                "title": "r",
            },
        },
    }
