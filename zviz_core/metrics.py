"""Run metrics and metadata: flattening values into `a.b.c` leaves, and which way a metric is better.

A step's JSON outputs (JSONString, dicts, plain numbers) and what `log_metadata` logs become rows
of (name, number, value): `number` is set for finite numeric leaves (booleans are not numbers
here), so those can be sorted and plotted as metrics.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

# Extraction runs while a step's outputs are stored: bounded so a huge JSON output costs little.
MAX_LEAVES = 500
MAX_JSON_CHARS = 1_000_000
MAX_NAME_CHARS = 300
MAX_TEXT_VALUE_CHARS = 2_000

Direction = Literal["max", "min"]

# Matched against the last part of a metric's name, as whole words (split on _ . - and case).
_HIGHER = {
    "accuracy",
    "acc",
    "precision",
    "recall",
    "f1",
    "auc",
    "roc_auc",
    "score",
    "r2",
    "map",
    "ndcg",
    "bleu",
    "rouge",
    "iou",
    "dice",
    "throughput",
    "top1",
    "top5",
}
_LOWER = {
    "loss",
    "error",
    "err",
    "mse",
    "rmse",
    "mae",
    "mape",
    "latency",
    "perplexity",
    "wer",
    "cer",
    "duration",
    "time",
}


def number(value: Any) -> float | None:
    """Return `value` as a float when it is a finite int or float (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def flatten(value: Any, prefix: str, limit: int = MAX_LEAVES) -> Iterator[tuple[str, Any]]:
    """Yield (path, leaf) for the leaves of nested dicts under `prefix` (`prefix.a.b`); lists
    and other values are leaves. At most `limit` leaves, names cut at MAX_NAME_CHARS."""
    stack: list[tuple[str, Any]] = [(prefix, value)]
    count = 0
    while stack and count < limit:
        path, item = stack.pop()
        if isinstance(item, Mapping) and item:
            # Reversed onto the stack so that leaves come out in the mapping's order.
            for key, child in reversed(list(item.items())):
                stack.append((f"{path}.{key}" if path else str(key), child))
            continue
        if path and len(path) <= MAX_NAME_CHARS:
            count += 1
            yield path, item


def output_document(value: Any) -> Any | None:
    """Return the JSON document a step output holds, for metric extraction: a dict as it is,
    a JSONString parsed (None when it is not valid JSON or too long), a number as it is; None
    for anything else."""
    from zviz_core.types import JSONString

    if isinstance(value, JSONString):
        if len(value) > MAX_JSON_CHARS:
            return None
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return None
    if isinstance(value, Mapping) or number(value) is not None:
        return value
    return None


def output_metrics(step: str, output: str, value: Any) -> list[tuple[str, float]]:
    """Return the numeric leaves of a step output as (metric name, number), named
    `step.output.path` (`evaluate.metrics.accuracy`); empty for outputs that hold no JSON."""
    document = output_document(value)
    if document is None:
        return []
    found = []
    for path, leaf in flatten(document, f"{step}.{output}"):
        as_number = number(leaf)
        if as_number is not None:
            found.append((path, as_number))
    return found


def metadata_rows(metadata: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Return logged metadata as (name, JSON-ready value) leaves, nested dicts flattened into
    `a.b` names under `prefix`. Raises ValueError for keys that are not non-empty strings."""
    for key in metadata:
        if not isinstance(key, str) or not key.strip():
            raise ValueError(f"metadata keys must be non-empty strings, not {key!r}")
    rows = []
    for name, leaf in flatten(dict(metadata), prefix):
        if number(leaf) is None and not isinstance(leaf, str | bool | type(None)):
            try:
                leaf = json.loads(json.dumps(leaf, default=str))
            except (TypeError, ValueError):
                leaf = str(leaf)
        if isinstance(leaf, str) and len(leaf) > MAX_TEXT_VALUE_CHARS:
            leaf = leaf[:MAX_TEXT_VALUE_CHARS] + "…"
        rows.append((name, leaf))
    return rows


def direction(name: str, settings: Mapping[str, str] | None = None) -> Direction | None:
    """Return "max" when a higher value of metric `name` is better, "min" when lower is, None
    when unknown. `settings` ({name or last part: "max"/"min"}) wins over the name's words."""
    last = name.rsplit(".", 1)[-1]
    for key in (name, last):
        chosen = (settings or {}).get(key)
        if chosen in ("max", "min"):
            return chosen  # type: ignore[return-value]
    words = {w for w in re.split(r"[^a-z0-9]+", _snake(last)) if w}
    if words & _LOWER:
        return "min"
    if words & _HIGHER or _snake(last) in _HIGHER:
        return "max"
    return None


def _snake(text: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", text).lower()


def best_and_worst(values: list[float | None], way: Direction | None) -> tuple[set[int], set[int]]:
    """Return the indexes of the best and of the worst values (ties all marked); both empty
    when the direction is unknown or fewer than two values differ."""
    present = [(i, v) for i, v in enumerate(values) if v is not None]
    if way is None or len({v for _, v in present}) < 2:
        return set(), set()
    top = max(v for _, v in present)
    bottom = min(v for _, v in present)
    best, worst = (top, bottom) if way == "max" else (bottom, top)
    return {i for i, v in present if v == best}, {i for i, v in present if v == worst}
