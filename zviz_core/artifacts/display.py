"""`artifact_version.visualize()`: rich output in Jupyter, a plain listing anywhere else."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

from zviz_core.enums import VisualizationType
from zviz_core.errors import ZvizError

if TYPE_CHECKING:
    from zviz_core.client import Client
    from zviz_core.models import ArtifactVersionResponse, ArtifactVisualizationResponse

MAX_TABLE_ROWS = 50
VEGA_LITE_MIME = "application/vnd.vegalite.v5+json"


def in_notebook() -> bool:
    """Whether we run inside a Jupyter kernel (not a plain IPython terminal)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def mime_bundle(viz_type: VisualizationType, value: str | bytes) -> dict[str, Any]:
    """The Jupyter MIME bundle for one visualization's content."""
    if viz_type is VisualizationType.IMAGE:
        return {"image/png": value, "text/plain": f"<image, {len(value)} bytes>"}
    text = value if isinstance(value, str) else value.decode("utf-8", errors="replace")
    if viz_type is VisualizationType.HTML:
        return {"text/html": text, "text/plain": "<HTML visualization>"}
    if viz_type is VisualizationType.MARKDOWN:
        return {"text/markdown": text, "text/plain": text}
    if viz_type is VisualizationType.JSON:
        return {"application/json": json.loads(text), "text/plain": text[:2000]}
    if viz_type is VisualizationType.VEGA_LITE:
        return {VEGA_LITE_MIME: json.loads(text), "text/plain": "<Vega-Lite chart>"}
    import pandas as pd

    frame = pd.read_csv(io.StringIO(text), nrows=MAX_TABLE_ROWS + 1)
    shown = frame.head(MAX_TABLE_ROWS)
    note = f"<p>first {MAX_TABLE_ROWS} rows</p>" if len(frame) > MAX_TABLE_ROWS else ""
    return {"text/html": shown.to_html() + note, "text/plain": shown.to_string()}


def visualize(
    av: ArtifactVersionResponse, client: Client
) -> list[ArtifactVisualizationResponse] | None:
    """Show an artifact version's visualizations; see ArtifactVersionResponse.visualize.

    Returns None in a notebook (as ZenML's: a returned list would add a text output to the
    cell after the visualizations), else the visualizations listed.
    """
    notebook = in_notebook()
    if not av.visualizations:
        print(f"Artifact '{av.name}' v{av.version} has no visualizations.")
        return None if notebook else []
    if not notebook:
        print(f"Artifact '{av.name}' v{av.version} has {len(av.visualizations)} visualization(s):")
        for viz in av.visualizations:
            print(f"  [{viz.position}] {viz.type.value:<9} {viz.uri}")
        print("Open them in the zviz app (python dev.py app), or call visualize() in a notebook.")
        return list(av.visualizations)
    from IPython.display import display

    for viz in av.visualizations:
        try:
            loaded = client.load_visualization_content(viz)
            display(mime_bundle(viz.type, loaded.value), raw=True)
        except (ZvizError, ValueError) as exc:
            display(
                {
                    "text/plain": f"Visualization {viz.position} ({viz.type.value}) cannot be shown: {exc}"
                },
                raw=True,
            )
    return None
