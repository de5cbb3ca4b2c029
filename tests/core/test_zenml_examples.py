"""Every Python example of ZenML's visualization page runs on zviz with `zenml` swapped for
`zviz_core` and nothing else changed, except the page's own typo `pipeline_run.output.get(...)`,
fixed the way a ZenML user fixes it (`outputs`).

The examples are kept here as the page prints them. They run in order in one namespace, as a
user pasting them into a notebook would, with the page's <PLACEHOLDERS> replaced by real ids.
When the page itself is at hand (../shared/reference beside the repo), a test checks that
these are still its examples.
"""

# The page's examples are kept byte for byte, trailing spaces included.
# ruff: noqa: W291, W293

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import matplotlib
import pytest

from tests.core.helpers import REPO
from zviz_core import Client, pipeline, step
from zviz_core.enums import CuratedVisualizationSize, VisualizationType
from zviz_core.materializers.base_materializer import BaseMaterializer

# The examples make figures: no display here, and no GUI toolkit to pick.
matplotlib.use("Agg")

DOC = REPO.parent / "shared" / "reference" / "zenml-visualizations-doc.md"

NOTEBOOK = """\
from zenml.client import Client

# Get an artifact from a previous pipeline run
run = Client().get_pipeline_run("<PIPELINE_RUN_ID>")
artifact = run.steps["<STEP_NAME>"].outputs[<OUTPUT_NAME>][0]

# Display the visualization
artifact.visualize()
"""

CREATE = """\
from uuid import UUID

from zenml.client import Client
from zenml.enums import (
    CuratedVisualizationSize,
    VisualizationResourceTypes,
)

client = Client()

# Define the identifiers for the pipeline and run you want to enrich
pipeline_id = UUID("<PIPELINE_ID>")
pipeline_run_id = UUID("<PIPELINE_RUN_ID>")

# Retrieve the artifact version produced by the evaluation step
pipeline_run = client.get_pipeline_run(pipeline_run_id)
artifact_version_id = pipeline_run.output.get("evaluation_report")
artifact_version = client.get_artifact_version(artifact_version_id)
artifact_visualizations = artifact_version.visualizations or []

# Fetch the resources we want to enrich
model = client.list_models().items[0]
model_id = model.id

deployment = client.list_deployments().items[0]
deployment_id = deployment.id

project_id = client.active_project.id

pipeline_model = client.get_pipeline(pipeline_id)
pipeline_id = pipeline_model.id

pipeline_snapshot = pipeline_run.snapshot()
snapshot_id = pipeline_snapshot.id

pipeline_run_id = pipeline_run.id

# Create curated visualizations for each supported resource type
client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[0].id,
    resource_id=model_id,
    resource_type=VisualizationResourceTypes.MODEL,
    project_id=project_id,
    display_name="Latest Model Evaluation",
)

client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[1].id,
    resource_id=deployment_id,
    resource_type=VisualizationResourceTypes.DEPLOYMENT,
    project_id=project_id,
    display_name="Deployment Health Dashboard",
)

client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[2].id,
    resource_id=project_id,
    resource_type=VisualizationResourceTypes.PROJECT,
    display_name="Project Overview",
)

client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[3].id,
    resource_id=pipeline_id,
    resource_type=VisualizationResourceTypes.PIPELINE,
    project_id=project_id,
    display_name="Pipeline Summary",
)

client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[4].id,
    resource_id=pipeline_run_id,
    resource_type=VisualizationResourceTypes.PIPELINE_RUN,
    project_id=project_id,
    display_name="Run Results",
)

client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[5].id,
    resource_id=snapshot_id,
    resource_type=VisualizationResourceTypes.PIPELINE_SNAPSHOT,
    project_id=project_id,
    display_name="Snapshot Metrics",
)
"""

RETRIEVE = """\
retrieved = client.get_curated_visualization(pipeline_viz.id, hydrate=True)
print(retrieved.display_name)
print(retrieved.resource.type)
print(retrieved.resource.id)
"""

UPDATE = """\
from uuid import UUID

client.update_curated_visualization(
    visualization_id=UUID("<CURATED_VISUALIZATION_ID>"),
    display_name="Updated Dashboard Title",
    display_order=10,
    layout_size=CuratedVisualizationSize.HALF_WIDTH,
)
"""

DELETE = """\
client.delete_curated_visualization(visualization_id=UUID("<CURATED_VISUALIZATION_ID>"))
"""

ORDER = """\
# Leave gaps for future insertions
visualization_a = client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[0].id,
    resource_type=VisualizationResourceTypes.PIPELINE,
    resource_id=pipeline_id,
    display_name="Model performance at a glance",
    display_order=10,  # Primary dashboard
    layout_size=CuratedVisualizationSize.HALF_WIDTH,
)

visualization_b = client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[1].id,
    resource_type=VisualizationResourceTypes.PIPELINE,
    resource_id=pipeline_id,
    display_name="Drill-down metrics",
    display_order=20,  # Secondary metrics
    layout_size=CuratedVisualizationSize.HALF_WIDTH,  # Compact chart beside the primary tile
)

# Later, easily insert between them
visualization_c = client.create_curated_visualization(
    artifact_visualization_id=artifact_visualizations[2].id,
    resource_type=VisualizationResourceTypes.PIPELINE,
    resource_id=pipeline_id,
    display_name="Raw output preview",
    display_order=15,  # Now appears between A and B
    layout_size=CuratedVisualizationSize.FULL_WIDTH,
)
"""

CSV_STEP = """\
from zenml import step
from zenml.types import CSVString

@step
def my_step() -> CSVString:
    some_csv = "a,b,c\\n1,2,3"
    return CSVString(some_csv)
"""

MATPLOTLIB_HTML = """\
import matplotlib.pyplot as plt
import base64
import io

from zenml.types import HTMLString
from zenml import step, pipeline

@step
def create_matplotlib_visualization() -> HTMLString:
    \"\"\"Creates a matplotlib visualization and returns it as embedded HTML.\"\"\"
    # Create plot
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3, 4], [1, 4, 2, 3])
    ax.set_title('Sample Plot')
    
    # Convert plot to base64 string
    buf = io.BytesIO()
    fig.savefig(buf, format='png', bbox_inches='tight', dpi=300)
    plt.close(fig)  # Clean up
    image_base64 = base64.b64encode(buf.getvalue()).decode('utf-8')
    
    # Create HTML with embedded image
    html = f'''
    <div style="text-align: center;">
        <img src="data:image/png;base64,{image_base64}" 
             style="max-width: 100%; height: auto;">
    </div>
    '''
    
    return HTMLString(html)

@pipeline
def visualization_pipeline():
    create_matplotlib_visualization()

if __name__ == "__main__":
    visualization_pipeline()
"""

MATPLOTLIB_CLASS = """\
from typing import Any
from pydantic import BaseModel

class MatplotlibVisualization(BaseModel):
    \"\"\"Custom class to hold matplotlib figures.\"\"\"
    figure: Any  # This will hold the matplotlib figure
"""

MATPLOTLIB_MATERIALIZER = """\
import os
from typing import Dict
from zenml.materializers.base_materializer import BaseMaterializer
from zenml.enums import VisualizationType
from zenml.io import fileio

class MatplotlibMaterializer(BaseMaterializer):
    \"\"\"Materializer that handles matplotlib figures.\"\"\"
    ASSOCIATED_TYPES = (MatplotlibVisualization,)

    def save_visualizations(
        self, data: MatplotlibVisualization
    ) -> Dict[str, VisualizationType]:
        \"\"\"Create and save visualizations for the matplotlib figure.\"\"\"
        visualization_path = os.path.join(self.uri, "visualization.png")
        with fileio.open(visualization_path, 'wb') as f:
            data.figure.savefig(f, format='png', bbox_inches='tight')
        return {visualization_path: VisualizationType.IMAGE}
"""

MATPLOTLIB_STEP = """\
import matplotlib.pyplot as plt
from zenml import step

@step
def create_matplotlib_visualization() -> MatplotlibVisualization:
    \"\"\"Creates a matplotlib visualization.\"\"\"
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3, 4], [1, 4, 2, 3])
    ax.set_title('Sample Plot')
    return MatplotlibVisualization(figure=fig)
"""

ENABLE = """\
# Disable visualizations for a pipeline
@pipeline(enable_artifact_visualization=False)
def my_pipeline():
    ...

# Disable visualizations for a step
@step(enable_artifact_visualization=False)
def my_step():
    ...
"""

ENABLE_YAML = """\
enable_artifact_visualization: False

steps:
  my_step:
    enable_artifact_visualization: True
"""

PYTHON_EXAMPLES = [
    NOTEBOOK,
    CREATE,
    RETRIEVE,
    UPDATE,
    DELETE,
    ORDER,
    CSV_STEP,
    MATPLOTLIB_HTML,
    MATPLOTLIB_CLASS,
    MATPLOTLIB_MATERIALIZER,
    MATPLOTLIB_STEP,
    ENABLE,
]


def swapped(example: str) -> str:
    """The example with what a migrating user changes: the imports, and the page's typo."""
    code = re.sub(r"\bfrom zenml([. ])", r"from zviz_core\1", example)
    return code.replace("pipeline_run.output.get(", "pipeline_run.outputs.get(")


def run_example(example: str, namespace: dict[str, Any], **placeholders: str) -> None:
    code = swapped(example)
    for name, value in placeholders.items():
        code = code.replace(f"<{name}>", value)
    assert "<" not in re.sub(r"<(div|img|/div)\b", "", code.replace("<=", "")), code
    # dont_inherit: this module's `from __future__ import annotations` must not apply to the page.
    exec(compile(code, "<zenml example>", "exec", dont_inherit=True), namespace)


def test_only_the_imports_and_the_typo_change() -> None:
    for example in PYTHON_EXAMPLES:
        before = example.splitlines()
        after = swapped(example).splitlines()
        changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
        assert all(a.startswith("from zenml") or ".output.get(" in a for a, _ in changed)
    assert "zenml" not in "".join(swapped(e) for e in PYTHON_EXAMPLES)


def _doc_blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


@pytest.mark.skipif(not DOC.exists(), reason="the reference page lies outside this repo")
def test_these_are_the_pages_examples() -> None:
    assert _doc_blocks("python") == PYTHON_EXAMPLES
    assert _doc_blocks("yaml") == [ENABLE_YAML]


# -- what the examples need to exist: a run that returns an evaluation report --------------------


class EvaluationReport:
    """Six views of one evaluation, as the page's curated example expects."""

    def __init__(self, accuracy: float) -> None:
        self.accuracy = accuracy


class EvaluationReportMaterializer(BaseMaterializer):
    ASSOCIATED_TYPES = (EvaluationReport,)

    def save(self, data: EvaluationReport) -> None:
        with self.artifact_store.open(self.path("accuracy.txt"), "w") as fh:
            fh.write(str(data.accuracy))

    def load(self, data_type: type) -> EvaluationReport:
        with self.artifact_store.open(self.path("accuracy.txt"), "r") as fh:
            return EvaluationReport(float(fh.read()))

    def save_visualizations(self, data: EvaluationReport) -> dict[str, VisualizationType]:
        views = {
            "summary.html": (f"<h1>{data.accuracy}</h1>", VisualizationType.HTML),
            "notes.md": (f"# accuracy {data.accuracy}", VisualizationType.MARKDOWN),
            "scores.csv": (f"metric,value\naccuracy,{data.accuracy}\n", VisualizationType.CSV),
            "scores.json": (f'{{"accuracy": {data.accuracy}}}', VisualizationType.JSON),
            "detail.html": ("<p>detail</p>", VisualizationType.HTML),
            "snapshot.md": ("config", VisualizationType.MARKDOWN),
        }
        for name, (text, _) in views.items():
            with self.artifact_store.open(self.path(name), "w") as fh:
                fh.write(text)
        return {self.path(name): kind for name, (_, kind) in views.items()}


@step
def evaluate() -> Annotated[EvaluationReport, "evaluation_report"]:
    return EvaluationReport(0.93)


@step
def train() -> int:
    return 7


@pipeline
def training() -> EvaluationReport:
    train()
    return evaluate()


def test_notebook_example_outside_a_notebook_lists_the_files(
    client: Client, capsys: pytest.CaptureFixture[str]
) -> None:
    run = training()
    namespace: dict[str, Any] = {}
    run_example(
        NOTEBOOK, namespace, PIPELINE_RUN_ID=str(run.id), STEP_NAME="train", OUTPUT_NAME='"output"'
    )
    assert namespace["artifact"].id == run.steps["train"].output.id
    assert "data.json" in capsys.readouterr().out


def test_curated_examples_run_in_order(client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    run = training()
    client.create_model("classifier")
    client.create_deployment("serving", snapshot_id=run.snapshot_id)
    ns: dict[str, Any] = {}

    run_example(CREATE, ns, PIPELINE_ID=str(run.pipeline.id), PIPELINE_RUN_ID=str(run.id))
    report = run.outputs["evaluation_report"]
    assert ns["artifact_version"].id == report.id
    kinds = ["model", "deployment", "project", "pipeline", "pipeline_run", "pipeline_snapshot"]
    targets = [
        ns["model_id"],
        ns["deployment_id"],
        ns["project_id"],
        run.pipeline.id,
        run.id,
        run.snapshot_id,
    ]
    for position, (kind, target) in enumerate(zip(kinds, targets, strict=True)):
        (tile,) = client.list_curated_visualizations(kind, target)
        assert tile.artifact_visualization_id == report.visualizations[position].id
    (pipeline_viz,) = client.list_curated_visualizations("pipeline", run.pipeline.id)

    ns["pipeline_viz"] = pipeline_viz
    capsys.readouterr()
    run_example(RETRIEVE, ns)
    assert capsys.readouterr().out.split() == [
        "Pipeline",
        "Summary",
        "pipeline",
        str(run.pipeline.id),
    ]

    (model_tile,) = client.list_curated_visualizations("model", ns["model_id"])
    run_example(UPDATE, ns, CURATED_VISUALIZATION_ID=str(model_tile.id))
    updated = client.get_curated_visualization(model_tile.id)
    assert (updated.display_name, updated.display_order, updated.layout_size) == (
        "Updated Dashboard Title",
        10,
        CuratedVisualizationSize.HALF_WIDTH,
    )
    run_example(DELETE, ns, CURATED_VISUALIZATION_ID=str(model_tile.id))
    assert client.list_curated_visualizations("model", ns["model_id"]) == []

    run_example(ORDER, ns)
    shown = client.list_curated_visualizations("pipeline", run.pipeline.id)
    assert [t.display_name for t in shown] == [
        "Model performance at a glance",
        "Raw output preview",
        "Drill-down metrics",
        "Pipeline Summary",  # no display_order: last
    ]


def test_csv_string_step(client: Client) -> None:
    ns: dict[str, Any] = {}
    run_example(CSV_STEP, ns)

    @pipeline
    def csv_pipeline() -> None:
        ns["my_step"]()

    (viz,) = csv_pipeline().steps["my_step"].output.visualizations
    assert viz.type == VisualizationType.CSV
    assert client.load_visualization(viz.id).value == "a,b,c\n1,2,3"


def test_matplotlib_figure_as_html_string(client: Client) -> None:
    # Run as the page runs it: a script whose `__main__` block starts the pipeline.
    run_example(MATPLOTLIB_HTML, {"__name__": "__main__"})
    (run,) = client.list_pipeline_runs().items
    (viz,) = run.steps["create_matplotlib_visualization"].output.visualizations
    assert viz.type == VisualizationType.HTML
    html = client.load_visualization(viz.id).value
    assert '<img src="data:image/png;base64,iVBORw0KGgo' in html  # a PNG's first bytes


def test_matplotlib_materializer_that_only_builds_visualizations(client: Client) -> None:
    # The page's classes are defined in a namespace that cannot be imported, as in a notebook.
    ns: dict[str, Any] = {"__name__": "zenml_page_example"}
    run_example(MATPLOTLIB_CLASS, ns)
    run_example(MATPLOTLIB_MATERIALIZER, ns)
    run_example(MATPLOTLIB_STEP, ns)

    @pipeline
    def figure_pipeline() -> None:
        ns["create_matplotlib_visualization"]()

    av = figure_pipeline().steps["create_matplotlib_visualization"].output
    assert av.materializer == "zenml_page_example.MatplotlibMaterializer"
    (viz,) = av.visualizations
    assert viz.type == VisualizationType.IMAGE and viz.uri.endswith("visualization.png")
    assert client.load_visualization(viz.id).value.startswith(b"\x89PNG\r\n\x1a\n")
    # save() is ZenML's default (nothing), so the folder holds only the picture ...
    assert sorted(p.name for p in Path(av.uri).iterdir()) == ["visualization.png"]
    # ... and load() is too: None, with a warning that says why.
    with pytest.warns(UserWarning, match=r"MatplotlibMaterializer defines no load\(\)"):
        assert av.load() is None


def test_enable_artifact_visualization_in_code_and_yaml(client: Client, tmp_path: Path) -> None:
    ns: dict[str, Any] = {"pipeline": pipeline, "step": step}  # the page's earlier imports
    run_example(ENABLE, ns)
    assert ns["my_pipeline"]().steps == {}
    assert ns["my_step"].enable_artifact_visualization is False

    @step
    def my_step() -> int:
        return 1

    @step
    def other_step() -> int:
        return 2

    @pipeline
    def my_pipeline() -> None:
        my_step()
        other_step()

    config = tmp_path / "run.yaml"
    config.write_text(ENABLE_YAML, encoding="utf-8")
    run = my_pipeline.with_options(config_path=config)()
    assert len(run.steps["my_step"].output.visualizations) == 1
    assert run.steps["other_step"].output.visualizations == []
