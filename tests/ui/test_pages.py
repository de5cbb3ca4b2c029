"""Every page through the real entrypoint: empty store, with data, deep links and URL state."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.ui.conftest import link_labels, no_exception, plain, texts, visualizations
from zviz_core import Client, pipeline, step
from zviz_core.models import PipelineRunResponse

PAGES = ["overview", "runs", "pipelines", "snapshots", "models", "deployments", "artifacts"]


@step
def greet() -> str:
    return "hello"


@pipeline
def small() -> None:
    greet()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_an_empty_store(open_page, page: str) -> None:
    at = open_page(page)
    no_exception(at)
    assert not at.error
    assert at.info, "an empty page says what to do"


def test_no_runs_shows_the_pipeline_that_makes_one(open_page) -> None:
    for page in ("overview", "runs"):
        at = open_page(page)
        code = [c.value for c in at.code]
        assert any("@pipeline" in c and "@step" in c for c in code), page


@pytest.mark.parametrize("page", PAGES)
def test_every_page_lists_what_exists(open_page, client: Client, run, page: str) -> None:
    client.create_model("classifier", "tiny")
    client.create_deployment("serving", run.snapshot_id)
    at = open_page(page)
    no_exception(at)
    assert not at.error
    links = link_labels(at)
    expected = {
        "overview": run.name,
        "runs": run.name,
        "pipelines": "everything",
        "snapshots": "everything@",
        "models": "classifier",
        "deployments": "serving",
        "artifacts": "report v1",
    }[page]
    assert any(expected in label for label in links), links


def test_overview_counts(open_page, run) -> None:
    at = open_page("overview")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs"] == "1"
    assert metrics["Pipelines"] == "1"


@pytest.mark.parametrize("page", ["runs", "pipelines", "snapshots", "models", "deployments"])
def test_an_unknown_id_says_not_found_and_links_back(open_page, run, page: str) -> None:
    at = open_page(page, id=uuid.uuid4())
    no_exception(at)
    assert any("exists" in e for e in texts(at, "error")), texts(at, "error")
    assert at.get("page_link")[0].label.startswith("All")


def test_run_page_shows_facts_graph_steps_and_the_first_steps_outputs(open_page, run) -> None:
    at = open_page("runs", id=run.id)
    no_exception(at)
    assert not at.error
    assert plain(at.title[0].value) == run.name
    chart = at.get("vega_lite_chart")[0].proto
    boxes = next(layer for layer in json.loads(chart.spec)["layer"] if "rect" in str(layer["mark"]))
    steps_drawn = [node["label"] for node in boxes["data"]["values"] if node["kind"] == "step"]
    assert f"graph of the {len(run.steps)} steps" in chart.alt.lower()
    assert steps_drawn == list(run.steps)
    steps = at.get("button_group")[0]
    assert steps.options == list(run.steps)
    assert steps.value == "frame"
    # The frame step's output has two CSV visualizations and a profile; only the open tab is
    # rendered.
    assert len(at.dataframe) == 1
    assert [plain(t.label) for t in at.tabs] == [
        "CSV · describe.csv",
        "CSV · sample.csv",
        "Chart · profile.json",
    ]


def test_choosing_a_step_puts_it_in_the_url(open_page, run) -> None:
    at = open_page("runs", id=run.id)
    at.get("button_group")[0].select("report").run()
    no_exception(at)
    assert at.query_params["step"] == "report"
    assert "sandbox" in at.get("iframe")[0].proto.srcdoc


def test_deep_link_to_a_step_artifact_and_visualization(open_page, run) -> None:
    viz = visualizations(run)["frame:sample.csv"]
    at = open_page("runs", id=run.id, artifact=viz.artifact_version_id, viz=viz.id)
    no_exception(at)
    assert at.get("button_group")[0].value == "frame"
    assert len(at.dataframe[0].value) == 10, "the sample tab (10 rows) is open, not describe"


def test_run_by_name_opens_too(open_page, run) -> None:
    at = open_page("runs", id=run.name)
    no_exception(at)
    assert plain(at.title[0].value) == run.name


def test_runs_list_filters_live_in_the_url(open_page, run) -> None:
    small()
    at = open_page("runs")
    assert sorted(label for label in link_labels(at) if " #" in label) == [
        "everything #1",
        "small #1",
    ]
    at.selectbox(key="runs-filter-pipeline").select("small").run()
    no_exception(at)
    assert at.query_params["pipeline"] == "small"
    labels = link_labels(at)
    assert not any("everything" in label for label in labels)
    assert any("small" in label for label in labels)
    at.selectbox(key="runs-filter-status").select("failed").run()
    assert at.query_params["status"] == "failed"
    assert any("No run matches" in i for i in texts(at, "info"))


def test_runs_list_reads_filters_from_a_shared_link(open_page, run) -> None:
    small()
    at = open_page("runs", pipeline="small", status="completed", q="small")
    no_exception(at)
    assert at.selectbox(key="runs-filter-pipeline").value == "small"
    assert at.selectbox(key="runs-filter-status").value == "completed"
    assert at.text_input(key="runs-filter-q").value == "small"
    at = open_page("runs", status="bogus", page="x")
    no_exception(at)
    assert at.selectbox(key="runs-filter-status").value == ""


def test_runs_list_paginates(open_page, client: Client) -> None:
    for _ in range(23):
        small()
    at = open_page("runs")
    assert any("Runs 1-20 of 23" in c for c in texts(at, "caption"))
    at = open_page("runs", page=2)
    no_exception(at)
    assert any("Runs 21-23 of 23" in c for c in texts(at, "caption"))


def test_pipeline_page_shows_dashboard_runs_and_snapshots(open_page, run) -> None:
    at = open_page("pipelines", id=run.pipeline.id)
    no_exception(at)
    headers = [s.value for s in at.header]
    assert headers[:4] == [
        "Pipeline dashboard",
        "Metrics across runs",
        "Recent runs",
        "Snapshots",
    ]
    assert run.name in link_labels(at)


def test_snapshot_page_shows_configuration_and_runs(open_page, run) -> None:
    at = open_page("snapshots", id=run.snapshot_id)
    no_exception(at)
    assert any(json.loads(j.value).get("pipeline") == "everything" for j in at.json)
    assert "Runs of this snapshot" in [s.value for s in at.header]


def test_deployment_page_links_its_snapshot(open_page, client: Client, run) -> None:
    deployment = client.create_deployment("serving", run.snapshot_id)
    at = open_page("deployments", id=deployment.id)
    no_exception(at)
    assert any(str(run.snapshot_id)[:8] in label for label in link_labels(at))


def test_model_page_shows_its_description_as_text(open_page, client: Client) -> None:
    model = client.create_model("m", "<script>alert(1)</script> **bold**")
    at = open_page("models", id=model.id)
    no_exception(at)
    shown = [m.value for m in at.markdown if "script" in m.value]
    assert shown and all("\\<script\\>" in m and "\\*\\*bold" in m for m in shown)


def test_artifacts_search_and_open(open_page, run: PipelineRunResponse) -> None:
    at = open_page("artifacts", q="metr")
    no_exception(at)
    assert [label for label in link_labels(at) if " v1" in label] == ["metrics v1"]
    viz = visualizations(run)["metrics"]
    at = open_page("artifacts", id=viz.artifact_version_id)
    no_exception(at)
    assert json.loads(at.json[-1].value) == {"accuracy": 0.93, "per_class": {"a": 0.9, "b": 0.95}}


def test_artifacts_search_words_and_filters_live_in_the_url(
    open_page, run: PipelineRunResponse
) -> None:
    # words match the artifact's, run's, pipeline's or step's names, in any order
    at = open_page("artifacts", q="everything REPORT")
    no_exception(at)
    assert [label for label in link_labels(at) if " v1" in label] == ["report v1"]
    at = open_page("artifacts", type="image")
    assert [label for label in link_labels(at) if " v1" in label] == ["picture v1"]
    at = open_page("artifacts", pipeline="everything", q="nothing-like-this")
    assert "No artifacts match." in texts(at, "info")
    at.selectbox(key="artifacts-type").select("markdown").run()
    assert at.query_params["type"] == "markdown"
    # a type the URL made up is no filter, not an error
    at = open_page("artifacts", type="<script>")
    no_exception(at)
    assert "report v1" in link_labels(at)


def test_runs_list_filters_by_creation_date(open_page, run) -> None:
    today = datetime.now(UTC).date()
    at = open_page("runs", **{"from": today + timedelta(days=2)})
    no_exception(at)
    assert any("No run matches" in i for i in texts(at, "info"))
    at = open_page("runs", **{"from": today - timedelta(days=1), "to": today + timedelta(days=1)})
    assert run.name in link_labels(at)
    at.date_input(key="runs-filter-to").set_value(today - timedelta(days=3)).run()
    assert at.query_params["to"] == (today - timedelta(days=3)).isoformat()
    assert run.name not in link_labels(at)
