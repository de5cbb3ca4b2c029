"""Materializers: the built-ins' files and visualizations, custom ones, overrides and failures."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import altair as alt
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from zviz_core import Client, pipeline, step
from zviz_core.enums import ExecutionStatus, VisualizationType
from zviz_core.errors import MaterializerNotFoundError, ZvizError
from zviz_core.io import fileio
from zviz_core.materializers import BaseMaterializer
from zviz_core.models import ArtifactVersionResponse
from zviz_core.types import CSVString, HTMLString, JSONString, MarkdownString

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def produce(value: Any, **step_options: Any) -> ArtifactVersionResponse:
    """Run a one-step pipeline returning `value`; return its stored output."""

    @step(**step_options)
    def emit() -> Annotated[Any, "value"]:
        return value

    @pipeline
    def single() -> None:
        emit()

    run = single()
    assert run.status == ExecutionStatus.COMPLETED
    return run.steps["emit"].output


def viz_files(av: ArtifactVersionResponse) -> list[tuple[str, str]]:
    return [(v.type.value, os.path.basename(v.uri)) for v in av.visualizations]


def png(client: Client, av: ArtifactVersionResponse, index: int = 0) -> Image.Image:
    loaded = client.load_visualization(av.visualizations[index].id)
    assert loaded.type == VisualizationType.IMAGE
    assert isinstance(loaded.value, bytes) and loaded.value.startswith(PNG_MAGIC)
    return Image.open(io.BytesIO(loaded.value))


# -- built-ins -----------------------------------------------------------------------------------


def test_dataframe_describe_and_sample_csv(client: Client) -> None:
    df = pd.DataFrame(
        {"x": np.arange(50), "y": np.linspace(0.0, 1.0, 50), "label": ["a", "b"] * 25}
    )
    av = produce(df)
    assert viz_files(av) == [
        ("csv", "describe.csv"),
        ("csv", "sample.csv"),
        ("vega_lite", "profile.json"),
    ]
    assert [v.position for v in av.visualizations] == [0, 1, 2]
    describe = client.load_visualization(av.visualizations[0].id)
    assert describe.type == VisualizationType.CSV and isinstance(describe.value, str)
    described = pd.read_csv(io.StringIO(describe.value), index_col=0)
    assert {"count", "mean", "std", "min", "max"} <= set(described.index)
    assert described.loc["mean", "x"] == pytest.approx(df["x"].mean())
    sample = pd.read_csv(io.StringIO(client.load_visualization(av.visualizations[1].id).value))
    assert len(sample) == 10
    assert list(sample.columns) == ["x", "y", "label"]
    assert sample["x"].tolist() == list(range(10))
    pd.testing.assert_frame_equal(av.load(), df)
    assert av.uri and os.path.exists(os.path.join(av.uri, "data.parquet"))


def test_series_round_trips(client: Client) -> None:
    series = pd.Series([1.5, 2.5, 3.5], name="s")
    loaded = produce(series).load()
    assert isinstance(loaded, pd.Series)
    assert loaded.tolist() == [1.5, 2.5, 3.5]


def test_numpy_1d_numbers_get_a_histogram(client: Client) -> None:
    data = np.random.default_rng(1).normal(size=500)
    av = produce(data)
    assert viz_files(av) == [("image", "histogram.png")]
    assert png(client, av).format == "PNG"
    np.testing.assert_array_equal(av.load(), data)


@pytest.mark.parametrize(("channels", "mode"), [(3, "RGB"), (4, "RGBA")])
def test_numpy_color_images(channels: int, mode: str, client: Client) -> None:
    data = np.zeros((12, 20, channels), dtype=np.uint8)
    data[..., 0] = 255
    av = produce(data)
    assert viz_files(av) == [("image", "image.png")]
    image = png(client, av)
    assert image.size == (20, 12) and image.mode == mode
    assert image.getpixel((0, 0))[0] == 255
    np.testing.assert_array_equal(av.load(), data)


def test_numpy_2d_is_a_grayscale_image(client: Client) -> None:
    data = np.linspace(0.0, 1.0, 30 * 40).reshape(30, 40)
    av = produce(data)
    assert viz_files(av) == [("image", "image.png")]
    image = png(client, av)
    assert image.size == (40, 30) and image.mode == "L"
    assert image.getpixel((0, 0)) == 0 and image.getpixel((39, 29)) == 255
    np.testing.assert_array_equal(av.load(), data)


@pytest.mark.parametrize(
    "data",
    [np.zeros((2, 3, 5)), np.array(["a", "b"]), np.array([], dtype=float)],
    ids=["3d-not-an-image", "strings", "empty"],
)
def test_numpy_without_a_picture_has_no_visualization(data: np.ndarray, client: Client) -> None:
    av = produce(data)
    assert av.visualizations == []
    np.testing.assert_array_equal(av.load(), data)


def test_pil_image_file_is_the_visualization(client: Client) -> None:
    image = Image.new("RGB", (16, 8), (10, 200, 30))
    av = produce(image)
    assert viz_files(av) == [("image", "image.png")]
    assert png(client, av).getpixel((3, 3)) == (10, 200, 30)
    loaded = av.load()
    assert isinstance(loaded, Image.Image)
    assert loaded.size == (16, 8) and loaded.getpixel((0, 0)) == (10, 200, 30)


@pytest.mark.parametrize(
    ("cls", "vtype", "text"),
    [
        (HTMLString, "html", "<h1>Hello</h1><p>world</p>"),
        (MarkdownString, "markdown", "# Title\n\n* item"),
        (CSVString, "csv", "a,b\n1,2\n"),
        (JSONString, "json", '{"accuracy": 0.9}'),
    ],
)
def test_string_types_are_their_own_visualization(
    cls: type, vtype: str, text: str, client: Client
) -> None:
    av = produce(cls(text))
    assert [v.type.value for v in av.visualizations] == [vtype]
    viz = av.visualizations[0]
    # The visualization is the artifact's own file.
    assert viz.uri.startswith(av.uri)
    loaded = client.load_visualization(viz.id)
    assert loaded.value == text and isinstance(loaded.value, str)
    value = av.load()
    assert type(value) is cls and value == text


def test_invalid_json_string_fails_the_step_clearly(client: Client) -> None:
    with pytest.raises(ValueError, match="JSONString"):
        produce(JSONString("{not json"))
    assert client.list_pipeline_runs().items[0].status == ExecutionStatus.FAILED


@pytest.mark.parametrize(
    "value",
    [True, 7, 2.5, "plain text", [1, 2, 3], {"a": [1, {"b": None}]}, None],
    ids=["bool", "int", "float", "str", "list", "dict", "none"],
)
def test_json_able_values_become_data_json(value: Any, client: Client) -> None:
    av = produce(value)
    if value is None:
        # A step returning None has no output at all.
        return
    assert viz_files(av) == [("json", "data.json")]
    loaded = client.load_visualization(av.visualizations[0].id)
    assert json.loads(loaded.value) == value
    result = av.load()
    assert result == value and type(result) is type(value)


def test_step_returning_none_has_no_output(client: Client) -> None:
    @step
    def silent() -> None:
        pass

    @pipeline
    def quiet() -> None:
        silent()

    assert quiet().steps["silent"].outputs == {}


def test_bytes_are_shown_as_markdown(client: Client) -> None:
    av = produce(b"raw *bytes* here")
    assert [v.type for v in av.visualizations] == [VisualizationType.MARKDOWN]
    assert client.load_visualization(av.visualizations[0].id).value == "raw *bytes* here"
    assert av.load() == b"raw *bytes* here"


def test_altair_chart_is_a_vega_lite_spec(client: Client) -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": [3, 1, 2]})
    chart = alt.Chart(df).mark_line().encode(x="a", y="b")
    av = produce(chart)
    assert [v.type for v in av.visualizations] == [VisualizationType.VEGA_LITE]
    assert VisualizationType.VEGA_LITE == "vega_lite"
    spec = json.loads(client.load_visualization(av.visualizations[0].id).value)
    assert "vega-lite" in spec["$schema"]
    mark = spec["mark"]
    assert (mark["type"] if isinstance(mark, dict) else mark) == "line"
    assert spec["encoding"]["x"]["field"] == "a"
    loaded = av.load()
    assert isinstance(loaded, alt.TopLevelMixin)
    assert loaded.to_dict()["encoding"] == chart.to_dict()["encoding"]


def test_every_kind_in_one_pipeline(client: Client) -> None:
    from zviz_testing.factories import run_everything

    run = run_everything()
    kinds = {name: [v.type.value for v in s.output.visualizations] for name, s in run.steps.items()}
    assert kinds == {
        "frame": ["csv", "csv", "vega_lite"],
        "report": ["html"],
        "card": ["markdown"],
        "table": ["csv"],
        "metrics": ["json"],
        "picture": ["image"],
        "chart": ["vega_lite"],
    }
    for s in run.steps.values():
        for viz in s.output.visualizations:
            assert client.load_visualization(viz.id).value


# -- custom materializers ------------------------------------------------------------------------


class Weather:
    def __init__(self, city: str, celsius: float) -> None:
        self.city, self.celsius = city, celsius


class WeatherMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (Weather,)
    seen_uri_exists: list[bool] = []

    def save(self, data: Weather) -> None:
        # `uri` is the artifact's own folder and exists when save runs.
        self.seen_uri_exists.append(os.path.isdir(self.uri))
        with self.artifact_store.open(self.path("weather.json"), "w") as fh:
            json.dump({"city": data.city, "celsius": data.celsius}, fh)

    def load(self, data_type: type) -> Weather:
        with self.artifact_store.open(self.path("weather.json"), "r") as fh:
            raw = json.load(fh)
        return data_type(raw["city"], raw["celsius"])

    def save_visualizations(self, data: Weather) -> dict[str, VisualizationType]:
        html, md = self.path("card.html"), self.path("card.md")
        with self.artifact_store.open(html, "w") as fh:
            fh.write(f"<h2>{data.city}</h2>")
        with self.artifact_store.open(md, "w") as fh:
            fh.write(f"**{data.celsius} °C**")
        return {html: VisualizationType.HTML, md: VisualizationType.MARKDOWN}


class SunnyWeather(Weather):
    pass


def test_a_user_materializer_registers_itself(client: Client) -> None:
    WeatherMaterializer.seen_uri_exists.clear()
    av = produce(Weather("Oslo", -3.5))
    assert WeatherMaterializer.seen_uri_exists == [True]
    assert av.materializer.endswith("WeatherMaterializer")
    assert viz_files(av) == [("html", "card.html"), ("markdown", "card.md")]
    assert client.load_visualization(av.visualizations[0].id).value == "<h2>Oslo</h2>"
    assert client.load_visualization(av.visualizations[1].id).value == "**-3.5 °C**"
    loaded = av.load()
    assert isinstance(loaded, Weather) and (loaded.city, loaded.celsius) == ("Oslo", -3.5)
    # A subclass of the associated type uses it too, and loads back as the subclass.
    sunny = produce(SunnyWeather("Rome", 30.0)).load()
    assert type(sunny) is SunnyWeather and sunny.city == "Rome"


class ShoutingMaterializer(BaseMaterializer):
    """Stores a str upper-cased; only used through output_materializers."""

    ASSOCIATED_TYPES = ()

    def save(self, data: str) -> None:
        with self.artifact_store.open(self.path("shout.txt"), "w") as fh:
            fh.write(data.upper())

    def load(self, data_type: type) -> str:
        with self.artifact_store.open(self.path("shout.txt"), "r") as fh:
            return fh.read()

    def save_visualizations(self, data: str) -> dict[str, VisualizationType]:
        return {self.path("shout.txt"): VisualizationType.MARKDOWN}


def test_output_materializers_override_the_registry(client: Client) -> None:
    av = produce("quiet words", output_materializers=ShoutingMaterializer)
    assert av.materializer.endswith("ShoutingMaterializer")
    assert av.load() == "QUIET WORDS"
    assert viz_files(av) == [("markdown", "shout.txt")]
    # Other steps still use the built-in materializer for str.
    plain = produce("quiet words")
    assert plain.load() == "quiet words" and viz_files(plain) == [("json", "data.json")]


def test_output_materializers_by_output_name(client: Client) -> None:
    @step(output_materializers={"loud": ShoutingMaterializer})
    def two() -> tuple[Annotated[str, "loud"], Annotated[str, "soft"]]:
        return "a", "b"

    @pipeline
    def pair() -> None:
        two()

    outputs = pair().steps["two"].outputs
    assert outputs["loud"][0].load() == "A"
    assert outputs["soft"][0].load() == "b"


class BrokenVisualsMaterializer(WeatherMaterializer):
    ASSOCIATED_TYPES = ()

    def save_visualizations(self, data: Weather) -> dict[str, VisualizationType]:
        raise RuntimeError("the chart library fell over")


def test_failing_save_visualizations_warns_and_the_step_succeeds(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        av = produce(Weather("Lima", 19.0), output_materializers=BrokenVisualsMaterializer)
    assert av.visualizations == []
    assert av.load().city == "Lima"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("the chart library fell over" in r.getMessage() for r in warnings)
    assert any("emit" in r.getMessage() for r in warnings)
    run = client.list_pipeline_runs().items[0]
    assert run.status == ExecutionStatus.COMPLETED


# -- a type nothing handles ----------------------------------------------------------------------


class Unstorable:
    pass


def test_unhandled_type_fails_clearly_and_writes_nothing(client: Client, zviz_home: Path) -> None:
    @step
    def fine() -> int:
        return 1

    @step
    def odd() -> Unstorable:
        return Unstorable()

    @pipeline
    def half() -> None:
        fine()
        odd()

    with pytest.raises(MaterializerNotFoundError) as info:
        half()
    message = str(info.value)
    assert "test_materializers.Unstorable" in message
    assert "BaseMaterializer" in message and "ASSOCIATED_TYPES" in message
    assert "output_materializers" in message
    assert isinstance(info.value, ZvizError) and isinstance(info.value, TypeError)

    run = client.get_pipeline_run(client.list_pipeline_runs().items[0].id)
    assert run.status == ExecutionStatus.FAILED
    assert "Unstorable" in run.error
    assert run.steps["odd"].status == ExecutionStatus.FAILED
    assert run.steps["odd"].outputs == {}
    # Only the successful step's artifact exists, in the database and on disk.
    versions = client.list_artifact_versions(run_id=run.id)
    assert [v.id for v in versions.items] == [run.steps["fine"].output.id]
    assert not (zviz_home / "artifacts" / "odd").exists() or not any(
        (zviz_home / "artifacts" / "odd").rglob("*.*")
    )


def test_json_unfriendly_container_is_refused_and_leaves_no_files(
    client: Client, zviz_home: Path
) -> None:
    with pytest.raises(MaterializerNotFoundError, match="JSON"):
        produce([1, Unstorable()])
    run = client.list_pipeline_runs().items[0]
    assert run.status == ExecutionStatus.FAILED
    assert client.list_artifact_versions().total == 0
    # Only the failed step's log (its traceback) is kept, in the run's own folder.
    run_folder = zviz_home / "artifacts" / str(run.id)
    leftovers = [p for p in (zviz_home / "artifacts").rglob("*") if p.is_file()]
    assert [p.relative_to(run_folder).parts[1:] for p in leftovers] == [("logs.txt",)]
    assert "MaterializerNotFoundError" in leftovers[0].read_text()


# -- file access ---------------------------------------------------------------------------------


def test_fileio_open_any_local_path(tmp_path: Path) -> None:
    target = str(tmp_path / "deep" / "er" / "notes.txt")
    with fileio.open(target, "w") as fh:
        fh.write("hello")
    assert fileio.exists(target)
    with fileio.open(target, "r") as fh:
        assert fh.read() == "hello"
    with fileio.open(target, "rb") as fh:
        assert fh.read() == b"hello"
    assert fileio.listdir(str(tmp_path / "deep" / "er")) == ["notes.txt"]
    fileio.rmtree(str(tmp_path / "deep"))
    assert not fileio.exists(target)


def test_fileio_open_an_fsspec_url() -> None:
    url = "memory://zviz-tests/fileio/data.bin"
    with fileio.open(url, "wb") as fh:
        fh.write(b"\x00\x01")
    with fileio.open(url, "rb") as fh:
        assert fh.read() == b"\x00\x01"
    fileio.remove(url)
    assert not fileio.exists(url)


def test_artifact_store_elsewhere(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVIZ_ARTIFACT_STORE", "memory://zviz-tests/store")
    av = produce(HTMLString("<i>remote</i>"))
    assert av.uri.startswith("memory://")
    assert av.visualizations[0].uri.startswith("memory://")
    assert Client().load_visualization(av.visualizations[0].id).value == "<i>remote</i>"
    assert av.load() == "<i>remote</i>"


def test_materializer_api_surface() -> None:
    assert BaseMaterializer.ASSOCIATED_TYPES == ()
    instance = WeatherMaterializer("/tmp/x")
    assert instance.uri == "/tmp/x"
    for name in ("open", "exists", "makedirs", "listdir", "rmtree", "remove"):
        assert callable(getattr(instance.artifact_store, name))
    assert BaseMaterializer("/tmp/x").save_visualizations(object()) == {}


class HalfWritingMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = ()

    def save(self, data: Any) -> None:
        with self.artifact_store.open(self.path("part-1.bin"), "wb") as fh:
            fh.write(b"first half")
        raise OSError("disk said no halfway through")


def test_a_materializer_failing_in_save_fails_the_step_and_leaves_no_files(
    client: Client, zviz_home: Path
) -> None:
    with pytest.raises(OSError, match="halfway"):
        produce("data", output_materializers=HalfWritingMaterializer)
    run = client.get_pipeline_run(client.list_pipeline_runs().items[0].id)
    assert run.status == ExecutionStatus.FAILED
    assert "halfway" in run.steps["emit"].error
    assert client.list_artifact_versions().total == 0
    # Only the failed step's log (its traceback) is kept, in the run's own folder.
    files = [p for p in (zviz_home / "artifacts").rglob("*") if p.is_file()]
    assert [p.relative_to(zviz_home / "artifacts" / str(run.id)).parts[1:] for p in files] == [
        ("logs.txt",)
    ]


class OddTypeMaterializer(ShoutingMaterializer):
    def save_visualizations(self, data: str) -> dict[str, VisualizationType]:
        good = self.path("shout.txt")
        return {self.path("weird.bin"): "hologram", good: VisualizationType.MARKDOWN}  # type: ignore[dict-item]


def test_unknown_visualization_type_is_skipped_with_a_warning(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        av = produce("hi", output_materializers=OddTypeMaterializer)
    assert viz_files(av) == [("markdown", "shout.txt")]
    assert av.visualizations[0].position == 0
    assert any("hologram" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": [1.5, 2.5, np.nan, 4.0], "b": [1, 2, 3, 4]}),
        pd.DataFrame({"only": [np.nan, np.nan]}),
        pd.DataFrame({"one": [7.0]}),
        pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64"), "x": [0.1, 0.2, 0.3]}),
        pd.DataFrame({"flag": [True, False], "v": [1.0, 2.0]}),
        pd.DataFrame({"name": ["a", "b"], "v": [1.0, 2.0]}),
        pd.DataFrame({"a": pd.Series([], dtype=float)}),
    ],
    ids=["floats-ints-nan", "all-missing", "one-row", "nullable-int", "bool", "text", "empty"],
)
def test_the_describe_summary_matches_pandas(frame: pd.DataFrame) -> None:
    from zviz_core.materializers.pandas_materializer import describe

    ours, theirs = describe(frame), frame.describe()
    assert list(ours.index) == list(theirs.index) and list(ours.columns) == list(theirs.columns)
    pd.testing.assert_frame_equal(ours.astype(float), theirs.astype(float), check_exact=False)
