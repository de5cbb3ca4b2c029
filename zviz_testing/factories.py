"""A pipeline whose steps return one artifact of every kind, for tests that need real data."""

from __future__ import annotations

from typing import Annotated, Any

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

from zviz_core import pipeline, step
from zviz_core.models import PipelineRunResponse
from zviz_core.types import CSVString, HTMLString, JSONString, MarkdownString


@step
def frame() -> Annotated[pd.DataFrame, "frame"]:
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((100, 4)), columns=["a", "b", "c", "d"])


@step
def report(df: pd.DataFrame) -> Annotated[HTMLString, "report"]:
    return HTMLString("<h1>Report</h1>" + df.describe().to_html())


@step
def card() -> Annotated[MarkdownString, "card"]:
    return MarkdownString("# Model card\n\n*accuracy*: **0.93**")


@step
def table() -> Annotated[CSVString, "table"]:
    return CSVString("x,y\n1,2\n3,4\n")


@step
def metrics() -> Annotated[JSONString, "metrics"]:
    return JSONString('{"accuracy": 0.93, "per_class": {"a": 0.9, "b": 0.95}}')


@step
def picture() -> Annotated[Image.Image, "picture"]:
    return Image.new("RGB", (64, 48), (200, 30, 30))


@step
def chart(df: pd.DataFrame) -> Annotated[Any, "chart"]:
    return alt.Chart(df).mark_point().encode(x="a", y="b")


@pipeline
def everything() -> None:
    df = frame()
    report(df)
    card()
    table()
    metrics()
    picture()
    chart(df)


def run_everything() -> PipelineRunResponse:
    """Run the pipeline once in the current ZVIZ_HOME and return the run."""
    return everything()
