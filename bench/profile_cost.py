"""What the DataFrame profile adds to a step (issue 12, part 4): seconds and peak MB for a
1M x 20 frame and a 1 GB frame, and DuckDB's SUMMARIZE against pandas for the same statistics.

    .venv/bin/python bench/profile_cost.py [--gb 1.0]

Peak memory is what the profile allocates beyond the frame (tracemalloc, which numpy and pandas
report to), measured in this process after the frame was built.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zviz_core.materializers.profile import SAMPLE_ROWS, profile_spec


def _frame(rows: int, floats: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({f"x{i}": rng.random(rows) for i in range(floats)})
    frame["city"] = pd.Categorical(rng.integers(0, 50, rows).astype(str))
    frame["ok"] = rng.random(rows) > 0.5
    frame["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 10**7, rows), unit="s"
    )
    frame["n"] = rng.integers(0, 1000, rows)
    return frame


def _profile(frame: pd.DataFrame) -> tuple[float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    json.dumps(profile_spec(frame), allow_nan=False, default=str)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak


def _summaries(frame: pd.DataFrame) -> tuple[float, float]:
    import duckdb

    started = time.perf_counter()
    duckdb.sql("SUMMARIZE SELECT * FROM frame").df()
    duck = time.perf_counter() - started
    started = time.perf_counter()
    numeric = frame.select_dtypes("number")
    numeric.quantile([0.25, 0.5, 0.75])
    numeric.agg(["min", "max", "mean", "std"])
    frame.isna().mean()
    frame.nunique()
    return duck, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=1.0)
    args = parser.parse_args()
    small = _frame(1000, 4)
    _profile(small)  # imports and first-call costs out of the way
    seconds, _ = _profile(small)
    print(f"profile of 1,000 x 8 (the bench pipeline's size): {seconds * 1000:.1f} ms")
    million = _frame(1_000_000, 16)
    seconds, peak = _profile(million)
    print(f"profile of 1M x 20: {seconds:.2f} s, {peak:.0f} MB (sample {SAMPLE_ROWS:,} rows)")
    duck, pandas_s = _summaries(million)
    print(
        f"full-frame statistics of 1M x 20: DuckDB SUMMARIZE {duck:.2f} s, pandas {pandas_s:.2f} s"
    )
    rows = int(args.gb * 1e9 / (16 * 8 + 1 + 1 + 8 + 8))
    big = _frame(rows, 16)
    size = big.memory_usage(deep=True).sum() / 1e9
    seconds, peak = _profile(big)
    print(
        f"profile of {rows:,} x 20 ({size:.2f} GB): {seconds:.2f} s, {peak:.0f} MB (target 2 s, 300 MB)"
    )


if __name__ == "__main__":
    main()
