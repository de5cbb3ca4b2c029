"""A real Jupyter kernel runs a notebook that defines steps in cells and visualizes artifacts."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from zviz_core import Client

# The notebook's kernel points itself at its own DuckDB folder; the store engines are covered by
# the other core tests.
pytestmark = pytest.mark.duckdb_only

CELLS = [
    """
import json, os, sys
os.environ["ZVIZ_HOME"] = STORE_FOLDER
for name in ("ZVIZ_ARTIFACT_STORE", "ZVIZ_PROJECT", "ZVIZ_AUTH_CONFIG"):
    os.environ.pop(name, None)
print(json.dumps({"prefix": sys.prefix}))
""",
    """
import numpy as np
import pandas as pd
from zviz_core import pipeline, step
from zviz_core.types import HTMLString, JSONString, MarkdownString

@step
def report() -> HTMLString:
    return HTMLString("<h1 id='nb-report'>Made in a notebook</h1>")

@step
def picture() -> np.ndarray:
    image = np.zeros((24, 32, 3), dtype=np.uint8)
    image[..., 2] = 255
    return image

@step
def notes() -> MarkdownString:
    return MarkdownString("# Notes from the notebook")

@step
def scores() -> JSONString:
    return JSONString('{"f1": 0.8}')

@step
def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": range(20), "b": range(20)})
""",
    """
@pipeline
def notebook_pipeline():
    report()
    picture()
    notes()
    scores()
    frame()

run = notebook_pipeline()
print(run.status.value, run.id)
""",
    # No trailing `;`: like ZenML's, visualize() returns None, so a cell shows only the
    # visualizations (a returned value would add an `Out[...]` text after them).
    'run.steps["report"].output.visualize()',
    'run.steps["picture"].output.visualize()',
    'run.steps["notes"].output.visualize()',
    'run.steps["scores"].output.visualize()',
    'run.steps["frame"].output.visualize()',
]
# The visualize() cells, and how many visualizations each artifact has.
VISUALIZE_CELLS = {3: 1, 4: 1, 5: 1, 6: 1, 7: 3}


def _displayed(cell: nbformat.NotebookNode) -> list[dict]:
    return [o["data"] for o in cell["outputs"] if o["output_type"] == "display_data"]


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if o["output_type"] == "error"
    ]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> tuple[nbformat.NotebookNode, Path]:
    home = tmp_path_factory.mktemp("notebook") / "store"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(c.strip().replace("STORE_FOLDER", repr(str(home)))) for c in CELLS
    ]
    # jupyter_client starts the "python3" kernel with this interpreter (the venv's), so the
    # kernel imports the same zviz_core as the tests.
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=120,
        startup_timeout=60,
        resources={"metadata": {"path": str(Path(__file__).resolve().parents[2])}},
    )
    client.execute()
    return nb, home


def test_the_kernel_is_this_environment(executed) -> None:
    nb, _ = executed
    assert _errors(nb) == []
    text = "".join(
        o.get("text", "") for o in nb.cells[0]["outputs"] if o["output_type"] == "stream"
    )
    assert json.loads(text.strip().splitlines()[-1])["prefix"] == sys.prefix


def test_steps_defined_in_cells_ran_and_were_stored(executed, monkeypatch) -> None:
    nb, home = executed
    printed = "".join(o.get("text", "") for o in nb.cells[2]["outputs"])
    status, run_id = printed.split()
    assert status == "completed"
    monkeypatch.setenv("ZVIZ_HOME", str(home))
    run = Client().get_pipeline_run(run_id)
    assert list(run.steps) == ["report", "picture", "notes", "scores", "frame"]


def test_html_visualization_is_shown_as_html(executed) -> None:
    nb, _ = executed
    shown = _displayed(nb.cells[3])
    assert len(shown) == 1
    assert "text/html" in shown[0]
    assert "<h1 id='nb-report'>Made in a notebook</h1>" in shown[0]["text/html"]


def test_image_visualization_is_shown_as_png(executed) -> None:
    nb, _ = executed
    shown = _displayed(nb.cells[4])
    assert len(shown) == 1 and "image/png" in shown[0]
    raw = base64.b64decode(shown[0]["image/png"])
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    from io import BytesIO

    from PIL import Image

    image = Image.open(BytesIO(raw))
    assert image.size == (32, 24) and image.getpixel((0, 0)) == (0, 0, 255)


def test_markdown_json_and_csv_get_their_mime_types(executed) -> None:
    nb, _ = executed
    (markdown,) = _displayed(nb.cells[5])
    assert markdown["text/markdown"] == "# Notes from the notebook"
    (scores,) = _displayed(nb.cells[6])
    assert scores["application/json"] == {"f1": 0.8}
    *tables, profile = _displayed(nb.cells[7])
    assert len(tables) == 2  # describe.csv and sample.csv
    assert all("<table" in t["text/html"] for t in tables)
    assert profile["application/vnd.vegalite.v5+json"]["title"]["text"] == "Profile"


def test_each_visualize_cell_shows_exactly_its_visualizations(executed) -> None:
    nb, _ = executed
    for index, count in VISUALIZE_CELLS.items():
        kinds = [o["output_type"] for o in nb.cells[index]["outputs"]]
        assert kinds == ["display_data"] * count, (nb.cells[index]["source"], kinds)
