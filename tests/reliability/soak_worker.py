"""One process of the soak test: a pipeline writer, a dashboard reader or a tile editor.

Run as `python -m tests.reliability.soak_worker ROLE INDEX STOP_FILE`; prints one JSON line."""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"


def _problems(at) -> list[str]:
    found = [str(e.value) for e in at.exception]
    found += [str(e.value) for e in at.error if "lock" in str(e.value).lower()]
    return found


def writer(index: int, runs: int) -> dict:
    from zviz_core import pipeline
    from zviz_testing.factories import frame, report

    @pipeline(name=f"soak_{index}")
    def soak() -> None:
        report(frame())

    statuses = [soak().status.value for _ in range(runs)]
    return {"statuses": statuses}


def reader(index: int, stop: Path) -> dict:
    from streamlit.testing.v1 import AppTest

    renders, problems = 0, []
    pages = ["app_pages/overview.py", "app_pages/runs.py", "app_pages/models.py"]
    while not stop.exists():
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.switch_page(pages[(index + renders) % len(pages)])
        at.run()
        problems += _problems(at)
        renders += 1
    return {"renders": renders, "problems": problems}


def editor(index: int, edits: int) -> dict:
    from streamlit.testing.v1 import AppTest

    from zviz_core import Client
    from zviz_core.ui.tiles import FORM

    client = Client()
    model = client.get_model(f"soak-model-{index}")
    tiles = client.list_curated_visualizations("model", model.id)
    problems, expected = [], {}
    for i in range(edits):
        tile = tiles[i % len(tiles)]
        name = f"editor {index} edit {i}"
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


def main() -> None:
    role, index, stop = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    started = time.monotonic()
    try:
        if role == "writer":
            result = writer(index, int(sys.argv[4]))
        elif role == "reader":
            result = reader(index, stop)
        else:
            result = editor(index, int(sys.argv[4]))
    except Exception:
        result = {"problems": [traceback.format_exc()]}
    from zviz_core import Client

    stats = Client()._db.stats
    result.update(
        role=role,
        index=index,
        seconds=time.monotonic() - started,
        max_lock_wait_s=stats.max_lock_wait_s,
        lock_waits=stats.lock_waits,
        units=stats.units,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
