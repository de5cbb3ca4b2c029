"""The public names of issue 2's contract: imports, enum values, Client methods and model attributes."""

from __future__ import annotations

import inspect
from uuid import UUID

import pytest

from zviz_core import Client, pipeline, step
from zviz_core.enums import (
    CuratedVisualizationSize,
    VisualizationResourceTypes,
    VisualizationType,
)
from zviz_core.errors import EntityExistsError, ZvizError
from zviz_core.materializers import BaseMaterializer
from zviz_core.types import CSVString, HTMLString, JSONString, MarkdownString


def test_enum_values_match_zenml_plus_vega_lite() -> None:
    assert {t.name: t.value for t in VisualizationType} == {
        "CSV": "csv",
        "HTML": "html",
        "IMAGE": "image",
        "MARKDOWN": "markdown",
        "JSON": "json",
        "VEGA_LITE": "vega_lite",
    }
    assert {s.name: s.value for s in CuratedVisualizationSize} == {
        "FULL_WIDTH": "full_width",
        "HALF_WIDTH": "half_width",
    }
    assert {t.name: t.value for t in VisualizationResourceTypes} == {
        "DEPLOYMENT": "deployment",
        "MODEL": "model",
        "PIPELINE": "pipeline",
        "PIPELINE_RUN": "pipeline_run",
        "PIPELINE_SNAPSHOT": "pipeline_snapshot",
        "PROJECT": "project",
    }
    # String enums compare equal to their values, as ZenML's do.
    assert VisualizationType.HTML == "html"


def test_string_types_are_str_and_errors_share_a_base() -> None:
    for cls in (HTMLString, MarkdownString, CSVString, JSONString):
        value = cls("x")
        assert isinstance(value, str) and value == "x"
    assert issubclass(EntityExistsError, ZvizError)
    assert inspect.isclass(BaseMaterializer)
    assert callable(pipeline) and callable(step)


CLIENT_METHODS = {
    "create_project": ["name"],
    "get_project": [],
    "list_projects": [],
    "get_pipeline": [],
    "list_pipelines": [],
    "delete_pipeline": [],
    "get_pipeline_run": [],
    "list_pipeline_runs": [],
    "delete_pipeline_run": [],
    "get_artifact_version": [],
    "list_artifact_versions": [],
    "delete_artifact_version": [],
    "create_model": ["name"],
    "list_models": [],
    "delete_model": [],
    "create_deployment": ["name", "snapshot_id"],
    "list_deployments": [],
    "delete_deployment": [],
    "get_snapshot": [],
    "delete_snapshot": [],
    "load_visualization": ["visualization_id"],
    "create_curated_visualization": [
        "artifact_visualization_id",
        "resource_id",
        "resource_type",
        "project_id",
        "display_name",
        "display_order",
        "layout_size",
    ],
    "get_curated_visualization": ["hydrate"],
    "update_curated_visualization": [
        "visualization_id",
        "display_name",
        "display_order",
        "layout_size",
    ],
    "delete_curated_visualization": [],
    "list_curated_visualizations": ["resource_type", "resource_id"],
}


@pytest.mark.parametrize("method", sorted(CLIENT_METHODS))
def test_client_has_the_contract_methods(method: str) -> None:
    fn = getattr(Client, method)
    params = inspect.signature(fn).parameters
    for name in CLIENT_METHODS[method]:
        assert name in params, f"Client.{method} lacks the parameter {name!r}"


def test_curated_defaults_are_as_documented() -> None:
    create = inspect.signature(Client.create_curated_visualization).parameters
    assert create["project_id"].default is None
    assert create["display_name"].default is None
    assert create["display_order"].default is None
    assert create["layout_size"].default == CuratedVisualizationSize.FULL_WIDTH
    update = inspect.signature(Client.update_curated_visualization).parameters
    assert all(update[n].default is None for n in ("display_name", "display_order", "layout_size"))
    assert inspect.signature(Client.get_curated_visualization).parameters["hydrate"].default is True
    deploy = inspect.signature(Client.create_deployment).parameters
    assert deploy["snapshot_id"].default is None


@pytest.mark.duckdb_only
def test_client_reads_zviz_home_when_constructed(tmp_path, monkeypatch) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    monkeypatch.setenv("ZVIZ_HOME", str(first))
    a = Client()
    monkeypatch.setenv("ZVIZ_HOME", str(second))
    b = Client()
    a.create_model(name="only-in-one")
    assert [m.name for m in a.list_models().items] == ["only-in-one"]
    assert b.list_models().items == []
    assert (first / "zviz.duckdb").exists()


def test_default_project_and_project_calls(client: Client) -> None:
    project = client.active_project
    assert project.name == "default"
    assert isinstance(project.id, UUID)
    assert client.get_project("default").id == project.id
    assert client.get_project(project.id).name == "default"
    other = client.create_project("research")
    with pytest.raises(EntityExistsError):
        client.create_project("research")
    page = client.list_projects()
    assert {p.name for p in page.items} == {"default", "research"}
    assert page.total == 2
    assert client.get_project("research").id == other.id
    with pytest.raises(KeyError):
        client.get_project("nope")


def test_models_and_deployments(client: Client) -> None:
    model = client.create_model(name="classifier")
    assert model.name == "classifier"
    with pytest.raises(EntityExistsError):
        client.create_model(name="classifier")
    assert [m.id for m in client.list_models().items] == [model.id]
    deployment = client.create_deployment(name="serving")
    assert deployment.snapshot_id is None
    assert [d.id for d in client.list_deployments().items] == [deployment.id]
    with pytest.raises(KeyError):
        client.create_deployment(name="x", snapshot_id="00000000-0000-0000-0000-000000000000")
    client.delete_model(model.id)
    client.delete_deployment(deployment.id)
    assert client.list_models().items == [] and client.list_deployments().total == 0
    with pytest.raises(KeyError):
        client.delete_model(model.id)
