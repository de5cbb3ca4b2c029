"""What a ZenML user's code relies on beyond the page's examples: ZenML's module paths, the
BaseMaterializer defaults, run outputs, the enable_artifact_visualization rule, classes defined
inside a function, and clearing a tile's display_order."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import pytest

from zviz_core import Client, pipeline, step
from zviz_core.enums import VisualizationType
from zviz_core.errors import ArtifactLoadError, InvalidInputError, UnboundResponseError
from zviz_core.models import PipelineRunResponse
from zviz_core.types import HTMLString

# -- module paths --------------------------------------------------------------------------------

# (ZenML's module with `zenml` -> `zviz_core`, name) -> zviz's own module that defines it
# (`module:name` where zviz's name differs).
ZENML_PATHS = {
    ("zviz_core", "step"): "zviz_core.pipelines",
    ("zviz_core", "pipeline"): "zviz_core.pipelines",
    ("zviz_core.client", "Client"): "zviz_core.client",
    ("zviz_core.enums", "VisualizationType"): "zviz_core.enums",
    ("zviz_core.enums", "CuratedVisualizationSize"): "zviz_core.enums",
    ("zviz_core.enums", "VisualizationResourceTypes"): "zviz_core.enums",
    ("zviz_core.enums", "ExecutionStatus"): "zviz_core.enums",
    ("zviz_core.types", "HTMLString"): "zviz_core.types",
    ("zviz_core.types", "MarkdownString"): "zviz_core.types",
    ("zviz_core.types", "CSVString"): "zviz_core.types",
    ("zviz_core.types", "JSONString"): "zviz_core.types",
    ("zviz_core.io", "fileio"): "zviz_core.io",
    ("zviz_core.io.fileio", "open"): "zviz_core.io.fileio",
    ("zviz_core.io.fileio", "exists"): "zviz_core.io.fileio",
    ("zviz_core.io.fileio", "makedirs"): "zviz_core.io.fileio",
    (
        "zviz_core.materializers.base_materializer",
        "BaseMaterializer",
    ): "zviz_core.materializers.base",
    ("zviz_core.materializers.pandas_materializer", "PandasMaterializer"): (
        "zviz_core.materializers.pandas_materializer"
    ),
    ("zviz_core.materializers.numpy_materializer", "NumpyMaterializer"): (
        "zviz_core.materializers.numpy_materializer"
    ),
    ("zviz_core.materializers.built_in_materializer", "BuiltInMaterializer"): (
        "zviz_core.materializers.builtin"
    ),
    ("zviz_core.materializers.built_in_materializer", "BuiltInContainerMaterializer"): (
        "zviz_core.materializers.builtin:BuiltInMaterializer"
    ),
    ("zviz_core.materializers.built_in_materializer", "BytesMaterializer"): (
        "zviz_core.materializers.builtin"
    ),
    ("zviz_core.materializers.structured_string_materializer", "StructuredStringMaterializer"): (
        "zviz_core.materializers.structured_string_materializer"
    ),
}
# zviz's own paths, from before the ZenML names: they keep working.
ZVIZ_PATHS = [
    ("zviz_core.materializers", "BaseMaterializer"),
    ("zviz_core.materializers", "materializer_for"),
    ("zviz_core.materializers.base", "BaseMaterializer"),
    ("zviz_core.materializers.builtin", "HTMLStringMaterializer"),
    ("zviz_core.materializers.builtin", "BuiltInMaterializer"),
    ("zviz_core.materializers.pillow_materializer", "PillowImageMaterializer"),
    ("zviz_core.materializers.altair_materializer", "AltairChartMaterializer"),
    ("zviz_core.artifacts.loading", "load_artifact"),
]


def _from_import(module: str, name: str) -> object:
    """What `from <module> import <name>` gives, as a user's import line runs it."""
    namespace: dict[str, object] = {}
    exec(f"from {module} import {name}", namespace)
    return namespace[name]


@pytest.mark.duckdb_only  # imports only: no store involved
@pytest.mark.parametrize(("module", "name"), sorted(ZENML_PATHS), ids=lambda v: str(v))
def test_zenml_module_paths_import(module: str, name: str) -> None:
    value = _from_import(module, name)
    defined_in, _, own_name = ZENML_PATHS[(module, name)].partition(":")
    # The same object as zviz's own, not a copy that a registry or isinstance would not know.
    assert value is _from_import(defined_in, own_name or name)
    assert getattr(value, "__module__", defined_in).startswith(defined_in)


@pytest.mark.duckdb_only
@pytest.mark.parametrize(("module", "name"), ZVIZ_PATHS, ids=lambda v: str(v))
def test_zviz_module_paths_still_import(module: str, name: str) -> None:
    assert _from_import(module, name) is not None


def test_a_subclass_of_the_zenml_named_string_materializer_registers_and_round_trips(
    client: Client,
) -> None:
    from zviz_core.materializers.structured_string_materializer import (
        StructuredStringMaterializer,
    )

    class Report(HTMLString):
        pass

    class ReportMaterializer(StructuredStringMaterializer):
        ASSOCIATED_TYPES = (Report,)

    @step
    def report() -> Report:
        return Report("<h1>quarterly</h1>")

    @pipeline
    def reporting() -> None:
        report()

    av = reporting().steps["report"].output
    assert av.materializer.endswith("ReportMaterializer")
    (viz,) = av.visualizations
    assert viz.type == VisualizationType.HTML
    loaded = av.load()
    assert type(loaded) is Report and loaded == "<h1>quarterly</h1>"

    # The alias itself took no type away from the built-ins.
    @step
    def plain_html() -> HTMLString:
        return HTMLString("<p>plain</p>")

    @pipeline
    def plain_pipeline() -> None:
        plain_html()

    out = plain_pipeline().steps["plain_html"].output
    assert out.materializer == "zviz_core.materializers.builtin.HTMLStringMaterializer"


# -- BaseMaterializer defaults -------------------------------------------------------------------


def test_a_materializer_with_only_save_visualizations_stores_them_and_loads_none(
    client: Client,
) -> None:
    from zviz_core.materializers.base_materializer import BaseMaterializer

    class Chart:
        def __init__(self, title: str) -> None:
            self.title = title

    class ChartMaterializer(BaseMaterializer):
        ASSOCIATED_TYPES = (Chart,)

        def save_visualizations(self, data: Chart) -> dict[str, VisualizationType]:
            path = self.path("chart.md")
            with self.artifact_store.open(path, "w") as fh:
                fh.write(f"# {data.title}")
            return {path: VisualizationType.MARKDOWN}

    @step
    def chart() -> Chart:
        return Chart("loss")

    @pipeline
    def charting() -> None:
        chart()

    av = charting().steps["chart"].output
    (viz,) = av.visualizations
    assert client.load_visualization(viz.id).value == "# loss"
    assert sorted(p.name for p in Path(av.uri).iterdir()) == ["chart.md"]
    with pytest.warns(UserWarning, match=r"ChartMaterializer defines no load\(\).*None"):
        assert av.load() is None


# -- run outputs ---------------------------------------------------------------------------------


@step
def features() -> Annotated[int, "features"]:
    return 3


@step
def model_and_score(n: int) -> tuple[Annotated[int, "model"], Annotated[float, "score"]]:
    return n * 2, 0.5


@step
def report(score: float) -> HTMLString:
    return HTMLString(f"<p>{score}</p>")


@pipeline
def returns_one() -> int:
    return features()


@pipeline
def returns_a_tuple():
    n = features()
    model, score = model_and_score(n)
    report(score)
    return score, model


@pipeline
def returns_nothing() -> None:
    features()


def test_run_outputs_are_what_the_pipeline_returned(client: Client) -> None:
    run = returns_one()
    assert list(run.outputs) == ["features"]
    assert run.outputs["features"].load() == 3
    assert run.outputs["features"].id == run.steps["features"].outputs["features"][0].id

    run = returns_a_tuple()
    # In the order returned, by output name, each bound to the client (it loads).
    assert list(run.outputs) == ["score", "model"]
    assert run.outputs["model"].load() == 6 and run.outputs["score"].load() == 0.5
    # A later read of the run, in a new Client, sees the same.
    again = Client().get_pipeline_run(run.id)
    assert {k: v.id for k, v in again.outputs.items()} == {k: v.id for k, v in run.outputs.items()}
    assert returns_nothing().outputs == {}


def test_a_shared_output_name_is_qualified_by_its_step(client: Client) -> None:
    @step
    def left() -> int:
        return 1

    @step
    def right() -> int:
        return 2

    @pipeline
    def both():
        return left(), right()

    outputs = both().outputs
    assert list(outputs) == ["left.output", "right.output"]
    assert [v.load() for v in outputs.values()] == [1, 2]


def test_a_returned_value_no_step_made_is_left_out_with_a_warning(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    @pipeline
    def mixed():
        return features(), "made in the pipeline body"

    with caplog.at_level(logging.WARNING, logger="zviz"):
        run = mixed()
    assert list(run.outputs) == ["features"]
    assert "no step produced" in caplog.text


def test_failed_runs_have_no_outputs(client: Client) -> None:
    @step
    def boom() -> int:
        raise RuntimeError("no")

    @pipeline
    def failing():
        features()
        return boom()

    with pytest.raises(RuntimeError):
        failing()
    (run,) = [r for r in client.list_pipeline_runs().items if r.pipeline.name == "failing"]
    assert run.outputs == {}


def test_a_deleted_output_version_drops_out_of_outputs(client: Client) -> None:
    run = returns_a_tuple()
    client.delete_artifact_version(run.outputs["model"].id)
    assert list(client.get_pipeline_run(run.id).outputs) == ["score"]


def test_artifact_versions_and_produced_artifact_versions(client: Client) -> None:
    run = returns_a_tuple()
    expected = [
        run.steps["features"].outputs["features"][0].id,
        run.steps["model_and_score"].outputs["model"][0].id,
        run.steps["model_and_score"].outputs["score"][0].id,
        run.steps["report"].output.id,
    ]
    assert [av.id for av in run.artifact_versions] == expected
    # zviz has no cache: everything a run lists, it produced.
    assert [av.id for av in run.produced_artifact_versions] == expected
    assert run.artifact_versions[-1].load() == "<p>0.5</p>"


def test_run_output_is_the_documented_typo_and_says_so(client: Client) -> None:
    run = returns_one()
    with pytest.raises(AttributeError, match=r"did you mean `outputs`"):
        run.output.get("features")
    assert not hasattr(run, "output")
    with pytest.raises(AttributeError, match="no_such_thing"):
        run.no_such_thing  # noqa: B018


def test_outputs_of_a_run_not_from_a_client_are_refused(client: Client) -> None:
    run = returns_one()
    stray = PipelineRunResponse.model_validate(run.model_dump())
    with pytest.raises(UnboundResponseError):
        stray.outputs  # noqa: B018


def test_get_artifact_version_takes_a_returned_version(client: Client) -> None:
    run = returns_one()
    returned = run.outputs.get("features")
    assert client.get_artifact_version(returned).id == returned.id


# -- enable_artifact_visualization: ZenML's rule -------------------------------------------------

FLAGS = (None, True, False)


def _expected(step_flag: bool | None, pipeline_flag: bool | None) -> bool:
    """ZenML's is_setting_enabled: the step's value if set, else the pipeline's, else on."""
    if step_flag is not None:
        return step_flag
    return True if pipeline_flag is None else pipeline_flag


def _flagged_pipeline(step_flag: bool | None, pipeline_flag: bool | None):
    @step(enable_artifact_visualization=step_flag)
    def first() -> int:
        return 1

    @step
    def second() -> int:
        return 2

    @pipeline(enable_artifact_visualization=pipeline_flag)
    def flagged() -> None:
        first()
        second()

    return flagged


def _yaml(tmp_path: Path, step_flag: bool | None, pipeline_flag: bool | None) -> Path:
    lines = []
    if pipeline_flag is not None:
        lines.append(f"enable_artifact_visualization: {pipeline_flag}")
    if step_flag is not None:
        lines += ["steps:", "  first:", f"    enable_artifact_visualization: {step_flag}"]
    path = tmp_path / "run.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _shown(run: PipelineRunResponse) -> tuple[bool, bool]:
    return tuple(bool(run.steps[n].output.visualizations) for n in ("first", "second"))


# Where the step's and the pipeline's settings are made: in code (decorators) or in YAML
# (`steps.first` and the top level), and each mix of the two.
WHERE = ("code/code", "yaml/yaml", "code/yaml", "yaml/code")


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("pipeline_flag", FLAGS, ids=lambda f: f"pipeline={f}")
@pytest.mark.parametrize("step_flag", FLAGS, ids=lambda f: f"step={f}")
def test_precedence_matrix(
    step_flag: bool | None, pipeline_flag: bool | None, where: str, client: Client, tmp_path: Path
) -> None:
    step_where, pipeline_where = where.split("/")
    flagged = _flagged_pipeline(
        step_flag if step_where == "code" else None,
        pipeline_flag if pipeline_where == "code" else None,
    )
    in_yaml = (
        step_flag if step_where == "yaml" else None,
        pipeline_flag if pipeline_where == "yaml" else None,
    )
    if in_yaml != (None, None):
        flagged = flagged.with_options(config_path=_yaml(tmp_path, *in_yaml))
    run = flagged()
    want = _expected(step_flag, pipeline_flag)
    assert _shown(run) == (want, _expected(None, pipeline_flag))
    assert run.steps["first"].config["enable_artifact_visualization"] is want


@pytest.mark.parametrize(
    ("decorated", "configured", "expected"),
    [(True, False, False), (False, True, True), (True, None, True)],
)
def test_at_the_same_level_the_run_configuration_beats_the_decorator(
    decorated: bool, configured: bool | None, expected: bool, client: Client, tmp_path: Path
) -> None:
    # Step level: YAML `steps.first` over @step; then with_options(steps=...) the same way.
    flagged = _flagged_pipeline(decorated, None)
    assert _shown(flagged.with_options(config_path=_yaml(tmp_path, configured, None))())[0] is (
        expected
    )
    steps = {} if configured is None else {"first": {"enable_artifact_visualization": configured}}
    assert _shown(flagged.with_options(steps=steps)())[0] is expected
    # Pipeline level: top-level YAML and with_options over @pipeline (the step left unset).
    flagged = _flagged_pipeline(None, decorated)
    assert _shown(flagged.with_options(config_path=_yaml(tmp_path, None, configured))()) == (
        expected,
        expected,
    )
    assert _shown(flagged.with_options(enable_artifact_visualization=configured)()) == (
        expected,
        expected,
    )


def test_step_with_options_sets_the_step_level(client: Client) -> None:
    @step
    def first() -> int:
        return 1

    @step
    def second() -> int:
        return 2

    quiet_first = first.with_options(enable_artifact_visualization=False)

    @pipeline(enable_artifact_visualization=True)
    def mixed() -> None:
        quiet_first()
        second()

    assert _shown(mixed()) == (False, True)
    assert first.enable_artifact_visualization is None  # the original is unchanged


# -- classes defined inside a function -----------------------------------------------------------


def test_types_and_materializers_defined_in_a_function_load_back_in_this_process(
    client: Client,
) -> None:
    from zviz_core.materializers.base_materializer import BaseMaterializer

    class Point:
        def __init__(self, x: int, y: int) -> None:
            self.x, self.y = x, y

    class PointMaterializer(BaseMaterializer):
        ASSOCIATED_TYPES = (Point,)

        def save(self, data: Point) -> None:
            with self.artifact_store.open(self.path("point.txt"), "w") as fh:
                fh.write(f"{data.x},{data.y}")

        def load(self, data_type: type) -> Point:
            with self.artifact_store.open(self.path("point.txt"), "r") as fh:
                return data_type(*map(int, fh.read().split(",")))

    class Banner(HTMLString):  # a local type that a built-in materializer stores
        pass

    @step
    def make() -> tuple[Point, Banner]:
        return Point(2, 5), Banner("<b>hi</b>")

    @pipeline
    def local_types() -> None:
        make()

    outputs = local_types().steps["make"].outputs
    point = outputs["output_0"][0]
    assert "<locals>" in point.data_type and "<locals>" in point.materializer
    loaded = Client().get_artifact_version(point.id).load()
    assert type(loaded) is Point and (loaded.x, loaded.y) == (2, 5)
    banner = outputs["output_1"][0].load()
    assert type(banner) is Banner and banner == "<b>hi</b>"


def test_a_type_never_seen_here_still_names_what_to_import(client: Client) -> None:
    run = returns_one()
    av = run.outputs["features"]
    forged = av.model_copy(update={"data_type": "nowhere.Missing"})
    forged._bind(client)
    with pytest.raises(ArtifactLoadError, match=r"nowhere\.Missing.*Import the module"):
        forged.load()


# -- clearing a tile's display_order -------------------------------------------------------------


def test_clear_display_order_puts_the_tile_last_in_creation_order(client: Client) -> None:
    run = returns_a_tuple()
    pid = run.pipeline.id
    vizs = [run.steps["report"].output.visualizations[0]]
    vizs += [v for av in run.artifact_versions[:3] for v in av.visualizations][:2]
    first = client.create_curated_visualization(vizs[0].id, pid, "pipeline", display_order=5)
    unset = client.create_curated_visualization(vizs[1].id, pid, "pipeline")
    later = client.create_curated_visualization(vizs[2].id, pid, "pipeline", display_order=10)

    def order() -> list:
        return [t.id for t in client.list_curated_visualizations("pipeline", pid)]

    assert order() == [first.id, later.id, unset.id]
    # None leaves the order as it is (as in ZenML) ...
    kept = client.update_curated_visualization(first.id, display_name="Kept")
    assert kept.display_order == 5
    # ... and clear_display_order=True makes it unset: after the ordered tiles, and among the
    # unset ones in creation order (it was made before `unset`).
    cleared = client.update_curated_visualization(first.id, clear_display_order=True)
    assert cleared.display_order is None and cleared.display_name == "Kept"
    assert client.get_curated_visualization(first.id).display_order is None
    assert order() == [later.id, first.id, unset.id]
    # Its old number is free again.
    assert client.update_curated_visualization(unset.id, display_order=5).display_order == 5
    assert order() == [unset.id, later.id, first.id]


def test_clear_display_order_with_a_display_order_is_refused(client: Client) -> None:
    run = returns_one()
    viz = run.outputs["features"].visualizations[0]
    tile = client.create_curated_visualization(viz.id, run.pipeline.id, "pipeline", display_order=5)
    with pytest.raises(InvalidInputError, match="not both"):
        client.update_curated_visualization(tile.id, display_order=7, clear_display_order=True)
    assert client.get_curated_visualization(tile.id).display_order == 5
    # -1 stays what it is in ZenML: an invalid order, not a way to clear.
    with pytest.raises(InvalidInputError):
        client.update_curated_visualization(tile.id, display_order=-1)
