"""One process of the team-store tests: a pipeline writer, an app reader, a tile editor or a
tile pinner, on the PostgreSQL store of $ZVIZ_STORE_URL with its own $ZVIZ_HOME (its "machine").

Run as `python -m tests.reliability.team_worker ROLE MACHINE INDEX STOP_FILE [COUNT]`; prints one
JSON line. Failures a user would see are reported, not raised: the test decides what is allowed.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"
MACHINES = ("machine-a", "machine-b")


def pipeline_name(machine: str, index: int) -> str:
    """The pipeline a writer runs: it names the machine, so the app can tell them apart."""
    return f"team_{machine}_{index}"


def _failure(exc: BaseException) -> dict[str, Any]:
    from zviz_core.errors import ZvizError

    return {
        "type": type(exc).__name__,
        "zviz": isinstance(exc, ZvizError),
        "message": str(exc),
        "traceback": None if isinstance(exc, ZvizError) else traceback.format_exc(),
    }


def _problems(at: Any) -> list[str]:
    """What a user would call broken on a rendered page: a traceback or any error message."""
    return [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]


def writer(machine: str, index: int, runs: int, stop: Path) -> dict[str, Any]:
    from tests.factories import frame, report
    from zviz_core import pipeline

    @pipeline(name=pipeline_name(machine, index))
    def team() -> None:
        report(frame())

    completed: list[str] = []
    failed: list[dict[str, Any]] = []
    for _ in range(runs):
        if stop.exists():
            break
        try:
            run = team()
        except Exception as exc:
            failed.append(_failure(exc))
            continue
        if run.status.value == "completed":
            completed.append(str(run.id))
        else:
            failed.append({"type": "status", "zviz": False, "message": run.status.value})
    return {"completed": completed, "failed": failed}


def reader(machine: str, index: int, stop: Path) -> dict[str, Any]:
    """Re-render pages until told to stop; the runs page is searched for the other machine's
    runs, so a reader shows whether one machine sees what another wrote."""
    from streamlit.testing.v1 import AppTest

    other = next(m for m in MACHINES if m != machine)
    renders, problems, seen = 0, [], set()
    pages = ["overview", "runs", "models", "pipelines"]
    while not stop.exists():
        page = pages[(index + renders) % len(pages)]
        at = AppTest.from_file(str(APP), default_timeout=60)
        if page == "runs":
            at.query_params["q"] = other
        at.switch_page(f"app_pages/{page}.py")
        at.run()
        problems += _problems(at)
        if page == "runs":
            labels = [str(link.label).replace("\\", "") for link in at.get("page_link")]
            seen.update(m for m in MACHINES if any(m in label for label in labels))
        renders += 1
    return {"renders": renders, "problems": problems, "seen": sorted(seen)}


def editor(machine: str, index: int, edits: int) -> dict[str, Any]:
    """Rename the tiles of model `team-model-INDEX` through the app's edit form."""
    from streamlit.testing.v1 import AppTest

    from zviz_core import Client
    from zviz_core.ui.tiles import FORM

    client = Client()
    model = client.get_model(f"team-model-{index}")
    tiles = client.list_curated_visualizations("model", model.id)
    problems, expected = [], {}
    for i in range(edits):
        tile = tiles[i % len(tiles)]
        name = f"{machine} editor {index} edit {i}"
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.query_params["id"] = str(model.id)
        at.switch_page("app_pages/models.py")
        at.run()
        at.menu_button(key=f"tile-menu-{tile.id}").click("Edit").run()
        at.text_input(key=FORM + "name").input(name).run()
        at.button(key=FORM + "submit").click().run()
        problems += _problems(at)
        expected[str(tile.id)] = name
    return {"expected": expected, "problems": problems}


def pinner(machine: str, index: int, count: int, stop: Path) -> dict[str, Any]:
    """Create a model and pin a visualization to it, named after the step, until `count` or
    told to stop; report which pins the store confirmed and what failed."""
    from zviz_core import Client

    client = Client()
    seed = client.get_model("team-model-0")
    viz = [
        t.artifact_visualization_id for t in client.list_curated_visualizations("model", seed.id)
    ]
    created: dict[str, str] = {}
    failed: list[dict[str, Any]] = []
    for i in range(count):
        if stop.exists():
            break
        name = f"{machine}-pin-{index}-{i}"
        try:
            model = client.create_model(name)
            tile = client.create_curated_visualization(
                viz[i % len(viz)], model.id, "model", display_name=name
            )
        except Exception as exc:
            failed.append(_failure(exc))
            continue
        created[name] = str(tile.id)
    return {"created": created, "failed": failed}


def main() -> None:
    role, machine, index, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    count = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    started = time.monotonic()
    try:
        if role == "writer":
            result = writer(machine, index, count, stop)
        elif role == "reader":
            result = reader(machine, index, stop)
        elif role == "editor":
            result = editor(machine, index, count)
        else:
            result = pinner(machine, index, count, stop)
    except Exception:
        result = {"problems": [traceback.format_exc()]}
    from zviz_core import Client

    stats = Client()._db.stats
    result.update(
        role=role,
        machine=machine,
        index=index,
        seconds=round(time.monotonic() - started, 2),
        units=stats.units,
        retries=stats.retries,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
