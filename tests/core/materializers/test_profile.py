"""The DataFrame profile: what it says about each kind of column, its bounds, and its switches."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from zviz_core import Client, pipeline, step
from zviz_core.enums import VisualizationType
from zviz_core.materializers import profile
from zviz_core.materializers.pandas_materializer import PandasMaterializer


def _charts(spec: dict) -> dict[str, dict]:
    return {c["title"]["text"]: c for c in spec["concat"]}


def _frame(rows: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "score": rng.normal(0.5, 0.1, rows),
            "city": rng.choice(["Oslo", "Lima", "Pune"], rows, p=[0.6, 0.3, 0.1]),
            "joined": pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(rows), unit="h"),
            "ok": rng.random(rows) > 0.5,
        }
    )
    frame.loc[::4, "score"] = np.nan
    return frame


def test_each_kind_of_column_gets_its_statistics_and_chart() -> None:
    frame = _frame()
    spec = profile.profile_spec(frame)
    json.dumps(spec, allow_nan=False)  # a valid JSON document, as Vega-Lite needs
    charts = _charts(spec)
    assert list(charts)[:5] == ["age", "score", "city", "joined", "ok"]

    age = charts["age"]
    assert "int64 · 0.0% missing · 72 distinct · 8.0 kB" in age["title"]["subtitle"][0]
    assert f"min {frame.age.min()}" in age["title"]["subtitle"][1]
    assert "50% " in age["title"]["subtitle"][2]
    assert sum(b["count"] for b in age["data"]["values"]) == 1000
    assert age["encoding"]["x"]["bin"] == {"binned": True}

    score = charts["score"]
    assert "25.0% missing" in score["title"]["subtitle"][0]
    assert sum(b["count"] for b in score["data"]["values"]) == 750

    city = charts["city"]
    assert [v["value"] for v in city["data"]["values"]] == ["Oslo", "Lima", "Pune"]
    assert "3 distinct" in city["title"]["subtitle"][0]

    joined = charts["joined"]
    assert joined["encoding"]["x"]["type"] == "temporal"
    assert "from 2024-01-01 00:00:00 to 2024-02-11 15:00:00" in joined["title"]["subtitle"][1]
    assert sum(b["count"] for b in joined["data"]["values"]) == 1000

    heat = charts["Correlation of the numeric columns"]
    cells = {(c["a"], c["b"]): c["r"] for c in heat["data"]["values"]}
    assert cells[("1. age", "1. age")] == 1.0 and ("2. score", "1. age") in cells
    assert "1,000 rows, 5 columns" in spec["title"]["subtitle"]
    assert "sample" not in spec["title"]["subtitle"]


def test_big_frames_are_sampled_and_wide_ones_cut_and_it_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(profile, "SAMPLE_ROWS", 500)
    spec = profile.profile_spec(_frame(5000))
    assert "statistics from a uniform sample of 500 rows" in spec["title"]["subtitle"]
    assert sum(b["count"] for b in _charts(spec)["age"]["data"]["values"]) == 500
    wide = pd.DataFrame(np.zeros((3, 130)), columns=[f"c{i}" for i in range(130)])
    spec = profile.profile_spec(wide)
    assert "the first 100 of 130 columns are profiled" in spec["title"]["subtitle"]
    assert len([c for c in spec["concat"] if c["title"]["text"].startswith("c")]) == 100


def test_odd_columns_never_break_the_profile() -> None:
    odd = pd.DataFrame(
        {
            "lists": [[1], [1], [2]],
            "empty": [np.nan, np.nan, np.nan],
            "inf": [np.inf, -np.inf, 1.0],
            "tz": pd.date_range("2024-01-01", periods=3, tz="Europe/Oslo"),
            "a.b[0]": ["x" * 100, "y", None],
        }
    )
    spec = profile.profile_spec(odd)
    json.dumps(spec, allow_nan=False)
    charts = _charts(spec)
    assert "2 distinct" in charts["lists"]["title"]["subtitle"][0]
    assert charts["empty"]["title"]["subtitle"][1] == "no finite values"
    assert charts["a.b[0]"]["encoding"]["y"]["field"] == "value", "names are only titles"
    assert any(v["value"].endswith("…") for v in charts["a.b[0]"]["data"]["values"])
    assert profile.profile_spec(pd.Series([1, 2, 3], name="s"))["concat"][0]["title"]["text"] == "s"


@step
def make_frame() -> pd.DataFrame:
    return _frame(200)


@pipeline
def framed() -> None:
    make_frame()


def _files(run) -> list[str]:
    return [v.uri.rsplit("/", 1)[-1] for v in run.steps["make_frame"].output.visualizations]


def test_the_profile_is_stored_and_can_be_switched_off(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = framed()
    assert _files(run) == ["describe.csv", "sample.csv", "profile.json"]
    viz = run.steps["make_frame"].output.visualizations[2]
    loaded = client.load_visualization(viz.id)
    assert loaded.type is VisualizationType.VEGA_LITE
    assert "age" in _charts(json.loads(loaded.value))
    monkeypatch.setattr(PandasMaterializer, "PROFILE", False)
    assert _files(framed()) == ["describe.csv", "sample.csv"], "a materializer setting"
    monkeypatch.setattr(PandasMaterializer, "PROFILE", True)
    off = framed.with_options(enable_artifact_visualization=False)()
    assert _files(off) == [], "off with every other visualization"
