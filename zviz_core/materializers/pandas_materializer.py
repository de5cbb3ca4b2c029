"""pandas DataFrame and Series: Parquet data, plus `describe.csv`, `sample.csv` and a profile
(`profile.json`, Vega-Lite) as visualizations."""

from __future__ import annotations

import json
import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from zviz_core.enums import VisualizationType
from zviz_core.materializers.base import BaseMaterializer

SAMPLE_ROWS = 10
_SUMMARY = ["count", "mean", "std", "min", "25%", "50%", "75%", "max"]


def describe(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame.describe()`, computed with NumPy in one pass when every column is a number (not a
    bool): the same table, about six times faster (pandas builds it column by column)."""
    numeric = (
        frame.shape[0] > 0
        and frame.shape[1] > 0
        and all(
            pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
            for t in frame.dtypes
        )
    )
    if not numeric:
        return frame.describe()
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-missing columns: NaN, as pandas
        rows = [
            (~np.isnan(values)).sum(axis=0).astype(float),
            np.nanmean(values, axis=0),
            np.nanstd(values, axis=0, ddof=1),
            np.nanmin(values, axis=0),
            *np.nanpercentile(values, [25, 50, 75], axis=0),
            np.nanmax(values, axis=0),
        ]
    return pd.DataFrame(rows, index=_SUMMARY, columns=frame.columns)


class PandasMaterializer(BaseMaterializer):
    """Saves a DataFrame or Series as Parquet. Its visualizations: `describe.csv`, the first
    rows as `sample.csv` and, unless `PROFILE` is False (set it on a subclass, or on this
    class to turn profiles off everywhere), an interactive profile of every column."""

    ASSOCIATED_TYPES = (pd.DataFrame, pd.Series)
    PROFILE: ClassVar[bool] = True

    def save(self, data: pd.DataFrame | pd.Series) -> None:
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        frame = frame.copy(deep=False)
        frame.columns = [str(c) for c in frame.columns]
        with self.artifact_store.open(self.path("data.parquet"), "wb") as fh:
            frame.to_parquet(fh)

    def load(self, data_type: type) -> pd.DataFrame | pd.Series:
        with self.artifact_store.open(self.path("data.parquet"), "rb") as fh:
            frame = pd.read_parquet(fh)
        if issubclass(data_type, pd.Series):
            return frame.iloc[:, 0]
        return frame

    def save_visualizations(self, data: pd.DataFrame | pd.Series) -> dict[str, VisualizationType]:
        frame = data.to_frame() if isinstance(data, pd.Series) else data
        out = {}
        summary = self.path("describe.csv")
        with self.artifact_store.open(summary, "w") as fh:
            describe(frame).to_csv(fh)
        out[summary] = VisualizationType.CSV
        sample = self.path("sample.csv")
        with self.artifact_store.open(sample, "w") as fh:
            frame.head(SAMPLE_ROWS).to_csv(fh, index=False)
        out[sample] = VisualizationType.CSV
        if self.PROFILE:
            from zviz_core.materializers.profile import profile_spec

            spec = self.path("profile.json")
            with self.artifact_store.open(spec, "w") as fh:
                # One write: json.dump writes each token through the file layer.
                fh.write(json.dumps(profile_spec(data), allow_nan=False, default=str))
            out[spec] = VisualizationType.VEGA_LITE
        return out

    def extract_metadata(self, data: pd.DataFrame | pd.Series) -> dict[str, Any]:
        return {
            "shape": list(data.shape),
            "columns": [
                str(c) for c in (data.columns if isinstance(data, pd.DataFrame) else [data.name])
            ][:100],
        }
