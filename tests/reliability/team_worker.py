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
# A team store's app requires logins: one lead who may read and write everything.
USER, PASSWORD = "lead", "lead-pass-123"
COOKIE_KEY = "team-tests-cookie-key-5d1e9a7c3b"


def write_auth_config(path: Path) -> Path:
    """The login config of the lead (bcrypt at 4 rounds: real, and fast enough for tests)."""
    import bcrypt
    import yaml

    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    config = {
        "credentials": {
            "usernames": {
                USER: {
                    "name": "Team Lead",
                    "email": "lead@example.com",
                    "password": hashed,
                    "roles": ["lead"],
                }
            }
        },
        "cookie": {"name": "zviz_team_tests", "expiry_days": 1},
        "access": {"roles": {"lead": {"read": ["*"], "write": ["*"]}}},
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def logged_in_app() -> Any:
    """An app session (AppTest through the entrypoint) logged in as the lead through the form."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60).run()
    fields = {t.label: t for t in at.text_input}
    if not {"Username", "Password"} <= set(fields):
        raise RuntimeError(f"no login form: {[str(e.value) for e in at.error]}")
    fields["Username"].input(USER)
    fields["Password"].input(PASSWORD)
    next(b for b in at.button if b.label == "Log in").click()
    at.run()
    if at.session_state["authentication_status"] is not True:
        raise RuntimeError(f"login failed: {[str(e.value) for e in at.error]}")
    return at.run()


def open_page(at: Any, page: str, **params: str) -> Any:
    """Run the session's app on `page` with exactly these query parameters."""
    at.query_params.clear()
    at.query_params.update(params)
    at.switch_page(f"app_pages/{page}.py")
    return at.run()


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
    from zviz_core import pipeline
    from zviz_testing.factories import frame, report

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
    """Re-render pages in one logged-in session until told to stop; the runs page is searched
    for the other machine's runs, so a reader shows whether one machine sees what another
    wrote."""
    other = next(m for m in MACHINES if m != machine)
    renders, problems, seen = 0, [], set()
    pages = ["overview", "runs", "models", "pipelines"]
    at = logged_in_app()
    while not stop.exists():
        page = pages[(index + renders) % len(pages)]
        open_page(at, page, **({"q": other} if page == "runs" else {}))
        problems += _problems(at)
        if page == "runs":
            labels = [str(link.label).replace("\\", "") for link in at.get("page_link")]
            seen.update(m for m in MACHINES if any(m in label for label in labels))
        renders += 1
    return {"renders": renders, "problems": problems, "seen": sorted(seen)}


def editor(machine: str, index: int, edits: int) -> dict[str, Any]:
    """Rename the tiles of model `team-model-INDEX` through the app's edit form."""
    from zviz_core import Client
    from zviz_core.ui.tiles import FORM

    client = Client()
    model = client.get_model(f"team-model-{index}")
    tiles = client.list_curated_visualizations("model", model.id)
    problems, expected = [], {}
    at = logged_in_app()
    for i in range(edits):
        tile = tiles[i % len(tiles)]
        name = f"{machine} editor {index} edit {i}"
        open_page(at, "models", id=str(model.id))
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
