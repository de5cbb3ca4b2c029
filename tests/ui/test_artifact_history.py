"""The artifact page lists the artifact's other versions with the pipeline, run and step of
each, the steps that used it, and a pipeline filter kept in the URL (issue 14, section 5)."""

from __future__ import annotations

from typing import Annotated

from tests.ui.conftest import link_labels, no_exception, plain, texts
from zviz_core import Client, pipeline, step


@step
def score(value: float) -> Annotated[dict, "metrics"]:
    return {"value": value}


@step
def gate(metrics: dict) -> bool:
    return metrics["value"] > 0.5


@pipeline
def wine() -> None:
    gate(score(0.9))


@pipeline
def toy() -> None:
    score(0.1)


def test_the_page_lists_every_version_with_its_pipeline_and_uses(open_page, client: Client) -> None:
    first = wine()
    toy_run = toy()
    newest = client.list_artifact_versions(artifact_name="metrics").items[0]
    at = open_page("artifacts", id=newest.id)
    no_exception(at)
    assert "Versions of metrics" in [plain(s.value) for s in at.header]
    assert any("shared by 2 pipelines" in c for c in texts(at, "caption"))
    links = link_labels(at)
    # The other version opens by its number; each producer and user opens its run and step.
    assert "v1" in links
    assert f"{toy_run.name} > score" in links
    assert f"{first.name} > score" in links
    assert f"{first.name} > gate (metrics)" in links
    assert any("v2 · this version" in plain(m) for m in texts(at, "markdown"))

    pipeline_filter = at.selectbox(key=f"history-pipeline-{newest.id}")
    pipeline_filter.select("wine").run()
    no_exception(at)
    assert at.query_params["vpipeline"] == "wine"
    links = link_labels(at)
    assert f"{first.name} > score" in links and f"{toy_run.name} > score" not in links
    assert any("Versions 1-1 of 1" in c for c in texts(at, "caption"))


def test_a_shared_link_with_the_filter_opens_filtered(open_page, client: Client) -> None:
    wine()
    toy_run = toy()
    newest = client.list_artifact_versions(artifact_name="metrics").items[0]
    at = open_page("artifacts", id=newest.id, vpipeline="toy")
    no_exception(at)
    assert at.selectbox(key=f"history-pipeline-{newest.id}").value == "toy"
    assert f"{toy_run.name} > score" in link_labels(at)
    # A filter naming no pipeline of this artifact shows them all.
    at = open_page("artifacts", id=newest.id, vpipeline="<b>nope</b>")
    no_exception(at)
    assert at.selectbox(key=f"history-pipeline-{newest.id}").value == ""
    assert any("Versions 1-2 of 2" in c for c in texts(at, "caption"))
